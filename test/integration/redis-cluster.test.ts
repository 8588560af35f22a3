/**
 * Three herald instances (in this process, on port 0) on one redis-server that
 * this file starts: what a user of several instances behind a load balancer
 * relies on. Skipped without redis-server (fails when CI is set).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { requireExternal } from '../helpers/external'
import { rest } from '../helpers/http'
import { REDIS_HOW_TO, type TestRedis, redisAvailable, startRedis, uniquePrefix } from '../helpers/redis-server'
import { type TestServer, startServer } from '../helpers/server'
import { until } from '../helpers/wait'
import { type Frame, type TestClient, connect, uuid } from '../helpers/ws-client'

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** Takes events from `client` until `count` have arrived (other frames stay in its inbox). */
async function events(client: TestClient, count: number, ms = 5000): Promise<Frame[]> {
  const out: Frame[] = []
  while (out.length < count) out.push(await client.nextOfType('event', ms))
  return out
}

if (requireExternal('redis-server', redisAvailable, REDIS_HOW_TO))
  describe('three instances on one Redis (ENGINE=redis)', () => {
    let redis: TestRedis
    beforeAll(async () => {
      redis = await startRedis()
    })
    afterAll(async () => {
      await redis[Symbol.asyncDispose]()
    })

    /** Three instances sharing one prefix (one cluster); `await using` shuts them all down. */
    function cluster(extra: Parameters<typeof startServer>[0] = {}) {
      const prefix = uniquePrefix('cluster')
      const servers = ['a', 'b', 'c'].map((id) => startServer({ engine: 'redis', redisUrl: redis.url, redisPrefix: prefix, instanceId: id, ...extra }))
      return {
        servers: servers as [TestServer, TestServer, TestServer],
        async [Symbol.asyncDispose]() {
          await Promise.all(servers.map((s) => s.shutdown()))
        },
      }
    }

    test('a publish on any instance reaches subscribers on every instance exactly once, in seq order; seq is contiguous across instances', async () => {
      await using c = cluster()
      const [a, b, cc] = c.servers
      expect(await a.createTopic('t')).toBe(201)
      const subscribers = await Promise.all(c.servers.map((s) => connect(s.ws)))
      for (const s of subscribers) expect(await s.request({ type: 'subscribe', topic: 't', client_id: 'sub' })).toMatchObject({ type: 'ack', seq: 0 })
      const publishers = await Promise.all([a, b, cc].map((s) => connect(s.ws)))
      const PER = 60
      // Every publisher sends all its frames at once (pipelined), the three at the same time.
      const acks = await Promise.all(
        publishers.map((p, k) => Promise.all(range(1, PER).map((i) => p.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: { from: k, i } } }, 5000)))),
      )
      const ackSeqs = acks.flat().map((f) => f.seq)
      expect(acks.flat().every((f) => f.type === 'ack' && typeof f.epoch === 'string')).toBe(true)
      expect([...ackSeqs].sort((x, y) => x - y)).toEqual(range(1, 3 * PER))
      for (const s of subscribers) {
        const got = await events(s, 3 * PER)
        expect(got.map((e) => e.seq)).toEqual(range(1, 3 * PER))
        // Each publisher's own order is kept.
        for (let k = 0; k < 3; k++) expect(got.filter((e) => e.message.payload.from === k).map((e) => e.message.payload.i)).toEqual(range(1, PER))
      }
      for (const s of [...subscribers, ...publishers]) s.close()
    })

    test('last_n on any instance replays history published through any instance, then live, with no gap and no duplicate', async () => {
      await using c = cluster()
      const [a, b, cc] = c.servers
      expect(await a.createTopic('h')).toBe(201)
      using pa = await connect(a.ws)
      using pb = await connect(b.ws)
      for (let i = 1; i <= 10; i++) expect((await (i % 2 ? pa : pb).request({ type: 'publish', topic: 'h', message: { id: uuid(), payload: i } })).seq).toBe(i)
      using late = await connect(cc.ws)
      // Publishes racing the subscribe, from another instance.
      const racing = Promise.all(range(11, 20).map((i) => pa.request({ type: 'publish', topic: 'h', message: { id: uuid(), payload: i } })))
      const ack = await late.request({ type: 'subscribe', topic: 'h', client_id: 'late', last_n: 5 })
      expect(ack).toMatchObject({ type: 'ack', topic: 'h' })
      await racing
      const got = await events(late, 20 - ack.seq + 5)
      expect(got.map((e) => e.seq)).toEqual(range(ack.seq - 4, 20))
      expect(got.map((e) => e.message.payload)).toEqual(range(ack.seq - 4, 20))
    })

    test('409 on another instance; a DELETE on any instance ends subscriptions on every instance; a new incarnation has a new epoch', async () => {
      await using c = cluster()
      const [a, b, cc] = c.servers
      expect(await a.createTopic('d')).toBe(201)
      expect(await b.createTopic('d')).toBe(409)
      using sa = await connect(a.ws)
      using sb = await connect(b.ws)
      const first = await sa.request({ type: 'subscribe', topic: 'd', client_id: 'x' })
      await sb.request({ type: 'subscribe', topic: 'd', client_id: 'y' })
      using p = await connect(cc.ws)
      await p.request({ type: 'publish', topic: 'd', message: { id: uuid(), payload: 1 } })
      expect((await rest(cc.http, 'DELETE', '/topics/d')).status).toBe(200)
      for (const s of [sa, sb]) {
        expect((await s.nextOfType('event')).seq).toBe(1) // published before the delete: delivered first
        expect(await s.nextOfType('info')).toMatchObject({ msg: 'topic_deleted', topic: 'd' })
      }
      expect((await rest(b.http, 'DELETE', '/topics/d')).status).toBe(404)
      expect((await p.request({ type: 'publish', topic: 'd', message: { id: uuid(), payload: 2 } })).error.code).toBe('TOPIC_NOT_FOUND')
      expect(await b.createTopic('d')).toBe(201)
      const again = await sa.request({ type: 'subscribe', topic: 'd', client_id: 'x' })
      expect(again.seq).toBe(0)
      expect(again.epoch).not.toBe(first.epoch)
    })

    test('cluster-wide counts: /topics, /stats and /health on any instance count every instance’s subscribers within 5 s', async () => {
      await using c = cluster()
      const [a, b, cc] = c.servers
      expect(await a.createTopic('n')).toBe(201)
      const clients = await Promise.all([a, a, b].map((s) => connect(s.ws)))
      for (const cl of clients) await cl.request({ type: 'subscribe', topic: 'n', client_id: 'k' })
      // The instance's own subscriptions count at once.
      expect((await rest(a.http, 'GET', '/topics')).body.topics).toContainEqual({ name: 'n', subscribers: expect.any(Number) })
      const seen = await until(async () => {
        const topics = (await rest(cc.http, 'GET', '/topics')).body.topics
        return topics.find((t: Frame) => t.name === 'n')?.subscribers === 3 ? topics : undefined
      }, 5000, 'instance c to count 3 subscribers of n')
      expect(seen).toEqual([{ name: 'n', subscribers: 3 }])
      expect((await rest(b.http, 'GET', '/stats')).body.topics.n).toMatchObject({ subscribers: 3, messages: 0 })
      const health = (await rest(cc.http, 'GET', '/health')).body
      expect(health).toMatchObject({ engine: 'redis', instance: 'c', instances: 3, subscribers: 3, topics: 1, connections: 0, engine_ready: true })
      expect((await rest(cc.http, 'GET', '/ready')).status).toBe(200)
      for (const cl of clients) cl.close()
    })
  })

