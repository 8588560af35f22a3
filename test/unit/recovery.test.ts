/**
 * The recovery decision (since_seq + epoch), every branch, against the
 * history of each embedded engine (memory and sqlite) — the same rules for
 * every engine, since the decision only reads what the engine holds.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Engine } from '../../src/engine/engine'
import { MemoryEngine } from '../../src/engine/memory-engine'
import { decideRecovery } from '../../src/engine/recovery'
import { SqliteEngine } from '../../src/engine/sqlite-engine'
import { HeraldError } from '../../src/errors'

const cleanup: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f()
})

const engines: Record<string, (historySize: number) => Engine> = {
  memory: (historySize) => new MemoryEngine({ historySize }),
  sqlite: (historySize) => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-recovery-'))
    const engine = new SqliteEngine({ path: join(dir, 'h.db'), historySize })
    cleanup.push(async () => {
      await engine.close()
      rmSync(dir, { recursive: true, force: true })
    })
    return engine
  },
}

const publishN = async (engine: Engine, topic: string, n: number) => {
  for (let i = 0; i < n; i++) await engine.publish(topic, { id: crypto.randomUUID(), payload: i }, new Date().toISOString())
}
const read = (engine: Engine, topic: string, sinceSeq: number) => engine.history(topic, { sinceSeq, limit: 1000 }) as ReturnType<MemoryEngine['history']>

describe.each(Object.keys(engines))('recovery with the %s engine', (kind) => {
  const make = engines[kind]!

  test('same epoch, everything after since_seq held → recovered, exactly since_seq + 1 … seq', async () => {
    const engine = make(100)
    const { epoch } = await engine.createTopic('t')
    await publishN(engine, 't', 10)
    const r = decideRecovery({ sinceSeq: 4, epoch }, read(engine, 't', 4))
    expect(r.recovered).toBe(true)
    if (r.recovered) expect(r.publications.map((p) => p.seq)).toEqual([5, 6, 7, 8, 9, 10])
  })

  test('since_seq equal to the latest seq → recovered with nothing to replay; since_seq 0 → everything, when all is held', async () => {
    const engine = make(100)
    const { epoch } = await engine.createTopic('t')
    await publishN(engine, 't', 3)
    expect(decideRecovery({ sinceSeq: 3, epoch }, read(engine, 't', 3))).toEqual({ recovered: true, publications: [] })
    const all = decideRecovery({ sinceSeq: 0, epoch }, read(engine, 't', 0))
    expect(all.recovered && all.publications.map((p) => p.seq)).toEqual([1, 2, 3])
  })

  test('trimmed by HISTORY_SIZE → not recovered, nothing replayed, missed = what is no longer held', async () => {
    const engine = make(20)
    const { epoch } = await engine.createTopic('t')
    await publishN(engine, 't', 60) // holds 41 … 60
    expect(decideRecovery({ sinceSeq: 10, epoch }, read(engine, 't', 10))).toEqual({ recovered: false, missed: 30 })
    expect(decideRecovery({ sinceSeq: 40, epoch }, read(engine, 't', 40)).recovered).toBe(true)
  })

  test('epoch changed (topic deleted and created again) → not recovered, missed null', async () => {
    const engine = make(100)
    const { epoch } = await engine.createTopic('t')
    await publishN(engine, 't', 5)
    await engine.deleteTopic('t')
    const again = await engine.createTopic('t')
    expect(again.epoch).not.toBe(epoch)
    await publishN(engine, 't', 2)
    expect(decideRecovery({ sinceSeq: 5, epoch }, read(engine, 't', 5))).toEqual({ recovered: false, missed: null })
  })

  test('since_seq ahead of the topic in the same epoch → BAD_REQUEST saying so', async () => {
    const engine = make(100)
    const { epoch } = await engine.createTopic('t')
    await publishN(engine, 't', 2)
    let error: unknown
    try {
      decideRecovery({ sinceSeq: 3, epoch }, read(engine, 't', 3))
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(HeraldError)
    expect((error as HeraldError).code).toBe('BAD_REQUEST')
    expect((error as HeraldError).message).toContain('since_seq 3 is ahead')
  })
})

describe('recovery: expired by HISTORY_TTL_MS', () => {
  test('messages past the TTL count as no longer held', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-recovery-'))
    const engine = new SqliteEngine({ path: join(dir, 'h.db'), historySize: 100, historyTtlMs: 1 })
    cleanup.push(async () => {
      await engine.close()
      rmSync(dir, { recursive: true, force: true })
    })
    const { epoch } = engine.createTopic('t')
    await publishN(engine, 't', 5)
    const started = Date.now()
    while (Date.now() - started < 5) await Bun.sleep(1) // let 1 ms of TTL pass (the clock is the thing under test)
    expect(decideRecovery({ sinceSeq: 2, epoch }, read(engine, 't', 2))).toEqual({ recovered: false, missed: 3 })
  })
})
