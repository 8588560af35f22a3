/**
 * Presence over real sockets (port 0, Bun's WebSocket): GET /topics/{name}/subscribers
 * and the join/leave info frames of subscriptions made with presence: true.
 */
import { describe, expect, test } from 'bun:test'
import { rest } from '../helpers/http'
import { startServer } from '../helpers/server'
import { type TestClient, connect } from '../helpers/ws-client'

/** Takes the next presence frame (join or leave) of `topic`; other frames stay in the inbox. */
async function nextPresence(client: TestClient, ms = 3000) {
  const frame = await client.nextOfType('info', ms)
  return { msg: frame.msg, topic: frame.topic, client_id: frame.client_id, ts: frame.ts }
}

describe('presence', () => {
  test('GET /topics/{name}/subscribers lists each client_id once with its connections, sorted, and the exact total; 404 for an unknown topic', async () => {
    await using server = startServer()
    await server.createTopic('room')
    const clients = await Promise.all(['bob', 'alice', 'bob', 'carol'].map(() => connect(server.ws)))
    const ids = ['bob', 'alice', 'bob', 'carol']
    for (const [i, c] of clients.entries()) expect(await c.request({ type: 'subscribe', topic: 'room', client_id: ids[i] })).toMatchObject({ type: 'ack' })
    const res = await rest(server.http, 'GET', '/topics/room/subscribers')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({
      topic: 'room',
      subscribers: [
        { client_id: 'alice', connections: 1 },
        { client_id: 'bob', connections: 2 },
        { client_id: 'carol', connections: 1 },
      ],
      total: 3,
    })
    // An unsubscribe counts at once.
    await clients[0]!.request({ type: 'unsubscribe', topic: 'room', client_id: 'bob' })
    expect((await rest(server.http, 'GET', '/topics/room/subscribers')).body.subscribers).toContainEqual({ client_id: 'bob', connections: 1 })
    expect((await rest(server.http, 'GET', '/topics/nope/subscribers')).status).toBe(404)
    expect((await rest(server.http, 'GET', '/topics/bad%20name/subscribers')).status).toBe(400)
    for (const c of clients) c.close()
  })

  test('the list is cut at PRESENCE_LIST_MAX (the first client_ids), total stays exact', async () => {
    await using server = startServer({ presenceListMax: 2 })
    await server.createTopic('big')
    const others = await Promise.all(['d', 'b', 'a', 'c', 'e'].map(() => connect(server.ws)))
    for (const [i, o] of others.entries()) await o.request({ type: 'subscribe', topic: 'big', client_id: ['d', 'b', 'a', 'c', 'e'][i] })
    const body = (await rest(server.http, 'GET', '/topics/big/subscribers')).body
    expect(body).toEqual({ topic: 'big', subscribers: [{ client_id: 'a', connections: 1 }, { client_id: 'b', connections: 1 }], total: 5 })
    expect((await rest(server.http, 'GET', '/topics/big/subscribers')).body.total).toBe(5)
    for (const o of others) o.close()
  })

  test('the REST route needs the API key like the others', async () => {
    await using server = startServer({ apiKey: 'k3y' })
    expect(await server.createTopic('room', { 'x-api-key': 'k3y' })).toBe(201)
    expect((await rest(server.http, 'GET', '/topics/room/subscribers')).status).toBe(401)
    expect((await rest(server.http, 'GET', '/topics/room/subscribers', { headers: { 'x-api-key': 'k3y' } })).body).toEqual({ topic: 'room', subscribers: [], total: 0 })
  })

  test('presence: true gets join and leave in order: its own join after the ack, one join and one leave for a client_id with two connections', async () => {
    await using server = startServer()
    await server.createTopic('room')
    using watcher = await connect(server.ws)
    expect(await watcher.request({ type: 'subscribe', topic: 'room', client_id: 'w', presence: true })).toMatchObject({ type: 'ack', topic: 'room' })
    expect(await nextPresence(watcher)).toMatchObject({ msg: 'join', topic: 'room', client_id: 'w', ts: expect.stringMatching(/Z$/) })
    using a1 = await connect(server.ws)
    using a2 = await connect(server.ws)
    using b = await connect(server.ws)
    await a1.request({ type: 'subscribe', topic: 'room', client_id: 'alice' })
    await a2.request({ type: 'subscribe', topic: 'room', client_id: 'alice' })
    await b.request({ type: 'subscribe', topic: 'room', client_id: 'bob' })
    expect(await nextPresence(watcher)).toMatchObject({ msg: 'join', client_id: 'alice' })
    expect(await nextPresence(watcher)).toMatchObject({ msg: 'join', client_id: 'bob' })
    // alice's first connection goes: she is still there. Then bob unsubscribes, then alice's last connection closes.
    a1.close()
    await a1.closed
    await b.request({ type: 'unsubscribe', topic: 'room', client_id: 'bob' })
    expect(await nextPresence(watcher)).toMatchObject({ msg: 'leave', client_id: 'bob' })
    a2.close()
    expect(await nextPresence(watcher)).toMatchObject({ msg: 'leave', client_id: 'alice' })
    // Nothing else arrived: the second connection of alice made no join, the first no leave.
    await watcher.request({ type: 'ping' })
    expect(watcher.inbox.filter((f) => f.type === 'info' && f.msg !== 'ping')).toEqual([])
  })

  test('without presence: true a subscription gets no join or leave', async () => {
    await using server = startServer()
    await server.createTopic('room')
    using plain = await connect(server.ws)
    using watcher = await connect(server.ws)
    await plain.request({ type: 'subscribe', topic: 'room', client_id: 'p' })
    await watcher.request({ type: 'subscribe', topic: 'room', client_id: 'w', presence: true })
    expect(await nextPresence(watcher)).toMatchObject({ msg: 'join', client_id: 'w' })
    using other = await connect(server.ws)
    await other.request({ type: 'subscribe', topic: 'room', client_id: 'o' })
    await other.request({ type: 'unsubscribe', topic: 'room', client_id: 'o' })
    // The watcher saw both (so they were sent), the plain subscription neither.
    expect(await nextPresence(watcher)).toMatchObject({ msg: 'join', client_id: 'o' })
    expect(await nextPresence(watcher)).toMatchObject({ msg: 'leave', client_id: 'o' })
    await plain.request({ type: 'ping' })
    expect(plain.inbox.filter((f) => f.type === 'info' && f.msg !== 'ping')).toEqual([])
  })

  test('re-subscribing with another client_id is a leave of the old and a join of the new; a deleted topic sends topic_deleted, no leaves', async () => {
    await using server = startServer()
    await server.createTopic('room')
    using watcher = await connect(server.ws)
    await watcher.request({ type: 'subscribe', topic: 'room', client_id: 'w', presence: true })
    expect(await nextPresence(watcher)).toMatchObject({ msg: 'join', client_id: 'w' })
    using c = await connect(server.ws)
    await c.request({ type: 'subscribe', topic: 'room', client_id: 'old' })
    expect(await nextPresence(watcher)).toMatchObject({ msg: 'join', client_id: 'old' })
    await c.request({ type: 'subscribe', topic: 'room', client_id: 'new' })
    expect(await nextPresence(watcher)).toMatchObject({ msg: 'leave', client_id: 'old' })
    expect(await nextPresence(watcher)).toMatchObject({ msg: 'join', client_id: 'new' })
    expect((await rest(server.http, 'GET', '/topics/room/subscribers')).body.subscribers.map((s: any) => s.client_id)).toEqual(['new', 'w'])
    expect((await rest(server.http, 'DELETE', '/topics/room')).status).toBe(200)
    expect(await watcher.nextOfType('info')).toMatchObject({ msg: 'topic_deleted', topic: 'room' })
    await watcher.request({ type: 'ping' })
    expect(watcher.inbox.filter((f) => f.type === 'info' && f.msg !== 'ping')).toEqual([])
    // A new topic of the same name starts with nobody present.
    await server.createTopic('room')
    expect((await rest(server.http, 'GET', '/topics/room/subscribers')).body).toEqual({ topic: 'room', subscribers: [], total: 0 })
  })

  test('presence must be a boolean', async () => {
    await using server = startServer()
    await server.createTopic('room')
    using c = await connect(server.ws)
    const reply = await c.request({ type: 'subscribe', topic: 'room', client_id: 'x', presence: 'yes' })
    expect(reply).toMatchObject({ type: 'error', error: { code: 'BAD_REQUEST', message: expect.stringContaining('presence must be a boolean') } })
  })
})
