/**
 * The durable engine on its own (no hub, no sockets): what survives a restart
 * and a SIGKILL, the ack-after-commit rule, trimming in the file, TTL, a full
 * disk, and the start-up refusals. Every database lives in its own temp dir.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { EngineHandler, Publication } from '../../src/engine/engine'
import { EngineStartError, SqliteEngine, type SqliteEngineOptions } from '../../src/engine/sqlite-engine'
import { HeraldError } from '../../src/errors'
import { until, within } from '../helpers/wait'

const dirs: string[] = []
const engines: SqliteEngine[] = []
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close().catch(() => {})
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-sqlite-'))
  dirs.push(dir)
  return dir
}

function open(path: string, options: Partial<SqliteEngineOptions> = {}) {
  const engine = new SqliteEngine({ path, historySize: 100, ...options })
  engines.push(engine)
  const seen: Publication[] = []
  const handler: EngineHandler = { publication: (p) => void seen.push(p), topicGone() {}, localCounts: () => ({ connections: 0, subscribers: new Map() }) }
  engine.attach(handler)
  return { engine, seen }
}

const message = (payload: unknown) => ({ id: crypto.randomUUID(), payload })
const ts = () => new Date().toISOString()

async function reopen(engine: SqliteEngine, path: string, options: Partial<SqliteEngineOptions> = {}) {
  await engine.close()
  engines.splice(engines.indexOf(engine), 1)
  return open(path, options)
}

describe('SqliteEngine: durability', () => {
  test('topics, seq, epoch and history survive a restart; the epoch does not change', async () => {
    const path = join(tempDir(), 'h.db')
    const first = open(path)
    const created = first.engine.createTopic('orders')
    for (let i = 1; i <= 5; i++) expect((await first.engine.publish('orders', message(i), ts())).seq).toBe(i)
    const second = await reopen(first.engine, path)
    const h = second.engine.history('orders', { sinceSeq: 0, limit: 100 })
    expect(h.position).toEqual({ seq: 5, epoch: created.epoch })
    expect(h.publications.map((p) => p.seq)).toEqual([1, 2, 3, 4, 5])
    expect(JSON.parse(h.publications[4]!.frame).message.payload).toBe(5)
    expect((await second.engine.publish('orders', message(6), ts())).seq).toBe(6)
    expect(second.engine.stats().get('orders')).toMatchObject({ messages: 6, history: 6, epoch: created.epoch })
  })

  test('a publish resolves only after its commit, and subscribers get it only then; one transaction per turn', async () => {
    const path = join(tempDir(), 'h.db')
    const { engine, seen } = open(path)
    engine.createTopic('t')
    const pending = Array.from({ length: 10 }, (_, i) => engine.publish('t', message(i), ts()))
    expect(seen.length).toBe(0) // nothing delivered before the commit
    const results = await Promise.all(pending)
    expect(results.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(seen.map((p) => p.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  })

  test('every acknowledged message survives SIGKILL of the process that wrote it', async () => {
    const dir = tempDir()
    const path = join(dir, 'h.db')
    const script = join(dir, 'writer.ts')
    // A child process publishes as fast as it can and prints each seq once its publish resolved (= committed).
    writeFileSync(
      script,
      `import { SqliteEngine } from ${JSON.stringify(join(import.meta.dir, '../../src/engine/sqlite-engine.ts'))}
       const e = new SqliteEngine({ path: ${JSON.stringify(path)}, historySize: 100000 })
       e.createTopic('t')
       for (let i = 0; ; i++) {
         const batch = Array.from({ length: 50 }, () => e.publish('t', { id: crypto.randomUUID(), payload: i }, new Date().toISOString()))
         const acked = await Promise.all(batch)
         process.stdout.write(acked.at(-1).seq + '\\n')
       }`,
    )
    const child = Bun.spawn([process.execPath, 'run', script], { stdout: 'pipe', stderr: 'pipe' })
    let acked = 0
    const reader = child.stdout.getReader()
    let text = ''
    await within(
      (async () => {
        while (acked < 2000) {
          const { value, done } = await reader.read()
          if (done) throw new Error(`writer exited: ${await new Response(child.stderr).text()}`)
          text += new TextDecoder().decode(value)
          const lines = text.split('\n')
          text = lines.pop()!
          for (const l of lines) acked = Math.max(acked, Number(l))
        }
      })(),
      20_000,
      '2,000 acknowledged publishes',
    )
    child.kill('SIGKILL')
    await child.exited
    const { engine } = open(path, { historySize: 100000 })
    const h = engine.history('t', { sinceSeq: 0, limit: 1e9 })
    expect(h.position.seq).toBeGreaterThanOrEqual(acked)
    expect(h.publications.length).toBe(h.position.seq)
    expect(h.publications.map((p) => p.seq)).toEqual(Array.from({ length: h.position.seq }, (_, i) => i + 1))
  }, 40_000)
})

describe('SqliteEngine: bounded file', () => {
  test('100,000 publishes with HISTORY_SIZE=100: the file stays small and history holds the newest 100', async () => {
    const path = join(tempDir(), 'h.db')
    const { engine } = open(path, { historySize: 100 })
    engine.createTopic('t')
    const payload = 'x'.repeat(100)
    for (let i = 0; i < 100; i++) await Promise.all(Array.from({ length: 1000 }, () => engine.publish('t', message(payload), ts())))
    // Trimmed rows are deleted by the next transaction or the sweep: wait for the sweep, then checkpoint by closing.
    await until(() => (engine.history('t', { sinceSeq: 0, limit: 1e9 }).publications.length === 100 ? true : undefined), 5000, 'history trimmed to 100')
    const second = await reopen(engine, path)
    const h = second.engine.history('t', { sinceSeq: 0, limit: 1e9 })
    expect(h.publications.map((p) => p.seq)).toEqual(Array.from({ length: 100 }, (_, i) => 99_901 + i))
    const size = statSync(path).size
    console.log(`sqlite: file ${(size / 1024).toFixed(0)} KiB after 100,000 publishes (HISTORY_SIZE=100)`)
    // 100 rows of ~250 bytes and the free pages left by deleting the rest; ~25 MB if nothing were deleted.
    expect(size).toBeLessThan(4 * 1024 * 1024)
  }, 60_000)

  test('HISTORY_TTL_MS: expired messages are neither returned nor kept in the file', async () => {
    const path = join(tempDir(), 'h.db')
    const { engine } = open(path, { historyTtlMs: 300 })
    engine.createTopic('t')
    for (let i = 0; i < 5; i++) await engine.publish('t', message(i), ts())
    expect(engine.stats().get('t')!.history).toBe(5)
    await until(() => (engine.stats().get('t')!.history === 0 ? true : undefined), 5000, 'history to expire')
    expect(engine.history('t', { last: 10 }).publications).toEqual([])
    const second = await reopen(engine, path, { historyTtlMs: 300 })
    expect(second.engine.history('t', { sinceSeq: 0, limit: 100 })).toMatchObject({ position: { seq: 5 }, publications: [] })
  })
})

describe('SqliteEngine: faults', () => {
  test('a corrupt, a locked and an unusable file are refused at start-up with the file named', () => {
    const dir = tempDir()
    const corrupt = join(dir, 'corrupt.db')
    writeFileSync(corrupt, 'this is not a database'.repeat(1000))
    expect(() => new SqliteEngine({ path: corrupt, historySize: 10 })).toThrow(EngineStartError)
    expect(() => new SqliteEngine({ path: corrupt, historySize: 10 })).toThrow(corrupt)

    const locked = join(dir, 'locked.db')
    open(locked)
    expect(() => new SqliteEngine({ path: locked, historySize: 10 })).toThrow(/locked/)

    const unusable = join(dir, 'no-such-dir', 'h.db')
    expect(() => new SqliteEngine({ path: unusable, historySize: 10 })).toThrow(unusable)
  })

  const canMount = (() => {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) return false
    const probe = mkdtempSync(join(tmpdir(), 'herald-mount-probe-'))
    const ok = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]).exitCode === 0
    if (ok) Bun.spawnSync(['umount', probe])
    rmSync(probe, { recursive: true, force: true })
    return ok
  })()
  if (!canMount) console.log('skipped: the full-disk test needs root to mount a small tmpfs (run the suite as root, as CI does)')
  test.skipIf(!canMount && !process.env.CI)('a full disk: publishes get UNAVAILABLE, nothing is half-written, and publishing works again when space returns', async () => {
    const dir = tempDir()
    expect(Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir]).exitCode).toBe(0)
    try {
      const path = join(dir, 'h.db')
      const { engine, seen } = open(path)
      engine.createTopic('t')
      for (let i = 0; i < 10; i++) await engine.publish('t', message(i), ts())
      // Fill the rest of the disk.
      const filler = join(dir, 'filler')
      Bun.spawnSync(['dd', 'if=/dev/zero', `of=${filler}`, 'bs=64k', 'count=64'])
      let refused: unknown
      for (let i = 0; i < 200 && !refused; i++) await engine.publish('t', message('x'.repeat(8000)), ts()).catch((e) => (refused = e))
      expect(refused).toBeInstanceOf(HeraldError)
      expect((refused as HeraldError).code).toBe('UNAVAILABLE')
      const delivered = seen.length
      const seqBefore = engine.stats().get('t')!.messages
      rmSync(filler)
      const next = await engine.publish('t', message('after'), ts())
      expect(next.seq).toBe(seqBefore + 1) // the refused ones gave their seq back: no gap
      expect(seen.length).toBe(delivered + 1)
      expect(seen.map((p) => p.seq)).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1))
      await engine.close()
      engines.splice(engines.indexOf(engine), 1)
    } finally {
      Bun.spawnSync(['umount', '-l', dir])
    }
  }, 30_000)
})
