import { describe, expect, test } from 'bun:test'
import { rest } from '../helpers/http'
import { startServer } from '../helpers/server'
import { connect, uuid, type TestClient } from '../helpers/ws-client'
import { until } from '../helpers/wait'

const publish = (c: TestClient, topic: string, payload: unknown) => c.request({ type: 'publish', topic, message: { id: uuid(), payload } })

describe('decision 1: operations on a missing topic → TOPIC_NOT_FOUND with request_id echoed', () => {
  test('subscribe, unsubscribe, publish', async () => {
    await using server = startServer()
    using c = await connect(server.ws)
    const frames = [
      { type: 'subscribe', topic: 'ghost', client_id: 'c', request_id: 'sub-ghost' },
      { type: 'unsubscribe', topic: 'ghost', client_id: 'c', request_id: 'unsub-ghost' },
      { type: 'publish', topic: 'ghost', message: { id: uuid(), payload: 1 }, request_id: 'pub-ghost' },
    ]
    for (const frame of frames) {
      c.send(frame)
      const reply = await c.next()
      expect(reply).toMatchObject({ type: 'error', request_id: frame.request_id, error: { code: 'TOPIC_NOT_FOUND', message: "Topic 'ghost' does not exist" } })
    }
    // Without a request_id the error still comes, with none echoed.
    c.send({ type: 'publish', topic: 'ghost', message: { id: uuid(), payload: 1 } })
    const bare = await c.next()
    expect(bare.error.code).toBe('TOPIC_NOT_FOUND')
    expect('request_id' in bare).toBe(false)
    expect((await rest(server.http, 'GET', '/topics')).body).toEqual({ topics: [] })
  })
})

describe('decision 2: unsubscribe is idempotent', () => {
  test('unsubscribe from an existing topic never subscribed, or twice → ack', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using c = await connect(server.ws)
    expect(await c.request({ type: 'unsubscribe', topic: 't', client_id: 'c' })).toMatchObject({ type: 'ack', topic: 't', status: 'ok' })
    expect((await c.request({ type: 'subscribe', topic: 't', client_id: 'c' })).type).toBe('ack')
    expect((await c.request({ type: 'unsubscribe', topic: 't', client_id: 'c' })).type).toBe('ack')
    expect((await c.request({ type: 'unsubscribe', topic: 't', client_id: 'c' })).type).toBe('ack')
    expect((await rest(server.http, 'GET', '/health')).body.subscribers).toBe(0)
  })

  test('after unsubscribe, no more events on that topic', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using c = await connect(server.ws)
    using p = await connect(server.ws)
    expect((await c.request({ type: 'subscribe', topic: 't', client_id: 'c' })).type).toBe('ack')
    expect((await publish(p, 't', 'before')).type).toBe('ack')
    expect((await c.next()).message.payload).toBe('before')
    expect((await c.request({ type: 'unsubscribe', topic: 't', client_id: 'c' })).type).toBe('ack')
    expect((await publish(p, 't', 'after')).type).toBe('ack')
    // A ping round trip proves the server has processed everything before it on this connection.
    expect((await c.request({ type: 'ping' })).type).toBe('pong')
    expect(c.inbox.filter((f) => f.type === 'event')).toEqual([])
  })
})

