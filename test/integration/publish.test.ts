import { describe, expect, test } from 'bun:test'
import { TS, rest } from '../helpers/http'
import { startServer } from '../helpers/server'
import { connect, uuid, type Frame, type TestClient } from '../helpers/ws-client'
import { until } from '../helpers/wait'

/** Takes frames until `count` events have arrived; fails on any error frame. */
async function events(c: TestClient, count: number, ms = 5000): Promise<Frame[]> {
  const out: Frame[] = []
  while (out.length < count) {
    const f = await c.next(ms)
    if (f.type === 'error') throw new Error(`unexpected error frame ${JSON.stringify(f)}`)
    if (f.type === 'event') out.push(f)
  }
  return out
}

describe('decision 4: publish', () => {
  test('needs no prior subscribe and no client_id; acks with the request_id and topic', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using p = await connect(server.ws)
    const reply = await p.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: 'hi' } })
    expect(reply).toMatchObject({ type: 'ack', topic: 't', status: 'ok' })
    expect((await rest(server.http, 'GET', '/stats')).body.topics.t.messages).toBe(1)
  })

  test('message.id must be a UUID of any version and any case', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using p = await connect(server.ws)
    for (const id of [
      '550e8400-e29b-41d4-a716-446655440000', // v4
      '550E8400-E29B-41D4-A716-446655440000', // upper case
      'C232AB00-9414-11EC-B3C8-9F6BDECED846', // v1, upper case
      '017f22e2-79b0-7cc3-98c4-dc0c0c07398f', // v7
      '00000000-0000-0000-0000-000000000000', // nil
      'a3bb189e-8bf9-3888-9912-ace4e6543002', // v3
    ])
      expect((await p.request({ type: 'publish', topic: 't', message: { id, payload: 1 } })).type).toBe('ack')
    for (const id of ['', 'not-a-uuid', '550e8400e29b41d4a716446655440000', '550e8400-e29b-41d4-a716-44665544000g', '{550e8400-e29b-41d4-a716-446655440000}', 42, null]) {
      const reply = await p.request({ type: 'publish', topic: 't', message: { id, payload: 1 } })
      expect(reply.error).toEqual({ code: 'BAD_REQUEST', message: 'message.id must be a valid UUID' })
    }
    expect((await rest(server.http, 'GET', '/stats')).body.topics.t.messages).toBe(6)
  })

  test('payload may be any JSON value and arrives unchanged', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using s = await connect(server.ws)
    expect((await s.request({ type: 'subscribe', topic: 't', client_id: 's' })).type).toBe('ack')
    using p = await connect(server.ws)
    const payloads = ['a string', '', 0, -12.5, 1e21, true, false, null, [], [1, 'two', null, [3]], {}, { order_id: 'ORD-123', amount: 99.5, nested: { deep: [{ x: 'ü€😀' }] } }]
    const ids: string[] = []
    for (const payload of payloads) {
      const id = uuid()
      ids.push(id)
      expect((await p.request({ type: 'publish', topic: 't', message: { id, payload } })).type).toBe('ack')
    }
    const got = await events(s, payloads.length)
    expect(got.map((e) => e.message)).toEqual(payloads.map((payload, i) => ({ id: ids[i], payload })))
  })

  test('request_id is any string, never checked as a UUID, and echoed exactly', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using p = await connect(server.ws)
    for (const request_id of ['uuid-optional', '', '  spaces  ', 'ü€😀', 'x'.repeat(500), '550e8400-e29b-41d4-a716-446655440000']) {
      p.send({ type: 'publish', topic: 't', message: { id: uuid(), payload: 1 }, request_id })
      expect(await p.next()).toMatchObject({ type: 'ack', request_id })
      p.send({ type: 'ping', request_id })
      expect(await p.next()).toMatchObject({ type: 'pong', request_id })
    }
  })
})

describe('a publish that fails leaves no trace', () => {
  test('a payload too deeply nested to serialize: an error reply, no stack, and no phantom seq or message count', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using s = await connect(server.ws)
    expect((await s.request({ type: 'subscribe', topic: 't', client_id: 's' })).type).toBe('ack')
    using p = await connect(server.ws)
    const depth = 100_000 // JSON.parse takes it; JSON.stringify overflows the stack
    p.sendRaw(`{"type":"publish","topic":"t","request_id":"deep","message":{"id":"${uuid()}","payload":${'['.repeat(depth)}${']'.repeat(depth)}}}`)
    const reply = await p.next(5000)
    expect(reply.request_id).toBe('deep')
    expect(JSON.stringify(reply)).not.toContain(' at ')
    expect((await p.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: 'next' } })).type).toBe('ack')
    const event = await s.nextOfType('event')
    if (reply.type === 'error') {
      // The failed publish must not consume a sequence number or count as published.
      expect(event).toMatchObject({ seq: 1, message: { payload: 'next' } })
      expect((await rest(server.http, 'GET', '/stats')).body.topics.t.messages).toBe(1)
    } else {
      expect(reply.type).toBe('ack')
      expect(event.seq).toBe(1)
    }
  })
})

