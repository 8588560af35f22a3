/**
 * REST for a topic's messages over real sockets: publishing over HTTP reaches
 * WebSocket subscribers as the same event frame, and the history API returns
 * what `last_n` would replay, with the topic's epoch and seq.
 */
import { describe, expect, test } from 'bun:test'
import { rest } from '../helpers/http'
import { startServer } from '../helpers/server'
import { connect, uuid } from '../helpers/ws-client'

describe('POST /topics/{name}/messages', () => {
  test('201 with topic, seq, epoch and id; subscribers get the same event frame as a WebSocket publish', async () => {
    await using server = startServer()
    expect(await server.createTopic('orders')).toBe(201)
    using sub = await connect(server.ws)
    const ack = await sub.request({ type: 'subscribe', topic: 'orders', client_id: 's' })
    const id = uuid()
    const reply = await rest(server.http, 'POST', '/topics/orders/messages', { json: { id, payload: { amount: 5 } } })
    expect(reply.status).toBe(201)
    expect(reply.body).toEqual({ topic: 'orders', seq: 1, epoch: ack.epoch, id })
    expect(await sub.nextOfType('event')).toMatchObject({ type: 'event', topic: 'orders', seq: 1, message: { id, payload: { amount: 5 } } })
    // Without an id, one is generated; a WebSocket publish continues the same seq.
    const generated = await rest(server.http, 'POST', '/topics/orders/messages', { json: { payload: 'x' } })
    expect(generated.body.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(generated.body.seq).toBe(2)
    using pub = await connect(server.ws)
    await pub.request({ type: 'publish', topic: 'orders', message: { id: uuid(), payload: 3 } })
    expect((await sub.nextOfType('event')).seq).toBe(2)
    expect((await sub.nextOfType('event')).seq).toBe(3)
  })

  test('404 for an unknown topic, 400 for a bad body or id, 413 past MAX_PAYLOAD_BYTES', async () => {
    await using server = startServer({ maxPayloadBytes: 1024 })
    expect(await server.createTopic('t')).toBe(201)
    expect((await rest(server.http, 'POST', '/topics/missing/messages', { json: { payload: 1 } })).body.error.code).toBe('TOPIC_NOT_FOUND')
    const badId = await rest(server.http, 'POST', '/topics/t/messages', { json: { id: 'nope', payload: 1 } })
    expect(badId.status).toBe(400)
    expect(badId.body.error.message).toBe('id must be a valid UUID')
    expect((await rest(server.http, 'POST', '/topics/t/messages', { body: 'not json', headers: { 'content-type': 'application/json' } })).status).toBe(400)
    expect((await rest(server.http, 'POST', '/topics/t/messages', { json: { payload: 'x'.repeat(2000) } })).status).toBe(413)
  })

  test('needs the API key like the other REST routes', async () => {
    await using server = startServer({ apiKey: 'k' })
    expect(await server.createTopic('t', { 'x-api-key': 'k' })).toBe(201)
    expect((await rest(server.http, 'POST', '/topics/t/messages', { json: { payload: 1 } })).status).toBe(401)
    expect((await rest(server.http, 'POST', '/topics/t/messages', { json: { payload: 1 }, headers: { 'x-api-key': 'k' } })).status).toBe(201)
    expect((await rest(server.http, 'GET', '/topics/t/messages')).status).toBe(401)
  })
})

describe('GET /topics/{name}/messages', () => {
  test('?last=K and ?since_seq=N&limit=K, oldest first, with epoch and seq; what last_n replays', async () => {
    await using server = startServer({ historySize: 5 })
    expect(await server.createTopic('t')).toBe(201)
    for (let i = 1; i <= 8; i++) expect((await rest(server.http, 'POST', '/topics/t/messages', { json: { payload: { i } } })).status).toBe(201)
    const newest = await rest(server.http, 'GET', '/topics/t/messages?last=3')
    expect(newest.status).toBe(200)
    expect(newest.body.seq).toBe(8)
    expect(typeof newest.body.epoch).toBe('string')
    expect(newest.body.messages.map((m: any) => [m.seq, m.payload.i])).toEqual([[6, 6], [7, 7], [8, 8]])
    expect(newest.body.messages[0]).toEqual({ seq: 6, id: expect.any(String), payload: { i: 6 }, ts: expect.stringMatching(/Z$/) })
    // Held: 4 … 8 (HISTORY_SIZE 5). since_seq=5 → 6, 7 with limit 2.
    expect((await rest(server.http, 'GET', '/topics/t/messages?since_seq=5&limit=2')).body.messages.map((m: any) => m.seq)).toEqual([6, 7])
    expect((await rest(server.http, 'GET', '/topics/t/messages?since_seq=0')).body.messages.map((m: any) => m.seq)).toEqual([4, 5, 6, 7, 8])
    expect((await rest(server.http, 'GET', '/topics/t/messages')).body.messages.length).toBe(5)
    using sub = await connect(server.ws)
    await sub.request({ type: 'subscribe', topic: 't', client_id: 's', last_n: 3 })
    const replayed = [await sub.nextOfType('event'), await sub.nextOfType('event'), await sub.nextOfType('event')]
    expect(replayed.map((e) => e.seq)).toEqual([6, 7, 8])
  })

  test('404 unknown topic; 400 for bad or conflicting parameters', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    expect((await rest(server.http, 'GET', '/topics/missing/messages')).status).toBe(404)
    for (const q of ['since_seq=-1', 'since_seq=1.5', 'since_seq=abc', 'limit=0&since_seq=0', 'limit=1001&since_seq=0', 'last=1001', 'last=2&since_seq=1', 'limit=5']) {
      const reply = await rest(server.http, 'GET', `/topics/t/messages?${q}`)
      expect({ q, status: reply.status, code: reply.body.error?.code }).toEqual({ q, status: 400, code: 'BAD_REQUEST' })
    }
  })
})