describe('unsubscribe ordering', () => {
  test('events published before the unsubscribe arrive before its ack; none after', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using c = await connect(server.ws)
    expect((await c.request({ type: 'subscribe', topic: 't', client_id: 'c' })).type).toBe('ack')
    // One connection, frames sent back to back: the server handles them in order.
    for (let i = 1; i <= 3; i++) c.send({ type: 'publish', topic: 't', message: { id: uuid(), payload: i }, request_id: `p${i}` })
    c.send({ type: 'unsubscribe', topic: 't', client_id: 'c', request_id: 'unsub' })
    for (let i = 4; i <= 5; i++) c.send({ type: 'publish', topic: 't', message: { id: uuid(), payload: i }, request_id: `p${i}` })
    const frames = []
    while (frames.at(-1)?.request_id !== 'p5') frames.push(await c.next())
    const order = frames.map((f) => (f.type === 'event' ? `e${f.message.payload}` : f.request_id))
    // (Whether a publisher's own event precedes its ack is not specified; both stay in publish order.)
    const unsub = order.indexOf('unsub')
    expect(order.slice(0, unsub).filter((x) => x.startsWith('e'))).toEqual(['e1', 'e2', 'e3'])
    expect(order.slice(unsub).filter((x) => x.startsWith('e'))).toEqual([])
    expect(order.filter((x) => !x.startsWith('e'))).toEqual(['p1', 'p2', 'p3', 'unsub', 'p4', 'p5'])
    expect((await c.request({ type: 'ping' })).type).toBe('pong')
    expect(c.inbox.filter((f) => f.type === 'event')).toEqual([])
  })
})

describe('decision 3: a subscription belongs to the connection that made it', () => {
  test("another connection's unsubscribe with the same client_id does not remove mine", async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using mine = await connect(server.ws)
    using other = await connect(server.ws)
    expect((await mine.request({ type: 'subscribe', topic: 't', client_id: 'shared-id' })).type).toBe('ack')
    expect((await other.request({ type: 'unsubscribe', topic: 't', client_id: 'shared-id' })).type).toBe('ack')
    expect((await rest(server.http, 'GET', '/health')).body.subscribers).toBe(1)
    expect((await publish(other, 't', 'still mine')).type).toBe('ack')
    expect((await mine.nextOfType('event')).message.payload).toBe('still mine')
  })

  test('two connections with the same client_id are two subscriptions, each delivered once', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using a = await connect(server.ws)
    using b = await connect(server.ws)
    for (const c of [a, b]) expect((await c.request({ type: 'subscribe', topic: 't', client_id: 'same' })).type).toBe('ack')
    expect((await rest(server.http, 'GET', '/topics')).body.topics).toEqual([{ name: 't', subscribers: 2 }])
    expect((await publish(a, 't', 1)).type).toBe('ack')
    for (const c of [a, b]) expect((await c.nextOfType('event')).message.payload).toBe(1)
  })

  test('client_id is required and non-empty on subscribe and unsubscribe', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using c = await connect(server.ws)
    for (const frame of [
      { type: 'subscribe', topic: 't' },
      { type: 'subscribe', topic: 't', client_id: '' },
      { type: 'unsubscribe', topic: 't' },
      { type: 'unsubscribe', topic: 't', client_id: '' },
    ]) {
      const reply = await c.request(frame)
      expect(reply.type).toBe('error')
      expect(reply.error).toEqual({ code: 'BAD_REQUEST', message: 'client_id must be a non-empty string' })
    }
    expect((await rest(server.http, 'GET', '/health')).body.subscribers).toBe(0)
  })

  test('subscribing again on the same connection never duplicates delivery', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using c = await connect(server.ws)
    expect((await c.request({ type: 'subscribe', topic: 't', client_id: 'one' })).type).toBe('ack')
    expect((await c.request({ type: 'subscribe', topic: 't', client_id: 'two' })).type).toBe('ack')
    expect((await c.request({ type: 'subscribe', topic: 't', client_id: 'two' })).type).toBe('ack')
    expect((await rest(server.http, 'GET', '/health')).body.subscribers).toBe(1)
    for (let i = 1; i <= 3; i++) expect((await publish(c, 't', i)).type).toBe('ack')
    // The three events (with ENGINE=redis they may come after the acks: they travel through Redis), then nothing more.
    const events = [await c.nextOfType('event'), await c.nextOfType('event'), await c.nextOfType('event')]
    expect(events.map((f) => f.message.payload)).toEqual([1, 2, 3])
    await publish(c, 't', 'marker')
    expect((await c.nextOfType('event')).message.payload).toBe('marker') // not a second copy of 1, 2 or 3
  })

  test('closing a connection releases its subscriptions', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    const c = await connect(server.ws)
    expect((await c.request({ type: 'subscribe', topic: 't', client_id: 'c' })).type).toBe('ack')
    expect((await rest(server.http, 'GET', '/health')).body.subscribers).toBe(1)
    c.close()
    await c.closed
    await until(async () => ((await rest(server.http, 'GET', '/health')).body.subscribers === 0 ? true : undefined), 3000, 'subscribers back to 0')
  })
})

