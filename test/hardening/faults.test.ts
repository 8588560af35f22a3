/**
 * Faults: clients that vanish mid-frame, half-open sockets, a subscriber that
 * disconnects with a full queue, an exception inside frame handling, SIGTERM
 * under load, and API keys kept out of logs and 401s.
 *
 * In every case the resources of the faulty client are released (/health and
 * the in-process broker say so) and the healthy clients notice nothing: they
 * keep receiving every message, in order.
 */
import { describe, expect, test } from 'bun:test'
import { connect as tcpConnect } from 'node:net'
import { loadConfig } from '../../src/config'
import { createLogger } from '../../src/log'
import { startHerald } from '../../src/server'
import { encodeClientFrame, json, rawConnect } from '../helpers/raw-ws'
import { type TestServer, startServer } from '../helpers/server'
import { type ChildServer, spawnServer } from '../helpers/spawn'
import { until, within } from '../helpers/wait'
import { type Frame, type TestClient, connect, uuid } from '../helpers/ws-client'

/** SIGTERM, then the exit code, once the last log line (shutdown_complete) has been read. */
async function stop(server: ChildServer, ms = 10_000): Promise<number> {
  server.proc.kill('SIGTERM')
  const code = await within(server.exited, ms, 'the server to exit after SIGTERM')
  await until(() => (server.lines.some((l) => l.includes('"shutdown_complete"')) ? true : undefined), 2000, 'the shutdown_complete log line')
  return code
}

const getJson = async (base: string, path: string, headers: Record<string, string> = {}): Promise<any> => (await fetch(`${base}${path}`, { headers })).json()

/** The server holds nothing for anyone but `connections` clients with `subscribers` subscriptions, and no stall timer runs. */
async function expectReleased(server: TestServer, connections: number, subscribers: number): Promise<void> {
  await until(async () => {
    const h = await getJson(server.http, '/health')
    return h.connections === connections && h.subscribers === subscribers ? h : undefined
  }, 5000, `/health to show ${connections} connections and ${subscribers} subscribers`)
  expect(await server.pubsub.health()).toMatchObject({ connections, subscribers })
  expect(server.pubsub.backlog().stalled).toBe(0)
  expect(server.pubsub.hub.polling()).toBe(false)
}

/** Publishes `count` messages on `topic` and checks that `subscriber` gets exactly them, in order, right after seq `after`. */
async function expectDelivery(publisher: TestClient, subscriber: TestClient, topic: string, count: number, after: number): Promise<void> {
  const ids = Array.from({ length: count }, () => uuid())
  for (const id of ids) expect((await publisher.request({ type: 'publish', topic, message: { id, payload: null } })).type).toBe('ack')
  const got: Frame[] = []
  for (let k = 0; k < count; k++) got.push(await subscriber.nextOfType('event', 5000))
  expect(got.map((e) => e.message.id)).toEqual(ids)
  expect(got.map((e) => e.seq)).toEqual(ids.map((_, k) => after + k + 1))
}

