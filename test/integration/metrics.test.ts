/**
 * GET /metrics after real traffic over real sockets: every counter and gauge
 * moves as the traffic says it should. Waits poll the scrape with a deadline
 * (`until`), never sleep.
 */
import { describe, expect, test } from 'bun:test'
import { scrape } from '../helpers/prometheus'
import { json, rawConnect } from '../helpers/raw-ws'
import { startServer } from '../helpers/server'
import { type Frame, type TestClient, connect, uuid } from '../helpers/ws-client'
import { until, within } from '../helpers/wait'

/** Sends `frame` with a fresh request_id as one text frame; returns its byte length and waits for the reply that echoes it. */
let ids = 0
async function ask(client: TestClient, frame: Frame | string): Promise<{ bytes: number; reply: Frame }> {
  const request_id = `m${++ids}`
  const text = typeof frame === 'string' ? frame : JSON.stringify({ ...frame, request_id })
  client.sendRaw(text)
  const reply =
    typeof frame === 'string'
      ? await client.nextOfType('error')
      : await until(
          () => {
            const i = client.inbox.findIndex((f) => f.request_id === request_id)
            return i === -1 ? undefined : client.inbox.splice(i, 1)[0]
          },
          3000,
          `the reply to ${request_id}`,
        )
  return { bytes: Buffer.byteLength(text), reply }
}

