/** The memory engine on its own (no hub): stream positions, history reads, epochs, the handler. */
import { describe, expect, test } from 'bun:test'
import type { Publication } from '../../src/engine/engine'
import { MemoryEngine } from '../../src/engine/memory-engine'
import { ErrorCode, HeraldError } from '../../src/errors'
import { isPromise } from '../../src/util/sync'

const TS = '2026-01-01T00:00:00.000Z'
const message = (n: number) => ({ id: crypto.randomUUID(), payload: n })
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

function engine(historySize = 5) {
  const e = new MemoryEngine({ historySize })
  const seen: Publication[] = []
  const gone: string[] = []
  e.attach({ publication: (p) => seen.push(p), topicGone: (t) => gone.push(t), localCounts: () => ({ connections: 0, subscribers: new Map() }) })
  return { e, seen, gone }
}

describe('MemoryEngine', () => {
  test('publish answers synchronously with seq and epoch, after handing the publication to the handler', () => {
    const { e, seen } = engine()
    const { epoch } = e.createTopic('t')
    const first = e.publish('t', message(1), TS)
    expect(isPromise(first)).toBe(false)
    expect(first).toMatchObject({ seq: 1, epoch })
    expect(seen.map((p) => [p.topic, p.seq])).toEqual([['t', 1]])
    expect(JSON.parse(seen[0]!.frame)).toMatchObject({ type: 'event', topic: 't', seq: 1, ts: TS })
    expect(seen[0]!.bytes).toBe(Buffer.byteLength(seen[0]!.frame))
  })

  test('history: the last n, or from a seq with a limit, within what is held', () => {
    const { e } = engine(5)
    e.createTopic('t')
    for (const n of range(1, 12)) e.publish('t', message(n), TS)
    const seqs = (read: Parameters<typeof e.history>[1]) => e.history('t', read).publications.map((p) => p.seq)
    expect(seqs({ last: 3 })).toEqual([10, 11, 12])
    expect(seqs({ last: 100 })).toEqual(range(8, 12))
    expect(seqs({ last: 0 })).toEqual([])
    expect(seqs({ sinceSeq: 9, limit: 2 })).toEqual([10, 11])
    expect(seqs({ sinceSeq: 2, limit: 100 })).toEqual(range(8, 12)) // older than held: from the oldest held
    expect(seqs({ sinceSeq: 12, limit: 10 })).toEqual([])
    expect(e.history('t', { last: 0 }).position.seq).toBe(12)
  })

  test('a topic deleted and created again counts in a new epoch; followers hear topicGone', () => {
    const { e, gone } = engine()
    const a = e.createTopic('t')
    e.publish('t', message(1), TS)
    e.deleteTopic('t')
    expect(gone).toEqual(['t'])
    const b = e.createTopic('t')
    expect(b.epoch).not.toBe(a.epoch)
    expect(e.publish('t', message(1), TS)).toMatchObject({ seq: 1, epoch: b.epoch })
  })

  test('unknown topics, existing names and MAX_TOPICS are HeraldErrors', () => {
    const e = new MemoryEngine({ historySize: 1, maxTopics: 1 })
    const code = (f: () => unknown) => {
      try {
        f()
      } catch (error) {
        return error instanceof HeraldError ? error.code : 'other'
      }
    }
    expect(code(() => e.publish('nope', message(1), TS))).toBe(ErrorCode.TOPIC_NOT_FOUND)
    expect(code(() => e.history('nope', { last: 1 }))).toBe(ErrorCode.TOPIC_NOT_FOUND)
    e.createTopic('t')
    expect(code(() => e.createTopic('t'))).toBe(ErrorCode.TOPIC_EXISTS)
    expect(code(() => e.createTopic('u'))).toBe(ErrorCode.LIMIT_EXCEEDED)
  })
})