describe('clients that vanish', () => {
  test('a client that resets TCP in the middle of a frame: released, its half frame never executed, others unaffected', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using healthy = await connect(server.ws)
    expect((await healthy.request({ type: 'subscribe', topic: 't', client_id: 'healthy' })).type).toBe('ack')
    using publisher = await connect(server.ws)

    for (const how of ['reset', 'fin'] as const) {
      const raw = await rawConnect(server.port)
      raw.sendText(JSON.stringify({ type: 'subscribe', topic: 't', client_id: 'vanishing', request_id: 's' }))
      expect(json((await raw.waitForTextFrames(1, 3000))[0]!).type).toBe('ack')
      await expectReleased(server, 3, 2)
      // Half of a publish frame (header, mask, part of the payload), then gone.
      const frame = encodeClientFrame(1, Buffer.from(JSON.stringify({ type: 'publish', topic: 't', message: { id: uuid(), payload: 'half' }, request_id: 'p' })))
      raw.write(frame.subarray(0, frame.length >> 1))
      if (how === 'reset') raw.socket.resetAndDestroy()
      else raw.socket.end()
      await within(raw.ended, 3000, 'the raw socket to close')
      await expectReleased(server, 2, 1)
    }
    // The half-sent publish never ran: no message was published.
    expect((await getJson(server.http, '/stats')).topics.t.messages).toBe(0)
    await expectDelivery(publisher, healthy, 't', 20, 0)
    expect(healthy.inbox.filter((f) => f.type === 'error')).toEqual([])
  })

  test('a half-open socket (never reads, never answers pings) is closed by the idle timeout and its subscription released', async () => {
    // HEARTBEAT_INTERVAL_MS=1000 gives Bun's idle-timeout floor of 8 s.
    await using server = startServer({ heartbeatIntervalMs: 1000 })
    expect(await server.createTopic('t')).toBe(201)
    using healthy = await connect(server.ws)
    expect((await healthy.request({ type: 'subscribe', topic: 't', client_id: 'healthy' })).type).toBe('ack')
    using publisher = await connect(server.ws)
    const raw = await rawConnect(server.port)
    await raw.subscribe('t', 'half-open')
    raw.pause() // from now on: no read, no pong, no FIN — the peer has silently gone
    await expectReleased(server, 3, 2)
    // Healthy traffic goes on meanwhile; the healthy clients answer pings and stay.
    await expectDelivery(publisher, healthy, 't', 10, 0)
    await until(async () => ((await getJson(server.http, '/health')).connections === 2 ? true : undefined), 25_000, 'the half-open connection to be closed')
    await expectReleased(server, 2, 1)
    await expectDelivery(publisher, healthy, 't', 10, 10)
    raw.destroy()
  }, 40_000)

  test('a subscriber that disconnects while its queue is full: released, the others keep receiving everything in order', async () => {
    await using server = startServer({ queueSize: 10, socketHighWaterBytes: 64 * 1024 })
    expect(await server.createTopic('t')).toBe(201)
    const slow = await rawConnect(server.port)
    await slow.subscribe('t', 'slow')
    slow.pause()
    using fast = await connect(server.ws)
    expect((await fast.request({ type: 'subscribe', topic: 't', client_id: 'fast' })).type).toBe('ack')
    using publisher = await connect(server.ws)

    // Publish until the paused subscriber's queue overflows (drops counted in /stats).
    const pad = 'x'.repeat(16 * 1024)
    let seq = 0
    await until(async () => {
      for (let k = 0; k < 20; k++) {
        seq++
        expect((await publisher.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: { seq, pad } } })).type).toBe('ack')
        expect((await fast.nextOfType('event', 5000)).seq).toBe(seq)
      }
      return (await getJson(server.http, '/stats')).topics.t.dropped > 0 ? true : undefined
    }, 20_000, 'dropped > 0 in /stats')
    expect(server.pubsub.backlog().stalled).toBe(1)

    slow.socket.resetAndDestroy()
    await expectReleased(server, 2, 1)
    // The fast subscriber never saw a notice and keeps getting everything, in order.
    expect(fast.inbox.filter((f) => f.type === 'error')).toEqual([])
    await expectDelivery(publisher, fast, 't', 50, seq)
  }, 40_000)

  test('an exception inside frame handling on a live server: INTERNAL for that request (no detail), logged once, connection kept', async () => {
    const lines: string[] = []
    const herald = startHerald({ ...loadConfig({}), host: '127.0.0.1', port: 0, shutdownGraceMs: 500 }, createLogger('info', { format: 'json', write: (l) => lines.push(l) }))
    try {
      await herald.pubsub.createTopic('t')
      const original = herald.pubsub.publish.bind(herald.pubsub)
      let calls = 0
      herald.pubsub.publish = (topic, message) => {
        if (++calls === 1) throw new Error('disk on fire in /src/secret/path.ts')
        return original(topic, message)
      }
      using client = await connect(`ws://127.0.0.1:${herald.port}/ws`)
      const failed = await client.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: 1 } })
      expect(failed.type).toBe('error')
      expect(failed.error).toEqual({ code: 'INTERNAL', message: 'internal error' })
      // The same connection keeps working.
      expect((await client.request({ type: 'subscribe', topic: 't', client_id: 'c' })).type).toBe('ack')
      expect((await client.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: 2 } })).type).toBe('ack')
      expect((await client.nextOfType('event')).message.payload).toBe(2)
      const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.event === 'ws_internal_error')
      expect(logged).toHaveLength(1)
      expect(logged[0]).toMatchObject({ level: 'error', type: 'publish', message: 'disk on fire in /src/secret/path.ts' })
    } finally {
      await herald.shutdown()
    }
  })
})