describe('GET /metrics', () => {
  test('counters and gauges follow real traffic', async () => {
    await using server = startServer({ historySize: 10 })
    const before = await scrape(server.http)
    expect(before.value('herald_messages_published_total')).toBe(0)
    expect(before.value('herald_connections')).toBe(0)
    // prom-client's default process metrics are there too.
    expect(before.samples.some((s) => s.name === 'process_resident_memory_bytes')).toBe(true)

    expect(await server.createTopic('t')).toBe(201)
    let bytesIn = 0
    const clients: TestClient[] = []
    const open = async () => {
      const c = await connect(server.ws)
      clients.push(c)
      return c
    }
    try {
      const sub1 = await open()
      const sub2 = await open()
      const pub = await open()
      for (const sub of [sub1, sub2]) {
        const r = await ask(sub, { type: 'subscribe', topic: 't', client_id: 'c' })
        expect(r.reply.type).toBe('ack')
        bytesIn += r.bytes
      }
      for (let i = 0; i < 3; i++) {
        const r = await ask(pub, { type: 'publish', topic: 't', message: { id: uuid(), payload: { i } } })
        expect(r.reply.type).toBe('ack')
        bytesIn += r.bytes
      }
      for (const sub of [sub1, sub2]) for (let i = 0; i < 3; i++) expect((await sub.nextOfType('event')).seq).toBe(i + 1)

      // Errors of two codes, a ping, and a frame that does not decode.
      const missing = await ask(pub, { type: 'publish', topic: 'nope', message: { id: uuid(), payload: 1 } })
      expect(missing.reply.error.code).toBe('TOPIC_NOT_FOUND')
      const garbage = await ask(pub, '{not json')
      expect(garbage.reply.error.code).toBe('BAD_REQUEST')
      const ping = await ask(pub, { type: 'ping' })
      expect(ping.reply.type).toBe('pong')
      bytesIn += missing.bytes + garbage.bytes + ping.bytes

      // A late subscriber replays the 3 messages of history.
      const late = await open()
      const replay = await ask(late, { type: 'subscribe', topic: 't', client_id: 'late', last_n: 10 })
      bytesIn += replay.bytes
      for (let i = 0; i < 3; i++) expect((await late.nextOfType('event')).seq).toBe(i + 1)

      const m = await scrape(server.http)
      expect(m.value('herald_messages_published_total')).toBe(3)
      expect(m.value('herald_messages_delivered_total')).toBe(3 * 2 + 3)
      expect(m.value('herald_messages_dropped_total', { policy: 'drop_oldest' })).toBe(0)
      expect(m.value('herald_ws_frames_received_total', { type: 'subscribe' })).toBe(3)
      expect(m.value('herald_ws_frames_received_total', { type: 'publish' })).toBe(4)
      expect(m.value('herald_ws_frames_received_total', { type: 'ping' })).toBe(1)
      expect(m.value('herald_ws_frames_received_total', { type: 'invalid' })).toBe(1)
      expect(m.value('herald_ws_frames_received_total', { type: 'unsubscribe' })).toBe(0)
      expect(m.value('herald_errors_sent_total', { code: 'TOPIC_NOT_FOUND' })).toBe(1)
      expect(m.value('herald_errors_sent_total', { code: 'BAD_REQUEST' })).toBe(1)
      expect(m.value('herald_errors_sent_total', { code: 'SLOW_CONSUMER' })).toBe(0)
      expect(m.value('herald_ws_bytes_received_total')).toBe(bytesIn)
      // Replies: 3 subscribe acks, 3 publish acks, 2 errors, 1 pong; plus 9 events.
      expect(m.value('herald_ws_frames_sent_total')).toBe(9 + 9)
      expect(m.value('herald_ws_bytes_sent_total')).toBeGreaterThan(0)
      expect(m.value('herald_published_bytes_total')).toBeGreaterThan(0)
      expect(m.value('herald_connections')).toBe(4)
      expect(m.value('herald_ws_connections_opened_total')).toBe(4)
      expect(m.value('herald_topics')).toBe(1)
      expect(m.value('herald_subscriptions')).toBe(3)
      expect(m.value('herald_history_messages')).toBe(3)
      expect(m.value('herald_queued_frames')).toBe(0)
      expect(m.value('herald_stalled_connections')).toBe(0)
      expect(m.value('herald_flush_delay_seconds_count')).toBeGreaterThan(0)
      expect(m.value('herald_flush_delay_seconds_bucket', { le: '+Inf' })).toBe(m.value('herald_flush_delay_seconds_count'))

      // Closing a connection: the gauges drop, the close is counted by code.
      sub1.socket.close(1000)
      await within(sub1.closed, 3000, 'sub1 closed')
      const after = await until(
        async () => {
          const s = await scrape(server.http)
          return s.value('herald_connections') === 3 ? s : undefined
        },
        3000,
        'herald_connections to drop to 3',
      )
      expect(after.value('herald_subscriptions')).toBe(2)
      expect(after.value('herald_ws_connections_closed_total', { code: '1000' })).toBe(1)
      // Counters never go back.
      expect(after.value('herald_messages_published_total')).toBe(3)
    } finally {
      for (const c of clients) c.close()
    }
  })

  test('per-topic labels only with METRICS_TOPIC_LABELS=true', async () => {
    await using plain = startServer()
    expect(await plain.createTopic('a')).toBe(201)
    const p = await scrape(plain.http)
    expect(p.samples.filter((s) => 'topic' in s.labels)).toEqual([])

    await using labelled = startServer({ metricsTopicLabels: true })
    for (const t of ['a', 'b']) expect(await labelled.createTopic(t)).toBe(201)
    using pub = await connect(labelled.ws)
    using sub = await connect(labelled.ws)
    expect((await sub.request({ type: 'subscribe', topic: 'a', client_id: 's' })).type).toBe('ack')
    for (const topic of ['a', 'a', 'b']) expect((await pub.request({ type: 'publish', topic, message: { id: uuid(), payload: null } })).type).toBe('ack')
    const m = await scrape(labelled.http)
    expect(m.value('herald_messages_published_total', { topic: 'a' })).toBe(2)
    expect(m.value('herald_messages_published_total', { topic: 'b' })).toBe(1)
    expect(m.value('herald_subscriptions', { topic: 'a' })).toBe(1)
    expect(m.value('herald_subscriptions', { topic: 'b' })).toBe(0)
    expect(m.value('herald_history_messages', { topic: 'a' })).toBe(2)
    expect(m.value('herald_messages_dropped_total', { topic: 'a', policy: 'drop_oldest' })).toBe(0)
    // Deleting a topic removes its series.
    expect((await fetch(`${labelled.http}/topics/b`, { method: 'DELETE' })).status).toBe(200)
    expect((await scrape(labelled.http)).samples.filter((s) => s.labels.topic === 'b')).toEqual([])
  })

  test('a slow consumer shows as dropped messages, a queue, a stalled connection, and a SLOW_CONSUMER notice', async () => {
    await using server = startServer({ queueSize: 5, socketHighWaterBytes: 16 * 1024 })
    expect(await server.createTopic('t')).toBe(201)
    const slow = await rawConnect(server.port)
    try {
      await slow.subscribe('t', 'slow')
      slow.pause()
      using pub = await connect(server.ws)
      const pad = 'x'.repeat(16 * 1024)
      // Publish until the server sees the paused reader back up (kernel buffers hold a few MB first).
      const m = await until(
        async () => {
          for (let i = 0; i < 50; i++) pub.send({ type: 'publish', topic: 't', message: { id: uuid(), payload: pad } })
          await pub.request({ type: 'ping' }, 5000)
          const s = await scrape(server.http)
          return s.value('herald_stalled_connections') === 1 && s.value('herald_messages_dropped_total', { policy: 'drop_oldest' }) > 0 ? s : undefined
        },
        20_000,
        'the paused subscriber to back up and lose messages',
      )
      // Its queue holds what waits (at most QUEUE_SIZE; Bun may still take a frame whenever its buffer dips).
      expect(m.value('herald_queued_frames')).toBeGreaterThan(0)
      expect(m.value('herald_queued_frames')).toBeLessThanOrEqual(5)
      expect(m.value('herald_oldest_queued_seconds')).toBeGreaterThan(0)

      // The reader catches up: the notice goes out and is counted.
      slow.resume()
      const done = await until(
        async () => {
          const s = await scrape(server.http)
          return s.value('herald_slow_consumer_total', { action: 'notice' }) >= 1 && s.value('herald_queued_frames') === 0 ? s : undefined
        },
        15_000,
        'the SLOW_CONSUMER notice to be sent',
      )
      expect(done.value('herald_errors_sent_total', { code: 'SLOW_CONSUMER' })).toBe(done.value('herald_slow_consumer_total', { action: 'notice' }))
      expect(done.value('herald_slow_consumer_total', { action: 'disconnect' })).toBe(0)
      expect(done.value('herald_stalled_connections')).toBe(0)
      const published = done.value('herald_messages_published_total')
      const dropped = done.value('herald_messages_dropped_total', { policy: 'drop_oldest' })
      // Exactly once with drop-oldest: the slow subscriber got every message but the dropped ones.
      const events = await until(
        () => {
          const got = slow.frames.filter((f) => f.opcode === 1).map(json).filter((f) => f.type === 'event')
          return got.length === published - dropped ? got : undefined
        },
        15_000,
        'the slow subscriber to receive the rest',
      )
      expect(events.at(-1).seq).toBe(published)
      expect(done.value('herald_messages_delivered_total')).toBe(published - dropped)
    } finally {
      slow.destroy()
    }
  }, 60_000)

  test('SLOW_CONSUMER_POLICY=disconnect counts the disconnect and the 4000 close', async () => {
    await using server = startServer({ queueSize: 5, socketHighWaterBytes: 16 * 1024, slowConsumerPolicy: 'disconnect' })
    expect(await server.createTopic('t')).toBe(201)
    const slow = await rawConnect(server.port)
    try {
      await slow.subscribe('t', 'slow')
      slow.pause()
      using pub = await connect(server.ws)
      const pad = 'x'.repeat(16 * 1024)
      const m = await until(
        async () => {
          for (let i = 0; i < 50; i++) pub.send({ type: 'publish', topic: 't', message: { id: uuid(), payload: pad } })
          await pub.request({ type: 'ping' }, 5000)
          const s = await scrape(server.http)
          // Keep publishing until the server evicts the paused subscriber.
          return s.sum('herald_slow_consumer_total', { action: 'disconnect' }) === 1 ? s : undefined
        },
        20_000,
        'the slow subscriber to be evicted',
      )
      expect(m.value('herald_errors_sent_total', { code: 'SLOW_CONSUMER' })).toBe(1)
      expect(m.value('herald_messages_dropped_total', { policy: 'disconnect' })).toBeGreaterThanOrEqual(1)
      // The close frame follows what was already in flight: it is sent (and counted) once the client reads up to it.
      slow.resume()
      const closed = await until(
        async () => {
          const s = await scrape(server.http)
          const closes = s.samples.find((x) => x.name === 'herald_ws_connections_closed_total' && x.labels.code === '4000')
          return closes?.value === 1 ? s : undefined
        },
        10_000,
        'the 4000 close to be counted',
      )
      expect(closed.value('herald_slow_consumer_total', { action: 'disconnect' })).toBe(1)
      expect(closed.value('herald_connections')).toBe(1)
    } finally {
      slow.destroy()
    }
  }, 60_000)
})