describe('a user token on the messages routes (issue 12)', () => {
  test('Bearer token: POST needs its publish patterns, GET its subscribe patterns; other REST routes still need the API key', async () => {
    const { HMAC_SECRET, hmacKey, mint } = await import('../helpers/tokens')
    await using server = startServer({ apiKey: 'admin', tokenHmacSecret: HMAC_SECRET })
    for (const name of ['orders.eu', 'payments']) expect(await server.createTopic(name, { 'x-api-key': 'admin' })).toBe(201)
    const token = await mint(hmacKey, { sub: 'alice', herald: { publish: ['orders.*'], subscribe: ['orders.>'] } })
    const auth = { authorization: `Bearer ${token}` }
    const posted = await rest(server.http, 'POST', '/topics/orders.eu/messages', { json: { payload: 1 }, headers: auth })
    expect(posted.status).toBe(201)
    expect(posted.body.seq).toBe(1)
    const page = await rest(server.http, 'GET', '/topics/orders.eu/messages?last=5', { headers: auth })
    expect(page.status).toBe(200)
    expect(page.body.messages.map((m: any) => m.payload)).toEqual([1])
    const forbidden = await rest(server.http, 'POST', '/topics/payments/messages', { json: { payload: 1 }, headers: auth })
    expect([forbidden.status, forbidden.body.error.code]).toEqual([403, 'FORBIDDEN'])
    expect((await rest(server.http, 'GET', '/topics/payments/messages', { headers: auth })).status).toBe(403)
    expect((await rest(server.http, 'GET', '/stats', { headers: { 'x-api-key': 'admin' } })).body.topics.payments.messages).toBe(0)
    // A bad token, and a token on an admin route: 401, the same body as a missing key.
    const bad = await rest(server.http, 'POST', '/topics/orders.eu/messages', { json: { payload: 1 }, headers: { authorization: 'Bearer nope' } })
    expect([bad.status, bad.body.error.code]).toEqual([401, 'UNAUTHORIZED'])
    expect((await rest(server.http, 'POST', '/topics', { json: { name: 'x' }, headers: auth })).status).toBe(401)
    expect((await rest(server.http, 'DELETE', '/topics/orders.eu', { headers: auth })).status).toBe(401)
    expect((await rest(server.http, 'GET', '/stats', { headers: auth })).status).toBe(401)
  })
})