if (requireExternal('redis-server', redisAvailable, REDIS_HOW_TO))
  describe('ENGINE=redis: an evicted slow consumer releases what the instance follows', () => {
    let redis: TestRedis
    beforeAll(async () => {
      redis = await startRedis()
    })
    afterAll(async () => {
      await redis[Symbol.asyncDispose]()
    })

    test('its topic’s channel is unsubscribed once its socket is closed, as after a normal disconnect', async () => {
      const { rawConnect } = await import('../helpers/raw-ws')
      const { default: Redis } = await import('ioredis')
      const prefix = uniquePrefix('evicted')
      await using server = startServer({ engine: 'redis', redisUrl: redis.url, redisPrefix: prefix, slowConsumerPolicy: 'disconnect', queueSize: 5, socketHighWaterBytes: 16 * 1024, closeFlushTimeoutMs: 500 })
      const probe = new Redis(redis.url)
      const followers = async () => ((await probe.pubsub('NUMSUB', `${prefix}:events:t`)) as [string, number])[1]
      try {
        expect(await server.createTopic('t')).toBe(201)
        const slow = await rawConnect(server.port)
        await slow.subscribe('t', 'slow')
        slow.pause()
        expect(await followers()).toBe(1)
        using pub = await connect(server.ws)
        const pad = 'x'.repeat(16 * 1024)
        await until(
          async () => {
            for (let i = 0; i < 50; i++) pub.send({ type: 'publish', topic: 't', message: { id: uuid(), payload: pad } })
            await pub.request({ type: 'ping' }, 5000)
            return (await rest(server.http, 'GET', '/health')).body.subscribers === 0 ? true : undefined
          },
          20_000,
          'the slow subscriber to be evicted',
        )
        // Its socket is dropped after CLOSE_FLUSH_TIMEOUT_MS (it never reads); then nobody here follows the topic.
        await until(async () => ((await followers()) === 0 ? true : undefined), 10_000, 'the channel to be unsubscribed')
        slow.destroy()
      } finally {
        probe.disconnect()
      }
    }, 40_000)
  })