describe('rate limiting in the metrics', () => {
  test('refused frames count as type rate_limited and errors RATE_LIMITED', async () => {
    await using server = startServer({ rateLimitPerSec: 1, rateLimitBurst: 1 })
    using client = await connect(server.ws)
    for (let i = 0; i < 3; i++) client.send({ type: 'ping', request_id: `p${i}` })
    const replies = [await client.next(), await client.next(), await client.next()]
    const limited = replies.filter((r) => r.type === 'error' && r.error.code === 'RATE_LIMITED').length
    expect(limited).toBeGreaterThanOrEqual(1)
    const m = await scrape(server.http)
    expect(m.value('herald_ws_frames_received_total', { type: 'rate_limited' })).toBe(limited)
    expect(m.value('herald_errors_sent_total', { code: 'RATE_LIMITED' })).toBe(limited)
    expect(m.value('herald_ws_frames_received_total', { type: 'ping' })).toBe(3 - limited)
  })
})

describe('/metrics access', () => {
  test('follows the REST auth rule unless METRICS_PUBLIC=true', async () => {
    await using guarded = startServer({ apiKey: 'k1' })
    expect((await fetch(`${guarded.http}/metrics`)).status).toBe(401)
    expect((await fetch(`${guarded.http}/metrics`, { headers: { 'x-api-key': 'wrong' } })).status).toBe(401)
    const ok = await fetch(`${guarded.http}/metrics`, { headers: { 'x-api-key': 'k1' } })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('content-type')).toStartWith('text/plain')

    await using open = startServer({ apiKey: 'k1', metricsPublic: true })
    expect((await fetch(`${open.http}/metrics`)).status).toBe(200)
    // Only /metrics became public.
    expect((await fetch(`${open.http}/stats`)).status).toBe(401)
  })

  test('every herald metric is documented in docs/operations.md', async () => {
    await using server = startServer()
    const doc = await Bun.file(new URL('../../docs/operations.md', import.meta.url).pathname).text()
    const names = (await server.metrics.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('herald_'))
    expect(names.length).toBeGreaterThan(15)
    expect(names.filter((n) => !doc.includes(`\`${n}\``))).toEqual([])
  })

  test('two servers in one process keep separate registries', async () => {
    await using a = startServer()
    await using b = startServer()
    expect(await a.createTopic('x')).toBe(201)
    expect((await scrape(a.http)).value('herald_topics')).toBe(1)
    expect((await scrape(b.http)).value('herald_topics')).toBe(0)
  })
})
