/**
 * Resume over real sockets (issue 10): a subscriber that reconnects with
 * since_seq + epoch gets exactly what it missed then live events, or
 * recovered: false with nothing replayed — with every engine: memory and
 * sqlite in this process, sqlite across a SIGKILL of the server, and Redis
 * across instances (skipped without redis-server, except with CI set).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Config } from '../../src/config'
import { requireExternal } from '../helpers/external'
import { rest } from '../helpers/http'
import { REDIS_HOW_TO, type TestRedis, redisAvailable, startRedis, uniquePrefix } from '../helpers/redis-server'
import { startServer } from '../helpers/server'
import { runToEnd, spawnServer } from '../helpers/spawn'
import { until } from '../helpers/wait'
import { type Frame, type TestClient, connect, uuid } from '../helpers/ws-client'

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

async function events(client: TestClient, count: number, ms = 5000): Promise<Frame[]> {
  const out: Frame[] = []
  while (out.length < count) out.push(await client.nextOfType('event', ms))
  return out
}

async function publish(url: string, topic: string, n: number): Promise<Frame[]> {
  using pub = await connect(url)
  return await Promise.all(range(1, n).map((i) => pub.request({ type: 'publish', topic, message: { id: uuid(), payload: { i } } }, 10_000)))
}

/** Nothing more than `frames` arrives within a round trip: a ping's pong comes back first. */
async function nothingElse(client: TestClient): Promise<void> {
  const pong = await client.request({ type: 'ping' })
  expect(pong.type).toBe('pong')
  expect(client.inbox.filter((f) => f.type === 'event')).toEqual([])
}

const tempDirs: string[] = []
afterAll(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
})
function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-recovery-it-'))
  tempDirs.push(dir)
  return join(dir, 'herald.db')
}

const engines: Record<string, () => Partial<Config>> = {
  memory: () => ({ engine: 'memory' }),
  sqlite: () => ({ engine: 'sqlite', sqlitePath: tempDb() }),
}

describe.each(Object.keys(engines))('resume with since_seq + epoch (ENGINE=%s)', (kind) => {
  const base = engines[kind]!

  test('disconnect, 50 published meanwhile, reconnect from the last event: exactly those 50, then live', async () => {
    await using server = startServer(base())
    expect(await server.createTopic('t')).toBe(201)
    const first = await connect(server.ws)
    const ack = await first.request({ type: 'subscribe', topic: 't', client_id: 's' })
    const epoch: string = ack.epoch
    // (Checked field by field: Bun's toMatchObject with expect.any() writes the matcher into the object.)
    expect([ack.type, ack.seq, typeof epoch]).toEqual(['ack', 0, 'string'])
    expect(ack.recovered).toBeUndefined() // only a resume says
    await publish(server.ws, 't', 5)
    const seen = await events(first, 5)
    const last = seen.at(-1)!.seq
    first.close()
    await publish(server.ws, 't', 50)
    using again = await connect(server.ws)
    const resumed = await again.request({ type: 'subscribe', topic: 't', client_id: 's', since_seq: last, epoch })
    expect(resumed).toMatchObject({ type: 'ack', seq: 55, epoch, recovered: true })
    expect(resumed.missed).toBeUndefined()
    expect((await events(again, 50)).map((e) => e.seq)).toEqual(range(6, 55))
    await publish(server.ws, 't', 1)
    expect((await events(again, 1))[0]!.seq).toBe(56)
    await nothingElse(again)
  })

  test('history trimmed meanwhile (HISTORY_SIZE 20): recovered false, missed = 50 − 20 kept, nothing replayed, then live', async () => {
    await using server = startServer({ ...base(), historySize: 20 })
    expect(await server.createTopic('t')).toBe(201)
    using probe = await connect(server.ws)
    const { epoch } = await probe.request({ type: 'subscribe', topic: 't', client_id: 'probe' })
    probe.close()
    await publish(server.ws, 't', 50)
    using again = await connect(server.ws)
    const resumed = await again.request({ type: 'subscribe', topic: 't', client_id: 's', since_seq: 0, epoch })
    expect(resumed).toMatchObject({ type: 'ack', seq: 50, epoch, recovered: false, missed: 30 })
    await nothingElse(again)
    // The kept 20 can still be read with the history API.
    expect((await rest(server.http, 'GET', '/topics/t/messages?since_seq=0')).body.messages.map((m: any) => m.seq)).toEqual(range(31, 50))
    await publish(server.ws, 't', 1)
    expect((await events(again, 1))[0]!.seq).toBe(51)
  })

  test('topic deleted and created again: a new epoch, recovered false, missed null', async () => {
    await using server = startServer(base())
    expect(await server.createTopic('t')).toBe(201)
    using probe = await connect(server.ws)
    const { epoch } = await probe.request({ type: 'subscribe', topic: 't', client_id: 'probe' })
    await publish(server.ws, 't', 3)
    expect((await rest(server.http, 'DELETE', '/topics/t')).status).toBe(200)
    expect(await server.createTopic('t')).toBe(201)
    await publish(server.ws, 't', 2)
    using again = await connect(server.ws)
    const resumed = await again.request({ type: 'subscribe', topic: 't', client_id: 's', since_seq: 3, epoch })
    expect(resumed).toMatchObject({ type: 'ack', seq: 2, recovered: false, missed: null })
    expect(resumed.epoch).not.toBe(epoch)
    await nothingElse(again)
  })

  test('HISTORY_TTL_MS: expired messages count as no longer held', async () => {
    await using server = startServer({ ...base(), historyTtlMs: 200 })
    expect(await server.createTopic('t')).toBe(201)
    using probe = await connect(server.ws)
    const { epoch } = await probe.request({ type: 'subscribe', topic: 't', client_id: 'probe' })
    await publish(server.ws, 't', 4)
    await until(async () => ((await rest(server.http, 'GET', '/stats')).body.topics.t.history === 0 ? true : undefined), 5000, 'history to expire')
    expect((await rest(server.http, 'GET', '/topics/t/messages')).body.messages).toEqual([])
    using again = await connect(server.ws)
    expect(await again.request({ type: 'subscribe', topic: 't', client_id: 's', since_seq: 0, epoch })).toMatchObject({ recovered: false, missed: 4 })
  })
})

