import { describe, expect, test } from 'bun:test'
import { TS, rest } from '../helpers/http'
import { spawnServer } from '../helpers/spawn'
import { connect, uuid } from '../helpers/ws-client'
import { within } from '../helpers/wait'
import { json, rawConnect } from '../helpers/raw-ws'
import { startServer } from '../helpers/server'

describe('decision 16: graceful shutdown of a spawned server process', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    test(`${signal}: every client gets info server_shutdown, then close 1001; the process exits 0`, async () => {
      await using child = await spawnServer({ env: { SHUTDOWN_GRACE_MS: '2000' } })
      expect((await rest(child.http, 'POST', '/topics', { json: { name: 't' } })).status).toBe(201)
      using sub = await connect(child.ws)
      using idle = await connect(child.ws)
      expect((await sub.request({ type: 'subscribe', topic: 't', client_id: 's' })).type).toBe('ack')
      expect((await idle.request({ type: 'ping' })).type).toBe('pong')
      expect((await sub.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: 'before' } })).type).toBe('ack')
      expect((await sub.nextOfType('event')).message.payload).toBe('before')

      child.proc.kill(signal)
      for (const c of [sub, idle]) {
        const notice = await c.next(5000)
        expect(Object.keys(notice).sort()).toEqual(['msg', 'ts', 'type'])
        expect(notice).toMatchObject({ type: 'info', msg: 'server_shutdown' })
        expect(notice.ts).toMatch(TS)
        const closed = await within(c.closed, 5000, 'close')
        expect(closed.code).toBe(1001)
        expect(c.inbox).toEqual([]) // nothing after the notice
      }
      expect(await within(child.exited, 10_000, 'process exit')).toBe(0)
      expect(child.lines.some((l) => l.includes('"shutdown_complete"'))).toBe(true)
      // The listener is gone.
      await expect(fetch(`${child.http}/health`)).rejects.toThrow()
    }, 30_000)

  test('with no clients connected, SIGTERM exits 0 promptly', async () => {
    await using child = await spawnServer()
    expect((await rest(child.http, 'GET', '/health')).status).toBe(200)
    child.proc.kill('SIGTERM')
    expect(await within(child.exited, 10_000, 'process exit')).toBe(0)
  }, 30_000)

  test('during the grace period: new connections and operations refused, queued messages flushed, then 1001', async () => {
    await using server = startServer({ queueSize: 1000, socketHighWaterBytes: 64 * 1024, shutdownGraceMs: 10_000 })
    expect(await server.createTopic('t')).toBe(201)
    const slow = await rawConnect(server.port)
    try {
      await slow.subscribe('t', 'slow')
      slow.pause()
      using publisher = await connect(server.ws)
      const total = 400 // 400 × 16 KiB: more than the kernel and Bun buffer, less than the queue
      const pad = 'x'.repeat(16 * 1024)
      for (let i = 1; i <= total; i++) expect((await publisher.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: { i, pad } } })).type).toBe('ack')
      expect(server.pubsub.idle()).toBe(false) // something is really waiting for the slow reader

      const done = server.shutdown()
      expect((await publisher.next()).msg).toBe('server_shutdown')
      // New connections are refused, operations on open ones too.
      await expect(connect(server.ws, { ms: 2000 })).rejects.toThrow()
      const refused = await publisher.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: 'late' } })
      expect(refused.type).toBe('error')
      expect(refused.error.code).toBe('UNAVAILABLE')

      // The slow reader catches up within the grace period: it loses nothing, then gets 1001.
      slow.resume()
      await within(slow.ended, 10_000, 'the slow socket to be closed')
      await within(done, 5000, 'shutdown to finish')
      const texts = slow.frames.filter((f) => f.opcode === 1).map(json)
      expect(texts.filter((f) => f.type === 'event').map((f) => f.message.payload.i)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
      expect(texts.filter((f) => f.type === 'info').map((f) => f.msg)).toEqual(['server_shutdown'])
      expect(texts.filter((f) => f.type === 'error')).toEqual([])
      const close = slow.frames.find((f) => f.opcode === 8)
      expect(close!.payload.readUInt16BE(0)).toBe(1001)
      expect((await publisher.closed).code).toBe(1001)
    } finally {
      slow.destroy()
    }
  }, 30_000)

  test('a client that never reads cannot hold the process: it exits 0 after the grace period', async () => {
    await using child = await spawnServer({ env: { SHUTDOWN_GRACE_MS: '500', SOCKET_HIGH_WATER_BYTES: String(64 * 1024), QUEUE_SIZE: '1000' } })
    expect((await rest(child.http, 'POST', '/topics', { json: { name: 't' } })).status).toBe(201)
    const stuck = await rawConnect(child.port)
    try {
      await stuck.subscribe('t', 'stuck')
      stuck.pause()
      using publisher = await connect(child.ws)
      const pad = 'x'.repeat(16 * 1024)
      for (let i = 1; i <= 400; i++) expect((await publisher.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: { i, pad } } })).type).toBe('ack')
      child.proc.kill('SIGTERM')
      expect((await within(publisher.closed, 5000, 'publisher closed')).code).toBe(1001)
      expect(await within(child.exited, 10_000, 'process exit despite the stuck reader')).toBe(0)
      const log = child.lines.map((l) => JSON.parse(l)).find((l) => l.event === 'shutdown_complete')
      expect(log.flushed).toBe(false) // it really had something it could not flush
    } finally {
      stuck.destroy()
    }
  }, 30_000)
})