describe('decision 6: fan-out and ordering', () => {
  test('each of several subscribers gets each message exactly once, in order; no cross-topic leak', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    expect(await server.createTopic('other')).toBe(201)
    const subs = await Promise.all(Array.from({ length: 5 }, () => connect(server.ws)))
    using onOther = await connect(server.ws)
    try {
      for (const [i, s] of subs.entries()) expect((await s.request({ type: 'subscribe', topic: 't', client_id: `s${i}` })).type).toBe('ack')
      expect((await onOther.request({ type: 'subscribe', topic: 'other', client_id: 'o' })).type).toBe('ack')
      using p = await connect(server.ws)
      const total = 300
      for (let i = 1; i <= total; i++) p.send({ type: 'publish', topic: 't', message: { id: uuid(), payload: i } })
      p.send({ type: 'publish', topic: 'other', message: { id: uuid(), payload: 'only other' } })
      for (const s of subs) {
        const got = await events(s, total)
        expect(got.map((e) => e.message.payload)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
        expect(got.every((e) => e.topic === 't')).toBe(true)
      }
      const other = await events(onOther, 1)
      expect(other[0]).toMatchObject({ topic: 'other', message: { payload: 'only other' } })
      // Nothing more arrives anywhere: each subscriber's inbox holds no extra events after a ping round trip.
      for (const s of [...subs, onOther]) {
        expect((await s.request({ type: 'ping' })).type).toBe('pong')
        expect(s.inbox.filter((f) => f.type === 'event' || f.type === 'error')).toEqual([])
      }
    } finally {
      for (const s of subs) s.close()
    }
  })

  test('concurrent publishers: every message once, each publisher\'s order preserved, seq strictly increasing', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using s1 = await connect(server.ws)
    using s2 = await connect(server.ws)
    for (const s of [s1, s2]) expect((await s.request({ type: 'subscribe', topic: 't', client_id: 's' })).type).toBe('ack')
    const publishers = await Promise.all(Array.from({ length: 4 }, () => connect(server.ws)))
    const perPublisher = 200
    try {
      // Interleave the sends so the server sees the publishers' frames mixed.
      for (let i = 0; i < perPublisher; i++)
        for (const [n, p] of publishers.entries()) p.send({ type: 'publish', topic: 't', message: { id: uuid(), payload: { from: n, i } } })
      const total = perPublisher * publishers.length
      for (const s of [s1, s2]) {
        const got = await events(s, total)
        expect(got.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
        for (let n = 0; n < publishers.length; n++)
          expect(got.filter((e) => e.message.payload.from === n).map((e) => e.message.payload.i)).toEqual(Array.from({ length: perPublisher }, (_, i) => i))
      }
      // Every publisher got one ack per publish.
      for (const p of publishers) await until(() => (p.inbox.filter((f) => f.type === 'ack').length === perPublisher ? true : undefined), 5000, 'all acks')
      expect((await rest(server.http, 'GET', '/stats')).body.topics.t.messages).toBe(total)
    } finally {
      for (const p of publishers) p.close()
    }
  })

  test('a publisher subscribed to the topic receives its own message', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using c = await connect(server.ws)
    expect((await c.request({ type: 'subscribe', topic: 't', client_id: 'me' })).type).toBe('ack')
    const id = uuid()
    c.send({ type: 'publish', topic: 't', message: { id, payload: 'mine' }, request_id: 'pub' })
    const frames = [await c.next(), await c.next()]
    expect(frames.find((f) => f.type === 'ack')).toMatchObject({ request_id: 'pub' })
    expect(frames.find((f) => f.type === 'event')).toMatchObject({ topic: 't', message: { id, payload: 'mine' } })
  })
})

describe('decision 7: seq', () => {
  test('each event carries its topic\'s sequence number 1, 2, 3, … per topic, seed fields unchanged', async () => {
    await using server = startServer()
    expect(await server.createTopic('a')).toBe(201)
    expect(await server.createTopic('b')).toBe(201)
    using s = await connect(server.ws)
    for (const t of ['a', 'b']) expect((await s.request({ type: 'subscribe', topic: t, client_id: 's' })).type).toBe('ack')
    using p = await connect(server.ws)
    for (const t of ['a', 'a', 'b', 'a', 'b']) expect((await p.request({ type: 'publish', topic: t, message: { id: uuid(), payload: t } })).type).toBe('ack')
    const got = await events(s, 5)
    expect(got.map((e) => `${e.topic}${e.seq}`)).toEqual(['a1', 'a2', 'b1', 'a3', 'b2'])
    for (const e of got) expect(Object.keys(e).sort()).toEqual(['message', 'seq', 'topic', 'ts', 'type'])
  })
})

describe('decisions 11 and 14: ts on every frame, nothing on connect', () => {
  test('no frame is sent on connect', async () => {
    await using server = startServer()
    using c = await connect(server.ws)
    // A ping round trip: the pong is the first and only frame.
    c.send({ type: 'ping', request_id: 'first' })
    expect(await c.next(3000, true)).toMatchObject({ type: 'pong', request_id: 'first' })
    expect(c.inbox).toEqual([])
  })

  test('ack, event, error, pong and info frames all carry ts in ISO-8601 UTC with Z', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using c = await connect(server.ws)
    const frames: Frame[] = []
    frames.push(await c.request({ type: 'subscribe', topic: 't', client_id: 'c' }))
    frames.push(await c.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: 1 } }))
    frames.push(await c.nextOfType('event'))
    frames.push(await c.request({ type: 'ping' }))
    frames.push(await c.request({ type: 'publish', topic: 'missing', message: { id: uuid(), payload: 1 } }))
    frames.push(await c.request({ type: 'nope' }))
    expect((await rest(server.http, 'DELETE', '/topics/t')).status).toBe(200)
    frames.push(await c.nextOfType('info'))
    expect(frames.map((f) => f.type)).toEqual(['ack', 'ack', 'event', 'pong', 'error', 'error', 'info'])
    for (const f of frames) {
      expect(f.ts).toMatch(TS)
      expect(Math.abs(Date.parse(f.ts) - Date.now())).toBeLessThan(60_000)
    }
  })
})