describe('bad resume requests get BAD_REQUEST saying what is wrong', () => {
  test('every wrong combination and type', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using c = await connect(server.ws)
    const { epoch } = await c.request({ type: 'subscribe', topic: 't', client_id: 's' })
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ since_seq: 0, epoch, last_n: 5 }, 'give last_n or since_seq (with epoch), not both'],
      [{ since_seq: 0 }, 'since_seq needs the epoch it counts in'],
      [{ epoch }, 'epoch goes with since_seq'],
      [{ since_seq: -1, epoch }, 'since_seq must be a non-negative integer'],
      [{ since_seq: 1.5, epoch }, 'since_seq must be a non-negative integer'],
      [{ since_seq: '3', epoch }, 'since_seq must be a non-negative integer'],
      [{ since_seq: 1e300, epoch }, 'since_seq must be a non-negative integer'],
      [{ since_seq: 0, epoch: 7 }, 'epoch must be a string of 1–64 characters'],
      [{ since_seq: 0, epoch: '' }, 'epoch must be a string of 1–64 characters'],
      [{ since_seq: 0, epoch: 'e'.repeat(65) }, 'epoch must be a string of 1–64 characters'],
      [{ since_seq: 1, epoch }, `since_seq 1 is ahead of the topic's latest seq 0 in epoch ${epoch}`],
    ]
    for (const [fields, message] of cases) {
      const reply = await c.request({ type: 'subscribe', topic: 't', client_id: 's2', ...fields })
      expect({ fields, reply: reply.type, code: reply.error?.code, message: reply.error?.message }).toEqual({ fields, reply: 'error', code: 'BAD_REQUEST', message })
    }
    // None of them subscribed s2: only the first subscription exists.
    expect((await rest(server.http, 'GET', '/topics')).body.topics).toEqual([{ name: 't', subscribers: 1 }])
  })
})

