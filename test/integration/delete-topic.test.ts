import { describe, expect, test } from 'bun:test'
import { TS, rest } from '../helpers/http'
import { startServer } from '../helpers/server'
import { connect, uuid } from '../helpers/ws-client'

describe('decision 9: DELETE /topics/{name}', () => {
  test('every subscriber gets info topic_deleted, after what was published before; sockets stay open; subscriptions removed', async () => {
    await using server = startServer()
    expect(await server.createTopic('orders')).toBe(201)
    expect(await server.createTopic('kept')).toBe(201)
    using a = await connect(server.ws)
    using b = await connect(server.ws)
    using bystander = await connect(server.ws)
    for (const c of [a, b]) expect((await c.request({ type: 'subscribe', topic: 'orders', client_id: 'x' })).type).toBe('ack')
    expect((await b.request({ type: 'subscribe', topic: 'kept', client_id: 'x' })).type).toBe('ack')
    expect((await bystander.request({ type: 'subscribe', topic: 'kept', client_id: 'y' })).type).toBe('ack')
    using p = await connect(server.ws)
    expect((await p.request({ type: 'publish', topic: 'orders', message: { id: uuid(), payload: 'last words' } })).type).toBe('ack')

    const deleted = await rest(server.http, 'DELETE', '/topics/orders')
    expect(deleted).toMatchObject({ status: 200, body: { status: 'deleted', topic: 'orders' } })

    for (const c of [a, b]) {
      expect(await c.next()).toMatchObject({ type: 'event', topic: 'orders', message: { payload: 'last words' } })
      const info = await c.next()
      expect(Object.keys(info).sort()).toEqual(['msg', 'topic', 'ts', 'type'])
      expect(info).toMatchObject({ type: 'info', topic: 'orders', msg: 'topic_deleted' })
      expect(info.ts).toMatch(TS)
      // The socket stays open and usable.
      expect((await c.request({ type: 'ping' })).type).toBe('pong')
    }
    expect((await bystander.request({ type: 'ping' })).type).toBe('pong')
    expect(bystander.inbox).toEqual([])

    // Subscriptions to the deleted topic are gone; others remain.
    expect((await rest(server.http, 'GET', '/health')).body).toMatchObject({ topics: 1, subscribers: 2 })
    expect((await rest(server.http, 'GET', '/topics')).body).toEqual({ topics: [{ name: 'kept', subscribers: 2 }] })

    // The topic no longer exists for any operation.
    for (const frame of [
      { type: 'publish', topic: 'orders', message: { id: uuid(), payload: 'too late' } },
      { type: 'subscribe', topic: 'orders', client_id: 'x' },
      { type: 'unsubscribe', topic: 'orders', client_id: 'x' },
    ])
      expect((await a.request(frame)).error.code).toBe('TOPIC_NOT_FOUND')
    expect((await rest(server.http, 'GET', '/stats')).body.topics.orders).toBeUndefined()

    // Re-created with the same name, it starts empty: old subscribers are not subscribed, seq restarts.
    expect(await server.createTopic('orders')).toBe(201)
    using fresh = await connect(server.ws)
    expect((await fresh.request({ type: 'subscribe', topic: 'orders', client_id: 'f', last_n: 10 })).type).toBe('ack')
    expect((await p.request({ type: 'publish', topic: 'orders', message: { id: uuid(), payload: 'reborn' } })).type).toBe('ack')
    expect(await fresh.next()).toMatchObject({ type: 'event', seq: 1, message: { payload: 'reborn' } })
    for (const c of [a, b]) {
      expect((await c.request({ type: 'ping' })).type).toBe('pong')
      expect(c.inbox.filter((f) => f.type === 'event')).toEqual([])
    }
  })
})
