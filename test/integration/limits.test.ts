import { describe, expect, test } from 'bun:test'
import { rawConnect } from '../helpers/raw-ws'
import { startServer } from '../helpers/server'
import { connect, uuid } from '../helpers/ws-client'
import { until, within } from '../helpers/wait'

describe('limits', () => {
  test('MAX_PAYLOAD_BYTES: a larger ws frame closes with 1009; a larger REST body gets 413; others unaffected', async () => {
    await using server = startServer({ maxPayloadBytes: 1024 })
    expect(await server.createTopic('t')).toBe(201)
    using bystander = await connect(server.ws)
    expect((await bystander.request({ type: 'subscribe', topic: 't', client_id: 'b' })).type).toBe('ack')

    using big = await connect(server.ws)
    big.sendRaw(JSON.stringify({ type: 'ping', pad: 'x'.repeat(2000) }))
    expect((await within(big.closed, 3000, 'close')).code).toBe(1009)

    const res = await fetch(`${server.http}/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x'.repeat(10), pad: 'y'.repeat(5000) }) })
    expect(res.status).toBe(413)
    await res.body?.cancel()

    using publisher = await connect(server.ws)
    expect((await publisher.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: 1 } })).type).toBe('ack')
    expect((await bystander.nextOfType('event')).message.payload).toBe(1)
  })

  test('MAX_TOPICS: POST past the limit gets 429 LIMIT_EXCEEDED; deleting one makes room', async () => {
    await using server = startServer({ maxTopics: 2 })
    expect(await server.createTopic('a')).toBe(201)
    expect(await server.createTopic('b')).toBe(201)
    const res = await fetch(`${server.http}/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"c"}' })
    expect(res.status).toBe(429)
    expect(((await res.json()) as any).error.code).toBe('LIMIT_EXCEEDED')
    expect((await fetch(`${server.http}/topics/a`, { method: 'DELETE' })).status).toBe(200)
    expect(await server.createTopic('c')).toBe(201)
  })

  test('MAX_SUBSCRIPTIONS_PER_CONNECTION: one more gets LIMIT_EXCEEDED; re-subscribing and other connections are fine', async () => {
    await using server = startServer({ maxSubscriptionsPerConnection: 2 })
    for (const t of ['a', 'b', 'c']) expect(await server.createTopic(t)).toBe(201)
    using c = await connect(server.ws)
    expect((await c.request({ type: 'subscribe', topic: 'a', client_id: 'x' })).type).toBe('ack')
    expect((await c.request({ type: 'subscribe', topic: 'b', client_id: 'x' })).type).toBe('ack')
    const refused = await c.request({ type: 'subscribe', topic: 'c', client_id: 'x' })
    expect(refused.type).toBe('error')
    expect(refused.error.code).toBe('LIMIT_EXCEEDED')
    expect((await c.request({ type: 'subscribe', topic: 'a', client_id: 'x' })).type).toBe('ack')
    using other = await connect(server.ws)
    expect((await other.request({ type: 'subscribe', topic: 'c', client_id: 'y' })).type).toBe('ack')
    const health = (await (await fetch(`${server.http}/health`)).json()) as any
    expect(health.subscribers).toBe(3)
  })

  test('MAX_CONNECTIONS: the upgrade past the limit gets HTTP 503; a freed slot is reusable', async () => {
    await using server = startServer({ maxConnections: 2 })
    const a = await connect(server.ws)
    using b = await connect(server.ws)
    await expect(rawConnect(server.port)).rejects.toThrow('HTTP/1.1 503')
    a.close()
    await until(async () => (((await (await fetch(`${server.http}/health`)).json()) as any).connections === 1 ? true : undefined), 3000, 'connections back to 1')
    using c = await connect(server.ws)
    expect((await c.request({ type: 'ping' })).type).toBe('pong')
    expect((await b.request({ type: 'ping' })).type).toBe('pong')
  })

  test('ALLOWED_ORIGINS: another origin gets 403 before the upgrade; a listed origin and no origin are let in', async () => {
    await using server = startServer({ allowedOrigins: 'https://app.example.com, https://admin.example.com' })
    await expect(rawConnect(server.port, '/ws', 'Origin: https://evil.example.com\r\n')).rejects.toThrow('HTTP/1.1 403')
    const ok = await rawConnect(server.port, '/ws', 'Origin: https://admin.example.com\r\n')
    ok.destroy()
    const none = await rawConnect(server.port)
    none.destroy()
  })
})

describe('rate limit', () => {
  test('frames over the bucket get RATE_LIMITED with request_id and are not executed; the connection stays open', async () => {
    await using server = startServer({ rateLimitPerSec: 2, rateLimitBurst: 5 })
    expect(await server.createTopic('t')).toBe(201)
    using c = await connect(server.ws)
    for (let i = 0; i < 20; i++) c.send({ type: 'publish', topic: 't', message: { id: uuid(), payload: i }, request_id: `p${i}` })
    const replies = []
    for (let i = 0; i < 20; i++) replies.push(await c.next())
    expect(replies.map((r) => r.request_id)).toEqual(Array.from({ length: 20 }, (_, i) => `p${i}`))
    const acks = replies.filter((r) => r.type === 'ack').length
    const limited = replies.filter((r) => r.type === 'error' && r.error.code === 'RATE_LIMITED').length
    expect(acks + limited).toBe(20)
    expect(acks).toBeGreaterThanOrEqual(5)
    expect(limited).toBeGreaterThan(0)
    // Refused publishes were not executed.
    const stats = (await (await fetch(`${server.http}/stats`)).json()) as any
    expect(stats.topics.t.messages).toBe(acks)
    // A burst does not close the connection: once tokens refill, it is served.
    const pong = await until(async () => {
      const r = await c.request({ type: 'ping' })
      return r.type === 'pong' ? r : undefined
    }, 5000, 'a pong after the burst')
    expect(pong.type).toBe('pong')
  })

  test('sustained abuse closes the connection with 4429', async () => {
    await using server = startServer({ rateLimitPerSec: 1, rateLimitBurst: 1, rateLimitCloseAfterMs: 1000 })
    using c = await connect(server.ws)
    let closed = false
    c.closed.then(() => (closed = true))
    const deadline = performance.now() + 5000
    while (!closed && performance.now() < deadline) {
      c.send({ type: 'ping' })
      await Promise.race([c.closed, Bun.sleep(20)]) // pacing the abuse, not synchronizing
    }
    const { code } = await within(c.closed, 1000, 'close')
    expect(code).toBe(4429)
    expect(c.inbox.some((f) => f.type === 'error' && f.error.code === 'RATE_LIMITED')).toBe(true)
  })
})
