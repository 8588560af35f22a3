/**
 * The Redis engine against a real redis-server that this file starts (and
 * kills, restarts and pauses), without the hub: two engines on one Redis play
 * two instances. Skipped without redis-server (fails when CI is set).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { EngineHandler, Publication, TopicGoneReason } from '../../src/engine/engine'
import { RedisEngine } from '../../src/engine/redis-engine'
import { ErrorCode, HeraldError } from '../../src/errors'
import { redactConfig } from '../../src/log'
import { requireExternal } from '../helpers/external'
import { REDIS_HOW_TO, type TestRedis, redisAvailable, startRedis, uniquePrefix } from '../helpers/redis-server'
import { until, within } from '../helpers/wait'

class RecordingHandler implements EngineHandler {
  readonly publications: Publication[] = []
  readonly gone: Array<{ topic: string; reason: TopicGoneReason }> = []
  subscribers = new Map<string, number>()
  publication(p: Publication): void {
    this.publications.push(p)
  }
  topicGone(topic: string, reason: TopicGoneReason): void {
    this.gone.push({ topic, reason })
  }
  localCounts() {
    return { connections: 1, subscribers: this.subscribers }
  }
  seqs(topic: string): number[] {
    return this.publications.filter((p) => p.topic === topic).map((p) => p.seq)
  }
}

const message = (n: number) => ({ id: crypto.randomUUID(), payload: { n } })
const TS = '2026-01-01T00:00:00.000Z'
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

function engine(redis: TestRedis, prefix: string, id: string, handler: RecordingHandler, extra: Partial<ConstructorParameters<typeof RedisEngine>[0]> = {}) {
  const e = new RedisEngine({ url: redis.url, prefix, instanceId: id, historySize: 100, maxTopics: 100, reportIntervalMs: 200, ...extra })
  e.attach(handler)
  return e
}

if (requireExternal('redis-server', redisAvailable, REDIS_HOW_TO))
  describe('RedisEngine', () => {
    let redis: TestRedis
    beforeAll(async () => {
      redis = await startRedis({ appendOnly: true })
    })
    afterAll(async () => {
      await redis[Symbol.asyncDispose]()
    })

    test('a publish on one instance reaches the other in seq order, and last_n reads what either published', async () => {
      const prefix = uniquePrefix('pubsub')
      const ha = new RecordingHandler()
      const hb = new RecordingHandler()
      const a = engine(redis, prefix, 'a', ha)
      const b = engine(redis, prefix, 'b', hb)
      try {
        const created = await a.createTopic('t')
        expect(created.seq).toBe(0)
        const sub = await b.subscribe('t', { last: 0 })
        expect(sub.position).toEqual({ seq: 0, epoch: created.epoch })
        const acks = await Promise.all(range(1, 200).map((n) => (n % 2 ? a : b).publish('t', message(n), TS)))
        expect(acks.map((x) => x.seq).sort((x, y) => x - y)).toEqual(range(1, 200))
        expect(new Set(acks.map((x) => x.epoch))).toEqual(new Set([created.epoch]))
        await until(() => (hb.seqs('t').length >= 200 ? true : undefined), 3000, '200 publications on b')
        expect(hb.seqs('t')).toEqual(range(1, 200))
        const frame = JSON.parse(hb.publications[0]!.frame)
        expect(frame).toMatchObject({ type: 'event', topic: 't', seq: 1, ts: TS })
        const last = await a.history('t', { last: 5 })
        expect(last.publications.map((p) => p.seq)).toEqual([196, 197, 198, 199, 200])
        const since = await a.history('t', { sinceSeq: 190, limit: 3 })
        expect(since.publications.map((p) => p.seq)).toEqual([191, 192, 193])
        expect(since.position.seq).toBe(200)
      } finally {
        await a.close()
        await b.close()
      }
    })

    test('409 and 404 across instances; a delete anywhere ends followers everywhere; a new incarnation has a new epoch', async () => {
      const prefix = uniquePrefix('registry')
      const ha = new RecordingHandler()
      const hb = new RecordingHandler()
      const a = engine(redis, prefix, 'a', ha)
      const b = engine(redis, prefix, 'b', hb)
      try {
        const first = await a.createTopic('t')
        const exists = await Promise.resolve(b.createTopic('t')).catch((e) => e)
        expect(exists).toBeInstanceOf(HeraldError)
        expect(exists.code).toBe(ErrorCode.TOPIC_EXISTS)
        await b.subscribe('t', { last: 0 })
        await a.deleteTopic('t')
        await until(() => (hb.gone.length > 0 ? true : undefined), 3000, 'topicGone on b')
        expect(hb.gone).toEqual([{ topic: 't', reason: 'deleted' }])
        const missing = await Promise.resolve(a.publish('t', message(1), TS)).catch((e) => e)
        expect(missing.code).toBe(ErrorCode.TOPIC_NOT_FOUND)
        const second = await b.createTopic('t')
        expect(second.epoch).not.toBe(first.epoch)
        expect(await a.topicNames()).toEqual(['t'])
      } finally {
        await a.close()
        await b.close()
      }
    })

    test('cluster counts add every live instance’s report', async () => {
      const prefix = uniquePrefix('counts')
      const ha = new RecordingHandler()
      const hb = new RecordingHandler()
      ha.subscribers = new Map([['t', 2]])
      hb.subscribers = new Map([['t', 3]])
      const a = engine(redis, prefix, 'a', ha)
      const b = engine(redis, prefix, 'b', hb)
      try {
        const counts = await until(async () => {
          const c = await a.cluster()
          return c.instances === 2 && c.subscribers.get('t') === 5 ? c : undefined
        }, 3000, 'both instances counted')
        expect(counts.connections).toBe(2)
        await b.close()
        const after = await a.cluster()
        expect(after.instances).toBe(1)
        expect(after.subscribers.get('t')).toBe(2)
      } finally {
        await a.close()
        await b.close()
      }
    })

    test('a command while Redis does not answer fails with UNAVAILABLE within about a second', async () => {
      if (!redis.ownProcess) return
      const prefix = uniquePrefix('paused')
      const a = engine(redis, prefix, 'a', new RecordingHandler())
      try {
        await a.createTopic('t')
        redis.pause()
        const t0 = performance.now()
        const error = await within(Promise.resolve(a.publish('t', message(1), TS)).catch((e) => e), 3000, 'the publish to fail')
        const elapsed = performance.now() - t0
        expect(error).toBeInstanceOf(HeraldError)
        expect(error.code).toBe(ErrorCode.UNAVAILABLE)
        expect(elapsed).toBeLessThan(2000)
      } finally {
        redis.resume()
        await a.close()
      }
    })

    test('Redis restarted with its data (AOF): the follower catches up from the stream, in order, no gap, no duplicate', async () => {
      if (!redis.ownProcess) return
      const prefix = uniquePrefix('aof')
      const ha = new RecordingHandler()
      const hb = new RecordingHandler()
      const a = engine(redis, prefix, 'a', ha)
      const b = engine(redis, prefix, 'b', hb)
      try {
        const { epoch } = await a.createTopic('t')
        await b.subscribe('t', { last: 0 })
        for (const n of range(1, 10)) await a.publish('t', message(n), TS)
        await until(() => (hb.seqs('t').length >= 10 ? true : undefined), 3000, '10 before the restart')
        await redis.kill()
        await redis.restart()
        // Published after the restart, possibly before b's events connection is back: b reads them from the stream.
        const p = await until(async () => Promise.resolve(a.publish('t', message(11), TS)).catch(() => undefined), 5000, 'a publish after the restart')
        expect(p).toMatchObject({ seq: 11, epoch })
        for (const n of range(12, 20)) await a.publish('t', message(n), TS)
        await until(() => (hb.seqs('t').length >= 20 ? true : undefined), 5000, 'all 20 on b')
        expect(hb.seqs('t')).toEqual(range(1, 20))
        expect(hb.gone).toEqual([])
      } finally {
        await a.close()
        await b.close()
      }
    })

    test('Redis restarted without its data: followers hear topicGone, never a seq that starts again', async () => {
      if (!redis.ownProcess) return
      await using empty = await startRedis({ appendOnly: false })
      const prefix = uniquePrefix('lost')
      const ha = new RecordingHandler()
      const hb = new RecordingHandler()
      const a = engine(empty, prefix, 'a', ha)
      const b = engine(empty, prefix, 'b', hb)
      try {
        await a.createTopic('t')
        await b.subscribe('t', { last: 0 })
        for (const n of range(1, 5)) await a.publish('t', message(n), TS)
        await until(() => (hb.seqs('t').length >= 5 ? true : undefined), 3000, '5 before the restart')
        await empty.kill()
        await empty.restart()
        await until(() => (hb.gone.length > 0 ? true : undefined), 5000, 'topicGone after the restart')
        expect(hb.gone[0]!.topic).toBe('t')
        // The topic is created again (new epoch) and published to: b's old follow never sees seq 1 again.
        await until(async () => Promise.resolve(a.createTopic('t')).catch(() => undefined), 5000, 'create after restart')
        // A fresh follower on a third instance marks when the new seq 1 has gone out on the channel.
        const hc = new RecordingHandler()
        const c = engine(empty, prefix, 'c', hc)
        await c.subscribe('t', { last: 0 })
        await a.publish('t', message(1), TS)
        await until(() => (hc.seqs('t').length === 1 ? true : undefined), 3000, 'the new seq 1 on c')
        expect(hb.seqs('t')).toEqual(range(1, 5))
        await c.close()
      } finally {
        await a.close()
        await b.close()
      }
    })

    test('history is bounded by HISTORY_SIZE and HISTORY_MAX_BYTES in Redis too, and stays the newest, contiguous', async () => {
      const prefix = uniquePrefix('bytes')
      const a = engine(redis, prefix, 'a', new RecordingHandler(), { historySize: 10, historyMaxBytes: 1000 })
      try {
        await a.createTopic('t')
        const pad = 'x'.repeat(150)
        for (const n of range(1, 30)) await a.publish('t', { id: crypto.randomUUID(), payload: { n, pad } }, TS)
        const held = (await a.history('t', { last: 100 })).publications
        const stats = (await a.stats()).get('t')!
        expect(stats.historyBytes).toBe(held.reduce((s, p) => s + p.bytes, 0))
        expect(stats.historyBytes).toBeLessThanOrEqual(1000)
        expect(held.length).toBe(stats.history)
        expect(held.length).toBeGreaterThan(1)
        expect(held.map((p) => p.seq)).toEqual(range(31 - held.length, 30))
        // One message larger than the byte bound: not kept, and nothing older either (no hole before the newest).
        await a.publish('t', { id: crypto.randomUUID(), payload: 'y'.repeat(2000) }, TS)
        expect((await a.history('t', { last: 100 })).publications).toEqual([])
        expect((await a.stats()).get('t')).toMatchObject({ history: 0, historyBytes: 0, messages: 31 })
        const many = engine(redis, prefix + 'n', 'n', new RecordingHandler(), { historySize: 10 })
        await many.createTopic('u')
        for (const n of range(1, 25)) await many.publish('u', message(n), TS)
        expect((await many.history('u', { last: 100 })).publications.map((p) => p.seq)).toEqual(range(16, 25))
        await many.close()
      } finally {
        await a.close()
      }
    })

    test('an instance subscribes to a topic’s channel only while it follows the topic', async () => {
      const prefix = uniquePrefix('follow')
      const a = engine(redis, prefix, 'a', new RecordingHandler())
      const { default: Redis } = await import('ioredis')
      const probe = new Redis(redis.url)
      const subscribers = async () => ((await probe.pubsub('NUMSUB', `${prefix}:events:t`)) as [string, number])[1]
      try {
        await a.createTopic('t')
        expect(await subscribers()).toBe(0)
        await a.subscribe('t', { last: 0 })
        expect(await subscribers()).toBe(1)
        a.unsubscribe('t')
        await until(async () => ((await subscribers()) === 0 ? true : undefined), 3000, 'the channel to be unsubscribed')
      } finally {
        probe.disconnect()
        await a.close()
      }
    })

    test('a flushed script cache is reloaded (NOSCRIPT)', async () => {
      const prefix = uniquePrefix('noscript')
      const a = engine(redis, prefix, 'a', new RecordingHandler())
      try {
        await a.createTopic('t')
        expect((await a.publish('t', message(1), TS)).seq).toBe(1)
        if (redis.ownProcess) {
          const { default: Redis } = await import('ioredis')
          const admin = new Redis(redis.url)
          await admin.script('FLUSH')
          admin.disconnect()
        }
        expect((await a.publish('t', message(2), TS)).seq).toBe(2)
      } finally {
        await a.close()
      }
    })
  })

describe('REDIS_URL in the start-up log line', () => {
  test('the password of REDIS_URL is never logged; a URL without one is logged as it is', () => {
    const logged = redactConfig({ apiKey: '', redisUrl: 'redis://herald:s3cr3t-pass@redis.internal:6380/2' })
    expect(JSON.stringify(logged)).not.toContain('s3cr3t-pass')
    expect(logged.redisUrl).toBe('redis://herald:[redacted]@redis.internal:6380/2')
    expect(redactConfig({ apiKey: '', redisUrl: 'redis://127.0.0.1:6379' }).redisUrl).toBe('redis://127.0.0.1:6379')
  })
})
