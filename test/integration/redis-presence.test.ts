/**
 * Presence over several instances on one redis-server that this file starts
 * (ENGINE=redis): the REST list counts every instance's client_ids, join/leave
 * travel between instances (a client_id on two instances joins once and leaves
 * once), and a SIGKILLed instance's client_ids leave within the expiry.
 * Skipped without redis-server (fails when CI is set).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import Redis from 'ioredis'
import { requireExternal } from '../helpers/external'
import { rest } from '../helpers/http'
import { REDIS_HOW_TO, type TestRedis, redisAvailable, startRedis, uniquePrefix } from '../helpers/redis-server'
import { type TestServer, startServer } from '../helpers/server'
import { spawnServer } from '../helpers/spawn'
import { until } from '../helpers/wait'
import { type TestClient, connect } from '../helpers/ws-client'

async function nextPresence(client: TestClient, ms = 5000) {
  const frame = await client.nextOfType('info', ms)
  return { msg: frame.msg, client_id: frame.client_id }
}

if (requireExternal('redis-server', redisAvailable, REDIS_HOW_TO))
  describe('presence on two instances (ENGINE=redis)', () => {
    let redis: TestRedis
    beforeAll(async () => {
      redis = await startRedis()
    })
    afterAll(async () => {
      await redis[Symbol.asyncDispose]()
    })

    function pair() {
      const prefix = uniquePrefix('presence')
      const servers = ['a', 'b'].map((id) => startServer({ engine: 'redis', redisUrl: redis.url, redisPrefix: prefix, instanceId: id }))
      return {
        prefix,
        servers: servers as [TestServer, TestServer],
        async [Symbol.asyncDispose]() {
          await Promise.all(servers.map((s) => s.shutdown()))
        },
      }
    }

    test('GET /topics/{name}/subscribers on either instance lists both instances’ client_ids with their connections summed', async () => {
      await using p = pair()
      const [a, b] = p.servers
      expect(await a.createTopic('room')).toBe(201)
      const on = [a, a, b, b]
      const ids = ['alice', 'bob', 'bob', 'carol']
      const clients = await Promise.all(on.map((s) => connect(s.ws)))
      for (const [i, c] of clients.entries()) expect(await c.request({ type: 'subscribe', topic: 'room', client_id: ids[i] })).toMatchObject({ type: 'ack' })
      const expected = {
        topic: 'room',
        subscribers: [
          { client_id: 'alice', connections: 1 },
          { client_id: 'bob', connections: 2 },
          { client_id: 'carol', connections: 1 },
        ],
        total: 3,
      }
      // Written through at once: both instances' lists are complete as soon as the subscribes are acknowledged.
      for (const s of [a, b]) expect((await rest(s.http, 'GET', '/topics/room/subscribers')).body).toEqual(expected)
      clients[3]!.close()
      await until(async () => ((await rest(a.http, 'GET', '/topics/room/subscribers')).body.total === 2 ? true : undefined), 5000, 'carol to leave the list on a')
      expect((await rest(b.http, 'GET', '/topics/nope/subscribers')).status).toBe(404)
      for (const c of clients) c.close()
    })

    test('join/leave travel between instances; a client_id subscribed on both instances joins once and leaves once', async () => {
      await using p = pair()
      const [a, b] = p.servers
      expect(await a.createTopic('room')).toBe(201)
      using watcher = await connect(a.ws)
      await watcher.request({ type: 'subscribe', topic: 'room', client_id: 'w', presence: true })
      expect(await nextPresence(watcher)).toEqual({ msg: 'join', client_id: 'w' })
      using onB = await connect(b.ws)
      await onB.request({ type: 'subscribe', topic: 'room', client_id: 'alice' })
      expect(await nextPresence(watcher)).toEqual({ msg: 'join', client_id: 'alice' })
      // alice also on a: already present, no second join.
      using onA = await connect(a.ws)
      await onA.request({ type: 'subscribe', topic: 'room', client_id: 'alice' })
      onB.close()
      await onB.closed
      using bob = await connect(b.ws)
      await bob.request({ type: 'subscribe', topic: 'room', client_id: 'bob' })
      expect(await nextPresence(watcher)).toEqual({ msg: 'join', client_id: 'bob' })
      onA.close()
      expect(await nextPresence(watcher)).toEqual({ msg: 'leave', client_id: 'alice' })
      // A watcher on b sees a's client_ids too (its view was loaded before its ack).
      using watcherB = await connect(b.ws)
      await watcherB.request({ type: 'subscribe', topic: 'room', client_id: 'w2', presence: true })
      expect(await nextPresence(watcherB)).toEqual({ msg: 'join', client_id: 'w2' })
      expect(await nextPresence(watcher)).toEqual({ msg: 'join', client_id: 'w2' })
      await bob.request({ type: 'unsubscribe', topic: 'room', client_id: 'bob' })
      expect(await nextPresence(watcher)).toEqual({ msg: 'leave', client_id: 'bob' })
      expect(await nextPresence(watcherB)).toEqual({ msg: 'leave', client_id: 'bob' })
      await watcher.request({ type: 'ping' })
      expect(watcher.inbox.filter((f) => f.type === 'info' && f.msg !== 'ping')).toEqual([])
    })

    test('a presence subscribe that fails (unknown topic) leaves no presence channel subscribed behind', async () => {
      await using p = pair()
      const [a] = p.servers
      using c = await connect(a.ws)
      for (let i = 0; i < 3; i++)
        expect(await c.request({ type: 'subscribe', topic: 'nope', client_id: 'x', presence: true })).toMatchObject({ type: 'error', error: { code: 'TOPIC_NOT_FOUND' } })
      const probe = new Redis(redis.url)
      try {
        const channel = `${p.prefix}:presence:nope`
        await until(async () => ((await probe.pubsub('NUMSUB', channel))[1] === 0 ? true : undefined), 5000, 'the presence channel to be unsubscribed')
        // A real presence subscribe does subscribe it (so the probe above can see one).
        expect(await a.createTopic('yes')).toBe(201)
        await c.request({ type: 'subscribe', topic: 'yes', client_id: 'x', presence: true })
        expect((await probe.pubsub('NUMSUB', `${p.prefix}:presence:yes`))[1]).toBe(1)
      } finally {
        probe.disconnect()
      }
    })

    test('an instance SIGKILLed: watchers elsewhere get its client_ids’ leaves, and the list drops them, within the expiry (10 s)', async () => {
      const prefix = uniquePrefix('presence-kill')
      const env = (id: string) => ({ ENGINE: 'redis', REDIS_URL: redis.url, REDIS_PREFIX: prefix, INSTANCE_ID: id })
      await using a = await spawnServer({ env: env('a') })
      await using b = await spawnServer({ env: env('b') })
      expect((await rest(a.http, 'POST', '/topics', { json: { name: 'room' } })).status).toBe(201)
      using watcher = await connect(a.ws)
      await watcher.request({ type: 'subscribe', topic: 'room', client_id: 'w', presence: true })
      expect(await nextPresence(watcher)).toEqual({ msg: 'join', client_id: 'w' })
      using doomed = await connect(b.ws)
      await doomed.request({ type: 'subscribe', topic: 'room', client_id: 'doomed' })
      expect(await nextPresence(watcher)).toEqual({ msg: 'join', client_id: 'doomed' })
      const killedAt = performance.now()
      b.proc.kill('SIGKILL')
      await b.exited
      expect(await nextPresence(watcher, 15_000)).toEqual({ msg: 'leave', client_id: 'doomed' })
      expect(performance.now() - killedAt).toBeLessThan(14_000)
      expect((await rest(a.http, 'GET', '/topics/room/subscribers')).body).toEqual({ topic: 'room', subscribers: [{ client_id: 'w', connections: 1 }], total: 1 })
    }, 30_000)
  })
