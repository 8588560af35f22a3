/**
 * The Redis engine's faults, each against a real redis-server that the test
 * starts and then kills, restarts (with or without its append-only file) or
 * stops (SIGSTOP): what a subscriber and a publisher see, through real
 * sockets, on instances that are never restarted. And one instance SIGKILLed
 * among three spawned ones. Skipped without redis-server (fails when CI is
 * set), and with REDIS_URL (a Redis the tests did not start is never killed).
 */
import { describe, expect, test } from 'bun:test'
import { requireExternal } from '../helpers/external'
import { rest } from '../helpers/http'
import { REDIS_HOW_TO, REDIS_SERVER, startRedis, uniquePrefix } from '../helpers/redis-server'
import { startServer } from '../helpers/server'
import { spawnServer } from '../helpers/spawn'
import { until, within } from '../helpers/wait'
import { type Frame, type TestClient, connect, uuid } from '../helpers/ws-client'

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

async function events(client: TestClient, count: number, ms = 10_000): Promise<Frame[]> {
  const out: Frame[] = []
  while (out.length < count) out.push(await client.nextOfType('event', ms))
  return out
}

/** Publishes until one is acknowledged (Redis may still be coming back); returns the ack. */
async function publishWhenBack(client: TestClient, topic: string, payload: unknown): Promise<Frame> {
  return until(async () => {
    const reply = await client.request({ type: 'publish', topic, message: { id: uuid(), payload } }, 5000)
    return reply.type === 'ack' ? reply : undefined
  }, 10_000, 'a publish to be acknowledged after Redis came back')
}

const canKill = REDIS_SERVER !== undefined && !process.env.REDIS_URL

