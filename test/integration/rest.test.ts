import { describe, expect, test } from 'bun:test'
import { rest } from '../helpers/http'
import { startServer } from '../helpers/server'
import { connect, uuid } from '../helpers/ws-client'

describe('REST (decisions 12, 13)', () => {
  test('POST /topics: 201 {"status":"created","topic"}; again 409 TOPIC_EXISTS', async () => {
    await using server = startServer()
    const created = await rest(server.http, 'POST', '/topics', { json: { name: 'orders' } })
    expect(created.status).toBe(201)
    expect(created.body).toEqual({ status: 'created', topic: 'orders' })
    expect(created.headers.get('content-type')).toContain('application/json')
    const again = await rest(server.http, 'POST', '/topics', { json: { name: 'orders' } })
    expect(again.status).toBe(409)
    expect(again.body).toEqual({ error: { code: 'TOPIC_EXISTS', message: expect.any(String) } })
    expect(again.body.error.message).toContain('orders')
  })

  test('POST /topics with an invalid body or name: 400 BAD_REQUEST with a short message, not a validation dump', async () => {
    await using server = startServer()
    const cases = [
      { json: {} },
      { json: { name: '' } },
      { json: { name: 'has space' } },
      { json: { name: 'x'.repeat(201) } },
      { json: { name: 5 } },
      { json: ['orders'] },
      { body: '{"name":', headers: { 'content-type': 'application/json' } },
    ]
    for (const c of cases) {
      const reply = await rest(server.http, 'POST', '/topics', c)
      expect(reply.status).toBe(400)
      expect(Object.keys(reply.body)).toEqual(['error'])
      expect(Object.keys(reply.body.error).sort()).toEqual(['code', 'message'])
      expect(reply.body.error.code).toBe('BAD_REQUEST')
      expect(reply.body.error.message.length).toBeLessThan(200)
      expect(JSON.stringify(reply.body)).not.toContain('    at ') // no stack trace
    }
    expect((await rest(server.http, 'GET', '/topics')).body).toEqual({ topics: [] })
  })

  test('POST /topics with a body not sent as JSON (e.g. curl -d without the JSON content type) says so', async () => {
    await using server = startServer()
    for (const c of [
      { body: '{"name":"orders"}', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      { body: '{"name":"orders"}', headers: { 'content-type': 'text/plain' } },
    ]) {
      const reply = await rest(server.http, 'POST', '/topics', c)
      expect(reply.status).toBe(400)
      expect(reply.body.error).toEqual({ code: 'BAD_REQUEST', message: 'body must be a JSON object, sent with Content-Type: application/json' })
    }
  })

  test('DELETE /topics/{name}: 200 {"status":"deleted","topic"}; again 404 TOPIC_NOT_FOUND; bad name 400', async () => {
    await using server = startServer()
    expect(await server.createTopic('orders')).toBe(201)
    const deleted = await rest(server.http, 'DELETE', '/topics/orders')
    expect(deleted.status).toBe(200)
    expect(deleted.body).toEqual({ status: 'deleted', topic: 'orders' })
    const missing = await rest(server.http, 'DELETE', '/topics/orders')
    expect(missing.status).toBe(404)
    expect(missing.body).toEqual({ error: { code: 'TOPIC_NOT_FOUND', message: "Topic 'orders' does not exist" } })
    const bad = await rest(server.http, 'DELETE', '/topics/has%20space')
    expect(bad.status).toBe(400)
    expect(bad.body.error.code).toBe('BAD_REQUEST')
  })

  test('GET /topics lists every topic with its subscriber count', async () => {
    await using server = startServer()
    expect(await server.createTopic('orders')).toBe(201)
    expect(await server.createTopic('notifications')).toBe(201)
    using a = await connect(server.ws)
    using b = await connect(server.ws)
    expect((await a.request({ type: 'subscribe', topic: 'orders', client_id: 'a' })).type).toBe('ack')
    expect((await b.request({ type: 'subscribe', topic: 'orders', client_id: 'b' })).type).toBe('ack')
    expect((await b.request({ type: 'subscribe', topic: 'notifications', client_id: 'b' })).type).toBe('ack')
    const list = await rest(server.http, 'GET', '/topics')
    expect(list.status).toBe(200)
    expect(Object.keys(list.body)).toEqual(['topics'])
    const byName = Object.fromEntries(list.body.topics.map((t: any) => [t.name, t]))
    expect(list.body.topics).toHaveLength(2)
    expect(byName.orders).toEqual({ name: 'orders', subscribers: 2 })
    expect(byName.notifications).toEqual({ name: 'notifications', subscribers: 1 })
  })

  test('/health: uptime_sec, topics and subscribers (all subscriptions) as integers', async () => {
    await using server = startServer()
    let health = await rest(server.http, 'GET', '/health')
    expect(health.status).toBe(200)
    // (Checked before any toMatchObject: Bun 1.4.5's toMatchObject writes asymmetric matchers into the received object.)
    expect(Number.isInteger(health.body.uptime_sec)).toBe(true)
    expect(health.body).toMatchObject({ topics: 0, subscribers: 0 })
    expect(health.body.uptime_sec).toBeGreaterThanOrEqual(0)
    expect(await server.createTopic('a')).toBe(201)
    expect(await server.createTopic('b')).toBe(201)
    using c1 = await connect(server.ws)
    using c2 = await connect(server.ws)
    for (const [c, t] of [[c1, 'a'], [c1, 'b'], [c2, 'a']] as const) expect((await c.request({ type: 'subscribe', topic: t, client_id: 'x' })).type).toBe('ack')
    health = await rest(server.http, 'GET', '/health')
    expect(health.body).toMatchObject({ topics: 2, subscribers: 3 })
    expect((await c1.request({ type: 'unsubscribe', topic: 'b', client_id: 'x' })).type).toBe('ack')
    expect((await rest(server.http, 'GET', '/health')).body).toMatchObject({ topics: 2, subscribers: 2 })
  })

  test('/stats: per topic, messages published since creation and current subscribers', async () => {
    await using server = startServer({ historySize: 2 })
    expect(await server.createTopic('orders')).toBe(201)
    expect(await server.createTopic('quiet')).toBe(201)
    using c = await connect(server.ws)
    expect((await c.request({ type: 'subscribe', topic: 'orders', client_id: 'c' })).type).toBe('ack')
    for (let i = 0; i < 5; i++) expect((await c.request({ type: 'publish', topic: 'orders', message: { id: uuid(), payload: i } })).type).toBe('ack')
    const stats = await rest(server.http, 'GET', '/stats')
    expect(stats.status).toBe(200)
    expect(Object.keys(stats.body)).toEqual(['topics'])
    expect(stats.body.topics.orders).toMatchObject({ messages: 5, subscribers: 1 }) // not capped by the history size
    expect(stats.body.topics.quiet).toMatchObject({ messages: 0, subscribers: 0 })
    // Deleting and re-creating starts the count again.
    expect((await rest(server.http, 'DELETE', '/topics/orders')).status).toBe(200)
    expect(await server.createTopic('orders')).toBe(201)
    expect((await rest(server.http, 'GET', '/stats')).body.topics.orders).toMatchObject({ messages: 0, subscribers: 0 })
  })

  test('an unknown route gets 404 with the error body', async () => {
    await using server = startServer()
    const reply = await rest(server.http, 'GET', '/nope')
    expect(reply.status).toBe(404)
    expect(reply.body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } })
  })

  test('a body larger than MAX_PAYLOAD_BYTES is refused with 413 and the server keeps serving', async () => {
    await using server = startServer({ maxPayloadBytes: 1024 })
    const reply = await rest(server.http, 'POST', '/topics', { json: { name: 'big', pad: 'x'.repeat(4096) } })
    expect(reply.status).toBe(413)
    expect((await rest(server.http, 'GET', '/topics')).body).toEqual({ topics: [] })
    expect(await server.createTopic('small')).toBe(201)
  })

  test('topic names that are also Object.prototype keys are ordinary topics everywhere', async () => {
    await using server = startServer()
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty']
    for (const name of names) expect(await server.createTopic(name)).toBe(201)
    expect((await rest(server.http, 'GET', '/topics')).body.topics.map((t: any) => t.name).sort()).toEqual([...names].sort())
    const stats = await rest(server.http, 'GET', '/stats')
    expect(stats.status).toBe(200)
    // Parsed with a reviver-free JSON.parse, '__proto__' is an own key of the result.
    expect(Object.keys(stats.body.topics).sort()).toEqual([...names].sort())
    for (const name of names) expect(stats.body.topics[name] === undefined ? undefined : Object.hasOwn(stats.body.topics, name)).toBe(true)
    using c = await connect(server.ws)
    for (const name of names) {
      expect((await c.request({ type: 'subscribe', topic: name, client_id: 'c' })).type).toBe('ack')
      expect((await c.request({ type: 'publish', topic: name, message: { id: uuid(), payload: name } })).type).toBe('ack')
    }
    expect((await rest(server.http, 'GET', '/health')).body.subscribers).toBe(4)
    for (const name of names) expect((await rest(server.http, 'DELETE', `/topics/${name}`)).status).toBe(200)
    expect((await rest(server.http, 'GET', '/topics')).body).toEqual({ topics: [] })
  })
})
