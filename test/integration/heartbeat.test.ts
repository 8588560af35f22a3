import { describe, expect, test } from 'bun:test'
import { json, rawConnect } from '../helpers/raw-ws'
import { TS, rest } from '../helpers/http'
import { startServer } from '../helpers/server'
import { connect } from '../helpers/ws-client'
import { until, within } from '../helpers/wait'

describe('decision 10: heartbeat', () => {
  test('every connection gets {"type":"info","msg":"ping","ts"} every interval', async () => {
    await using server = startServer({ heartbeatIntervalMs: 150 })
    using a = await connect(server.ws)
    using b = await connect(server.ws)
    for (const c of [a, b]) {
      const pings = [await c.next(3000, true), await c.next(3000, true), await c.next(3000, true)]
      for (const p of pings) {
        expect(Object.keys(p).sort()).toEqual(['msg', 'ts', 'type'])
        expect(p).toMatchObject({ type: 'info', msg: 'ping' })
        expect(p.ts).toMatch(TS)
      }
      // They are periodic, not one burst: the three carry increasing timestamps.
      expect(Date.parse(pings[2]!.ts)).toBeGreaterThan(Date.parse(pings[0]!.ts))
    }
  })

  test('a peer that answers no WebSocket ping is closed and its subscriptions released; a live one stays', async () => {
    // Interval 500 ms: two intervals is 1 s, so Bun's idle-timeout floor (8 s) decides.
    await using server = startServer({ heartbeatIntervalMs: 500 })
    expect(await server.createTopic('t')).toBe(201)
    using live = await connect(server.ws) // Bun's client answers pings
    expect((await live.request({ type: 'subscribe', topic: 't', client_id: 'live' })).type).toBe('ack')

    const dead = await rawConnect(server.port) // never sends a pong (or anything) after subscribing
    dead.playDead()
    try {
      dead.sendText(JSON.stringify({ type: 'subscribe', topic: 't', client_id: 'dead', request_id: 's' }))
      expect(json((await dead.waitForTextFrames(1, 3000))[0]!)).toMatchObject({ type: 'ack', request_id: 's' })
      expect((await rest(server.http, 'GET', '/health')).body.subscribers).toBe(2)
      const started = performance.now()
      // Expected after about 8 s (the floor) plus at most one interval; the deadline leaves room for a loaded machine.
      await within(dead.ended, 14_000, 'the server to close the silent peer')
      const elapsed = performance.now() - started
      // It was the server's idle timeout that closed it (not an instant error), and the heartbeat frames kept coming meanwhile.
      expect(elapsed).toBeGreaterThan(4000)
      expect(dead.frames.some((f) => f.opcode === 9)).toBe(true) // the server sent WebSocket ping frames
      expect(dead.frames.filter((f) => f.opcode === 1).map(json).filter((f) => f.type === 'info' && f.msg === 'ping').length).toBeGreaterThan(2)
      await until(async () => ((await rest(server.http, 'GET', '/health')).body.subscribers === 1 ? true : undefined), 3000, 'subscribers back to 1')
      expect((await rest(server.http, 'GET', '/topics')).body.topics).toEqual([{ name: 't', subscribers: 1 }])
      // The live client was never dropped.
      expect((await live.request({ type: 'ping' })).type).toBe('pong')
    } finally {
      dead.destroy()
    }
  }, 30_000)
})