if (requireExternal('redis-server', canKill || Boolean(process.env.REDIS_URL), REDIS_HOW_TO) && canKill)
  describe('Redis faults (ENGINE=redis, two instances)', () => {
    function pair(url: string) {
      const prefix = uniquePrefix('faults')
      const servers = ['a', 'b'].map((id) => startServer({ engine: 'redis', redisUrl: url, redisPrefix: prefix, instanceId: id }))
      return { a: servers[0]!, b: servers[1]!, [Symbol.asyncDispose]: async () => void (await Promise.all(servers.map((s) => s.shutdown()))) }
    }

    test('Redis restarts with its data (AOF): subscribers see every message once, in order, no gap; publishing resumes with the same epoch', async () => {
      await using redis = await startRedis({ appendOnly: true })
      await using c = pair(redis.url)
      expect(await c.a.createTopic('t')).toBe(201)
      using sub = await connect(c.b.ws)
      const ack = await sub.request({ type: 'subscribe', topic: 't', client_id: 's' })
      using pub = await connect(c.a.ws)
      for (const i of range(1, 20)) expect((await pub.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: i } })).seq).toBe(i)
      await redis.kill()
      // Down (connection refused): refused within about a second, and not ready.
      const t0 = performance.now()
      expect((await pub.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: 'refused' } }, 5000)).error.code).toBe('UNAVAILABLE')
      expect(performance.now() - t0).toBeLessThan(2500)
      expect((await rest(c.a.http, 'GET', '/ready')).status).toBe(503)
      await redis.restart()
      const next = await publishWhenBack(pub, 't', 21)
      expect(next).toMatchObject({ seq: 21, epoch: ack.epoch })
      for (const i of range(22, 40)) await pub.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: i } })
      const got = await events(sub, 40)
      expect(got.map((e) => e.seq)).toEqual(range(1, 40))
      expect(got.map((e) => e.message.payload)).toEqual(range(1, 40))
      expect(sub.inbox.filter((f) => f.type === 'info' || f.type === 'error')).toEqual([])
      // history survived too
      using late = await connect(c.a.ws)
      await late.request({ type: 'subscribe', topic: 't', client_id: 'l', last_n: 5 })
      expect((await events(late, 5)).map((e) => e.seq)).toEqual(range(36, 40))
    }, 30_000)

    test('only the PUB/SUB connection drops (CLIENT KILL TYPE pubsub): what was published meanwhile comes from the stream, in order, before newer events', async () => {
      await using redis = await startRedis()
      await using c = pair(redis.url)
      expect(await c.a.createTopic('t')).toBe(201)
      using sub = await connect(c.b.ws)
      await sub.request({ type: 'subscribe', topic: 't', client_id: 's' })
      using pub = await connect(c.a.ws)
      const { default: Redis } = await import('ioredis')
      const admin = new Redis(redis.url)
      try {
        for (const i of range(1, 5)) await pub.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: i } })
        // Every PUB/SUB connection is cut (b's included); publishing goes on without pause.
        const killed = Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))
        expect(killed).toBeGreaterThan(0)
        for (const i of range(6, 30)) expect((await pub.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: i } })).seq).toBe(i)
        const got = await events(sub, 30)
        expect(got.map((e) => e.seq)).toEqual(range(1, 30))
        expect(got.map((e) => e.message.payload)).toEqual(range(1, 30))
      } finally {
        admin.disconnect()
      }
    }, 30_000)

    test('Redis restarts without its data: subscribers get topic_deleted, and never a seq again from 1 under them', async () => {
      await using redis = await startRedis({ appendOnly: false })
      await using c = pair(redis.url)
      expect(await c.a.createTopic('t')).toBe(201)
      using sa = await connect(c.a.ws)
      using sb = await connect(c.b.ws)
      await sa.request({ type: 'subscribe', topic: 't', client_id: 's' })
      const first = await sb.request({ type: 'subscribe', topic: 't', client_id: 's' })
      using pub = await connect(c.a.ws)
      for (const i of range(1, 5)) await pub.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: i } })
      for (const s of [sa, sb]) expect((await events(s, 5)).map((e) => e.seq)).toEqual(range(1, 5))
      await redis.kill()
      await redis.restart()
      for (const s of [sa, sb]) expect(await s.nextOfType('info', 10_000)).toMatchObject({ msg: 'topic_deleted', topic: 't' })
      // The topic is gone: publishing says so; created again, it counts in a new epoch, and the old subscribers get nothing of it.
      expect((await until(async () => {
        const r = await pub.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: 0 } })
        return r.error?.code === 'TOPIC_NOT_FOUND' ? r : undefined
      }, 10_000, 'TOPIC_NOT_FOUND after the restart')).type).toBe('error')
      expect(await c.b.createTopic('t')).toBe(201)
      using fresh = await connect(c.b.ws)
      const again = await fresh.request({ type: 'subscribe', topic: 't', client_id: 'f' })
      expect(again.epoch).not.toBe(first.epoch)
      expect((await pub.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: 'new' } })).seq).toBe(1)
      expect((await events(fresh, 1))[0]!.message.payload).toBe('new')
      expect(await sa.request({ type: 'ping' })).toMatchObject({ type: 'pong' })
      expect(await sb.request({ type: 'ping' })).toMatchObject({ type: 'pong' })
      expect([...sa.inbox, ...sb.inbox].filter((f) => f.type === 'event')).toEqual([])
    }, 30_000)

    test('Redis unreachable: UNAVAILABLE within about a second, REST 503, /ready 503, /health 200, sockets open; all recovers when it returns', async () => {
      await using redis = await startRedis()
      await using c = pair(redis.url)
      expect(await c.a.createTopic('t')).toBe(201)
      using sub = await connect(c.b.ws)
      await sub.request({ type: 'subscribe', topic: 't', client_id: 's' })
      using pub = await connect(c.a.ws)
      expect((await pub.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: 1 } })).seq).toBe(1)
      expect((await events(sub, 1))[0]!.seq).toBe(1)

      redis.pause()
      try {
        let t0 = performance.now()
        const refused = await pub.request({ type: 'publish', topic: 't', message: { id: uuid(), payload: 2 } }, 5000)
        expect(refused.error.code).toBe('UNAVAILABLE')
        expect(performance.now() - t0).toBeLessThan(2500)
        t0 = performance.now()
        using other = await connect(c.a.ws)
        expect((await other.request({ type: 'subscribe', topic: 't', client_id: 'o' }, 5000)).error.code).toBe('UNAVAILABLE')
        expect(performance.now() - t0).toBeLessThan(2500)
        expect((await rest(c.a.http, 'POST', '/topics', { json: { name: 'u' } })).status).toBe(503)
        // (A command that timed out may still run when Redis resumes: this DELETE names a topic that does not exist.)
        expect((await rest(c.b.http, 'DELETE', '/topics/nope')).status).toBe(503)
        // Liveness stays 200; readiness turns 503 once the client notices (the command timeout closes the dead connection).
        expect((await within(rest(c.a.http, 'GET', '/health'), 2500, '/health')).status).toBe(200)
        await until(async () => ((await rest(c.a.http, 'GET', '/ready')).status === 503 ? true : undefined), 10_000, '/ready to answer 503')
        expect(await pub.request({ type: 'ping' })).toMatchObject({ type: 'pong' })
        expect(await sub.request({ type: 'ping' })).toMatchObject({ type: 'pong' })
      } finally {
        redis.resume()
      }
      await until(async () => ((await rest(c.a.http, 'GET', '/ready')).status === 200 && (await rest(c.b.http, 'GET', '/ready')).status === 200 ? true : undefined), 10_000, 'both instances ready again')
      const back = await publishWhenBack(pub, 't', 3)
      // A publish that got UNAVAILABLE was not acknowledged, but Redis may still run it when it resumes
      // (docs/scale-out.md): the subscriber then sees it too, in seq order, with no gap.
      const got = await events(sub, back.seq - 1)
      expect(got.map((e) => e.seq)).toEqual(range(2, back.seq))
      expect(got.at(-1)!.message.payload).toBe(3)
      for (const e of got.slice(0, -1)) expect(e.message.payload).toBe(2)
    }, 40_000)

    test('one of three instances SIGKILLed: the others keep serving, no history is lost, its counts disappear', async () => {
      await using redis = await startRedis({ appendOnly: true })
      const prefix = uniquePrefix('sigkill')
      const env = (id: string) => ({ ENGINE: 'redis', REDIS_URL: redis.url, REDIS_PREFIX: prefix, INSTANCE_ID: id })
      await using a = await spawnServer({ env: env('a') })
      await using b = await spawnServer({ env: env('b') })
      await using cc = await spawnServer({ env: env('c') })
      expect((await rest(a.http, 'POST', '/topics', { json: { name: 'k' } })).status).toBe(201)
      using subA = await connect(a.ws)
      using subC = await connect(cc.ws)
      using subB = await connect(b.ws)
      for (const s of [subA, subB, subC]) await s.request({ type: 'subscribe', topic: 'k', client_id: 's' })
      using pubB = await connect(b.ws)
      for (const i of range(1, 10)) await pubB.request({ type: 'publish', topic: 'k', message: { id: uuid(), payload: i } })
      await until(async () => ((await rest(a.http, 'GET', '/health')).body.instances === 3 ? true : undefined), 10_000, 'three instances counted')

      b.proc.kill('SIGKILL')
      await b.exited
      await subB.closed
      using pubA = await connect(a.ws)
      for (const i of range(11, 20)) expect((await pubA.request({ type: 'publish', topic: 'k', message: { id: uuid(), payload: i } })).seq).toBe(i)
      for (const s of [subA, subC]) expect((await events(s, 20)).map((e) => e.seq)).toEqual(range(1, 20))
      using late = await connect(cc.ws)
      await late.request({ type: 'subscribe', topic: 'k', client_id: 'l', last_n: 20 })
      expect((await events(late, 20)).map((e) => e.message.payload)).toEqual(range(1, 20))
      // b's report expires (10 s): the cluster counts two instances and only their subscribers.
      const health = await until(async () => {
        const h = (await rest(cc.http, 'GET', '/health')).body
        return h.instances === 2 ? h : undefined
      }, 15_000, 'the killed instance to leave the counts')
      expect(health.subscribers).toBe(3) // subA, subC, late
    }, 45_000)
  })