describe('ENGINE=sqlite across a SIGKILL of the server', () => {
  test('1,000 acknowledged publishes, SIGKILL, restart on the same file: resume is recovered and every message is there exactly once', async () => {
    const path = tempDb()
    const env = { ENGINE: 'sqlite', SQLITE_PATH: path, HISTORY_SIZE: '100' }
    let epoch: string
    let lastSeen: number
    {
      await using child = await spawnServer({ env })
      expect((await rest(child.http, 'POST', '/topics', { json: { name: 't' } })).status).toBe(201)
      using sub = await connect(child.ws)
      epoch = (await sub.request({ type: 'subscribe', topic: 't', client_id: 's' })).epoch
      const acks = await publish(child.ws, 't', 950)
      expect(acks.every((a) => a.type === 'ack' && a.epoch === epoch)).toBe(true)
      lastSeen = (await events(sub, 950, 10_000)).at(-1)!.seq
      expect(lastSeen).toBe(950)
      sub.close()
      const more = await publish(child.ws, 't', 50)
      expect(more.map((a) => a.seq)).toEqual(range(951, 1000))
      child.proc.kill('SIGKILL')
      await child.exited
    }
    await using restarted = await spawnServer({ env })
    using again = await connect(restarted.ws)
    const resumed = await again.request({ type: 'subscribe', topic: 't', client_id: 's', since_seq: lastSeen, epoch })
    expect(resumed).toMatchObject({ type: 'ack', seq: 1000, epoch, recovered: true })
    expect((await events(again, 50)).map((e) => e.seq)).toEqual(range(951, 1000))
    await nothingElse(again)
    // The history API agrees: the last HISTORY_SIZE messages, each once.
    const page = (await rest(restarted.http, 'GET', '/topics/t/messages?since_seq=0&limit=1000')).body
    expect(page).toMatchObject({ topic: 't', epoch, seq: 1000 })
    expect(page.messages.map((m: any) => m.seq)).toEqual(range(901, 1000))
    // And publishing continues the same sequence.
    expect((await publish(restarted.ws, 't', 1))[0]!.seq).toBe(1001)
  }, 60_000)

  test('a corrupt database file stops the start-up with exit 2 and a message naming the file', async () => {
    const path = tempDb()
    writeFileSync(path, 'not a database '.repeat(500))
    const { code, stderr } = await runToEnd([process.execPath, 'run', 'src/index.ts'], { ENGINE: 'sqlite', SQLITE_PATH: path, PORT: '0' })
    expect(code).toBe(2)
    expect(stderr).toContain(path)
    expect(stderr).not.toContain('    at ') // no stack trace
  })
})

if (requireExternal('redis-server', redisAvailable, REDIS_HOW_TO))
  describe('ENGINE=redis: resume on another instance', () => {
    let redis: TestRedis
    beforeAll(async () => {
      redis = await startRedis()
    })
    afterAll(async () => {
      await redis[Symbol.asyncDispose]()
    })

    test('subscribed on A, disconnected, 30 published through B, resumed on C: recovered, exactly those 30, then live', async () => {
      const prefix = uniquePrefix('resume')
      const [a, b, c] = ['a', 'b', 'c'].map((id) => startServer({ engine: 'redis', redisUrl: redis.url, redisPrefix: prefix, instanceId: id }))
      try {
        expect(await a!.createTopic('t')).toBe(201)
        const first = await connect(a!.ws)
        const ack = await first.request({ type: 'subscribe', topic: 't', client_id: 's' })
        await publish(b!.ws, 't', 3)
        const last = (await events(first, 3)).at(-1)!.seq
        first.close()
        await publish(b!.ws, 't', 30)
        using again = await connect(c!.ws)
        const resumed = await again.request({ type: 'subscribe', topic: 't', client_id: 's', since_seq: last, epoch: ack.epoch })
        expect(resumed).toMatchObject({ type: 'ack', seq: 33, epoch: ack.epoch, recovered: true })
        expect((await events(again, 30)).map((e) => e.seq)).toEqual(range(4, 33))
        await publish(a!.ws, 't', 1)
        expect((await events(again, 1))[0]!.seq).toBe(34)
        await nothingElse(again)
      } finally {
        await Promise.all([a, b, c].map((s) => s!.shutdown()))
      }
    })

    test('HISTORY_TTL_MS with Redis: expired messages are not replayed, not in /stats or the history API, and a resume from before them is not recovered', async () => {
      const prefix = uniquePrefix('ttl')
      const [a, b] = ['a', 'b'].map((id) => startServer({ engine: 'redis', redisUrl: redis.url, redisPrefix: prefix, instanceId: id, historyTtlMs: 300 }))
      try {
        expect(await a!.createTopic('t')).toBe(201)
        using probe = await connect(a!.ws)
        const { epoch } = await probe.request({ type: 'subscribe', topic: 't', client_id: 'probe' })
        await publish(a!.ws, 't', 4)
        expect((await rest(b!.http, 'GET', '/stats')).body.topics.t.history).toBe(4)
        await until(async () => ((await rest(b!.http, 'GET', '/stats')).body.topics.t.history === 0 ? true : undefined), 5000, 'history to expire in Redis')
        expect((await rest(b!.http, 'GET', '/stats')).body.topics.t.history_bytes).toBe(0)
        expect((await rest(b!.http, 'GET', '/topics/t/messages')).body.messages).toEqual([])
        using again = await connect(b!.ws)
        expect(await again.request({ type: 'subscribe', topic: 't', client_id: 's', since_seq: 0, epoch })).toMatchObject({ recovered: false, missed: 4 })
        using replay = await connect(b!.ws)
        await replay.request({ type: 'subscribe', topic: 't', client_id: 'r', last_n: 10 })
        await nothingElse(replay)
      } finally {
        await Promise.all([a, b].map((s) => s!.shutdown()))
      }
    })
  })