describe('SIGTERM under load (spawned server)', () => {
  test('every acknowledged message reaches every healthy subscriber before its socket closes with 1001; exit 0', async () => {
    // A small socket high-water mark and a deep queue: a subscriber that reads late builds a backlog in the broker
    // (nothing dropped), which the shutdown must flush within its grace period.
    await using server = await spawnServer({ env: { SHUTDOWN_GRACE_MS: '10000', QUEUE_SIZE: '100000', SOCKET_HIGH_WATER_BYTES: '16384', LOG_LEVEL: 'info', LOG_FORMAT: 'json' } })
    const created = await fetch(`${server.http}/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'load' }) })
    expect(created.status).toBe(201)

    const subscribers = await Promise.all([0, 1, 2].map(() => connect(server.ws)))
    for (const [k, s] of subscribers.entries()) expect((await s.request({ type: 'subscribe', topic: 'load', client_id: `s${k}` })).type).toBe('ack')
    // What each subscriber received, and how much of it before its close event.
    const received = subscribers.map((s) => {
      const frames: Frame[] = []
      s.socket.addEventListener('message', (e) => frames.push(JSON.parse(String(e.data))))
      return frames
    })
    const closes = subscribers.map((s, k) => s.closed.then((c) => ({ ...c, framesBefore: received[k]!.length })))
    // The late reader: subscribes, then stops reading until the signal.
    const late = await rawConnect(server.port)
    late.sendText(JSON.stringify({ type: 'subscribe', topic: 'load', client_id: 'late', request_id: 'late' }))
    expect(json((await late.waitForTextFrames(1, 3000))[0]!).type).toBe('ack')
    late.pause()

    // Two publishers, each keeping 20 publishes in flight, counting acks.
    const publishers = await Promise.all([0, 1].map(() => connect(server.ws)))
    const acked: string[][] = [[], []]
    const sentIds: string[][] = [[], []]
    let stopPumps = false
    const pad = 'y'.repeat(4096)
    const pumps = publishers.map(async (p, k) => {
      const inFlight = new Map<string, string>() // request_id → message id
      let n = 0
      let wake: (() => void) | undefined
      p.socket.addEventListener('message', (e) => {
        const f = JSON.parse(String(e.data))
        const id = inFlight.get(f.request_id)
        if (id === undefined) return
        inFlight.delete(f.request_id)
        if (f.type === 'ack') acked[k]!.push(id)
        wake?.()
      })
      p.closed.then(() => wake?.())
      while (!stopPumps && p.socket.readyState === WebSocket.OPEN) {
        while (inFlight.size < 20 && p.socket.readyState === WebSocket.OPEN) {
          const id = uuid()
          const request_id = `p${k}-${++n}`
          inFlight.set(request_id, id)
          sentIds[k]!.push(id)
          p.socket.send(JSON.stringify({ type: 'publish', topic: 'load', message: { id, payload: { k, n, pad } }, request_id }))
        }
        await within(new Promise<void>((r) => (wake = r)), 10_000, 'a reply to a publish')
      }
    })

    // 3000 × 4 KiB = 12 MB: far more than the kernel buffers toward the paused reader hold.
    await until(() => (acked[0]!.length + acked[1]!.length >= 3000 ? true : undefined), 20_000, '3000 acks')
    const exitCode = stop(server, 15_000)
    late.resume()
    const closed = await within(Promise.all(closes), 10_000, 'every subscriber to be closed')
    await within(late.ended, 10_000, 'the late reader to be closed')
    stopPumps = true
    await Promise.all(pumps)
    expect(await exitCode).toBe(0)

    const ackedIds = new Set([...acked[0]!, ...acked[1]!])
    expect(ackedIds.size).toBeGreaterThanOrEqual(3000)
    const check = (frames: Frame[], who: string) => {
      const events = frames.filter((f) => f.type === 'event')
      const got = new Set(events.map((e) => e.message.id))
      // Every acknowledged message arrived before the close.
      expect([...ackedIds].filter((id) => !got.has(id)), who).toEqual([])
      // Seqs consecutive from 1 (no gap, no duplicate), each publisher's messages in its order.
      expect(events.map((e) => e.seq), who).toEqual(events.map((_, i) => i + 1))
      for (const p of [0, 1]) expect(events.filter((e) => e.message.payload.k === p).map((e) => e.message.id), who).toEqual(sentIds[p]!.filter((id) => got.has(id)))
      expect(frames.filter((f) => f.type === 'error'), who).toEqual([])
      expect(frames.some((f) => f.type === 'info' && f.msg === 'server_shutdown'), who).toBe(true)
    }
    for (const [k, frames] of received.entries()) {
      expect(closed[k]!.code).toBe(1001)
      expect(frames.length).toBe(closed[k]!.framesBefore)
      check(frames, `subscriber ${k}`)
    }
    // The late reader: its close frame (1001) comes after everything else.
    const closeAt = late.frames.findIndex((f) => f.opcode === 8)
    expect(closeAt).toBe(late.frames.length - 1)
    expect(late.frames[closeAt]!.payload.readUInt16BE(0)).toBe(1001)
    check(late.frames.filter((f) => f.opcode === 1).map(json), 'the late reader')
    const log = server.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
    expect(log.find((l) => l.event === 'shutdown_complete')).toMatchObject({ flushed: true })
  }, 60_000)
})

/** One raw HTTP exchange (for the upgrade request, which fetch will not send): status line and body. */
async function rawHttp(port: number, request: string): Promise<{ status: string; body: string }> {
  const socket = tcpConnect({ host: '127.0.0.1', port })
  socket.on('error', () => {})
  let data = ''
  socket.on('data', (chunk) => (data += chunk.toString()))
  socket.write(request)
  return within(
    (async () => {
      for (;;) {
        const end = data.indexOf('\r\n\r\n')
        if (end !== -1) {
          const head = data.slice(0, end)
          const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0)
          if (data.length >= end + 4 + length) {
            socket.destroy()
            return { status: head.split('\r\n')[0]!, body: data.slice(end + 4, end + 4 + length) }
          }
        }
        await new Promise<void>((r) => socket.once('data', () => r()))
      }
    })(),
    5000,
    'an HTTP response',
  )
}

describe('API keys', () => {
  test('never in logs; REST and upgrade 401s are identical whether the key is missing or wrong', async () => {
    const KEY = 'k3y-Sup3r-S3cret-4f1c9b'
    const WRONG = 'wr0ng-G8ess-77aa'
    await using server = await spawnServer({ env: { API_KEY: KEY, LOG_LEVEL: 'debug', LOG_FORMAT: 'json' } })

    // REST: missing and wrong keys get the same 401.
    const rest = async (headers: Record<string, string>) => {
      const res = await fetch(`${server.http}/topics`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ name: 'k' }) })
      return { status: res.status, body: await res.text() }
    }
    const missing = await rest({})
    const wrong = await rest({ 'x-api-key': WRONG })
    const almost = await rest({ 'x-api-key': KEY.slice(0, -1) })
    expect(missing.status).toBe(401)
    expect(JSON.parse(missing.body)).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } })
    expect(wrong).toEqual(missing)
    expect(almost).toEqual(missing)
    expect((await rest({ 'x-api-key': KEY })).status).toBe(201)

    // Upgrade: no key, a wrong header, a wrong query parameter all get the same 401, before the upgrade.
    const upgrade = (path: string, extra = '') =>
      rawHttp(server.port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${btoa('0123456789abcdef')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`)
    const noKey = await upgrade('/ws')
    expect(noKey.status).toBe('HTTP/1.1 401 Unauthorized')
    expect(noKey.body).toBe(missing.body)
    expect(await upgrade('/ws', `X-API-Key: ${WRONG}\r\n`)).toEqual(noKey)
    expect(await upgrade(`/ws?api_key=${WRONG}`)).toEqual(noKey)
    expect(noKey.body).not.toContain(WRONG)

    // The right key works, by header and by query parameter, and a full round trip happens.
    using byHeader = await connect(server.ws, { headers: { 'x-api-key': KEY } })
    expect((await byHeader.request({ type: 'subscribe', topic: 'k', client_id: 'h' })).type).toBe('ack')
    using byQuery = await connect(`${server.ws}?api_key=${encodeURIComponent(KEY)}`)
    expect((await byQuery.request({ type: 'publish', topic: 'k', message: { id: uuid(), payload: KEY } })).type).toBe('ack')
    expect((await byHeader.nextOfType('event')).message.payload).toBe(KEY) // a payload is data, not a log line
    const wrongWs = await connect(`${server.ws}?api_key=${WRONG}`).then(
      () => 'open',
      () => 'refused',
    )
    expect(wrongWs).toBe('refused')
    byHeader.close()
    byQuery.close()

    expect(await stop(server)).toBe(0)
    const output = server.lines.join('\n') + server.stderr()
    expect(output).toContain('"event":"shutdown_complete"') // the logs were captured
    expect(output).not.toContain(KEY)
    expect(output).not.toContain(WRONG)
    expect(output).not.toContain(KEY.slice(0, 8))
  }, 30_000)
})