describe('decision 5: ack, then replay (oldest first, capped), then live', () => {
  test('last_n replays the newest n oldest first after the ack', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using p = await connect(server.ws)
    for (let i = 1; i <= 5; i++) expect((await publish(p, 't', i)).type).toBe('ack')
    using s = await connect(server.ws)
    s.send({ type: 'subscribe', topic: 't', client_id: 's', last_n: 3, request_id: 'sub' })
    expect(await s.next()).toMatchObject({ type: 'ack', request_id: 'sub', topic: 't', status: 'ok' })
    for (const i of [3, 4, 5]) expect(await s.next()).toMatchObject({ type: 'event', topic: 't', seq: i, message: { payload: i } })
    expect((await publish(p, 't', 6)).type).toBe('ack')
    expect(await s.next()).toMatchObject({ type: 'event', seq: 6, message: { payload: 6 } })
  })

  test('last_n larger than the history is capped at the history size', async () => {
    await using server = startServer({ historySize: 4 })
    expect(await server.createTopic('t')).toBe(201)
    using p = await connect(server.ws)
    for (let i = 1; i <= 10; i++) expect((await publish(p, 't', i)).type).toBe('ack')
    using s = await connect(server.ws)
    expect((await s.request({ type: 'subscribe', topic: 't', client_id: 's', last_n: 1000 })).type).toBe('ack')
    const replay = [await s.next(), await s.next(), await s.next(), await s.next()]
    expect(replay.map((f) => f.seq)).toEqual([7, 8, 9, 10])
    expect((await s.request({ type: 'ping' })).type).toBe('pong')
    expect(s.inbox).toEqual([])
  })

  test('last_n absent or 0 → no replay; negative or non-integer → BAD_REQUEST', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using p = await connect(server.ws)
    expect((await publish(p, 't', 'old')).type).toBe('ack')
    using s = await connect(server.ws)
    expect((await s.request({ type: 'subscribe', topic: 't', client_id: 's' })).type).toBe('ack')
    expect((await s.request({ type: 'subscribe', topic: 't', client_id: 's', last_n: 0 })).type).toBe('ack')
    for (const last_n of [-1, 1.5, '2', null]) {
      const reply = await s.request({ type: 'subscribe', topic: 't', client_id: 's', last_n })
      expect(reply.error).toEqual({ code: 'BAD_REQUEST', message: 'last_n must be a non-negative integer' })
    }
    expect((await s.request({ type: 'ping' })).type).toBe('pong')
    expect(s.inbox.filter((f) => f.type === 'event')).toEqual([])
  })

  test('publishes racing the subscribe: no gap and no duplicate between replay and live', async () => {
    await using server = startServer({ historySize: 1000 })
    expect(await server.createTopic('t')).toBe(201)
    using p = await connect(server.ws)
    using s = await connect(server.ws)
    const total = 400
    // The subscribe lands somewhere in the middle of a stream of publishes.
    for (let i = 1; i <= total; i++) {
      p.send({ type: 'publish', topic: 't', message: { id: uuid(), payload: i } })
      if (i === 150) s.send({ type: 'subscribe', topic: 't', client_id: 's', last_n: 1000, request_id: 'sub' })
    }
    expect(await s.next(5000)).toMatchObject({ type: 'ack', request_id: 'sub' })
    const seen: number[] = []
    while (seen.at(-1) !== total) seen.push((await s.next(5000)).seq)
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => i + 1))
    expect(s.inbox.filter((f) => f.type === 'error')).toEqual([])
  })
})
