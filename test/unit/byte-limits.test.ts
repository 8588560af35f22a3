/**
 * The byte bounds of issue 8, on the broker core with fake sinks: history per
 * topic and over all topics (oldest first, contiguous), and what may wait for
 * one connection (MAX_QUEUED_BYTES_PER_CONNECTION), with drop accounting kept
 * exact. (The linear cost of repeated subscribe/publish/unsubscribe is tested
 * over real sockets in test/hardening/hostile.test.ts.)
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { History, HistoryBudget } from '../../src/engine/history'
import { closeAllBrokers, makeBroker } from '../helpers/broker'
import { turn } from '../helpers/fake-sink'
import { dispatch } from '../helpers/pubsub'

const entry = (bytes: number, tag = 0) => ({ bytes, tag })

describe('History', () => {
  test('keeps at most `size` entries and `maxBytes` bytes, trimming the oldest', () => {
    const h = new History<ReturnType<typeof entry>>({ size: 3, maxBytes: 100 })
    for (let i = 1; i <= 5; i++) h.push(entry(10, i))
    expect(h.last(10).map((e) => e.tag)).toEqual([3, 4, 5])
    expect(h.bytes).toBe(30)
    h.push(entry(80, 6)) // 10 + 10 + 80 = 100 fits; the oldest went by count
    expect(h.last(10).map((e) => e.tag)).toEqual([4, 5, 6])
    h.push(entry(50, 7)) // 10 + 80 + 50 > 100: trim until it fits
    expect(h.last(10).map((e) => e.tag)).toEqual([7])
    expect(h.bytes).toBe(50)
  })

  test('an entry larger than maxBytes is not kept, and neither is anything older (history stays contiguous)', () => {
    const h = new History<ReturnType<typeof entry>>({ size: 10, maxBytes: 100 })
    h.push(entry(10, 1))
    h.push(entry(101, 2))
    expect(h.size).toBe(0)
    expect(h.bytes).toBe(0)
    h.push(entry(10, 3))
    expect(h.last(10).map((e) => e.tag)).toEqual([3])
  })

  test('a shared budget evicts the oldest entries across histories, and skips what a history already trimmed or cleared', () => {
    const budget = new HistoryBudget(100)
    const a = new History<ReturnType<typeof entry>>({ size: 2 }, budget)
    const b = new History<ReturnType<typeof entry>>({ size: 10 }, budget)
    a.push(entry(30, 1))
    b.push(entry(30, 2))
    a.push(entry(30, 3))
    a.push(entry(30, 4)) // a trims tag 1 by count: 30 + 30 + 30 = 90 held
    expect(budget.bytes).toBe(90)
    b.push(entry(30, 5)) // 120 > 100: the oldest held across both is tag 2 (tag 1 is already gone)
    expect(b.last(10).map((e) => e.tag)).toEqual([5])
    expect(a.last(10).map((e) => e.tag)).toEqual([3, 4])
    expect(budget.bytes).toBe(90)
    a.clear()
    expect(budget.bytes).toBe(30)
    for (let i = 0; i < 10; i++) b.push(entry(30, 10 + i))
    expect(b.last(10).map((e) => e.tag)).toEqual([17, 18, 19])
    expect(budget.bytes).toBe(90)
    expect(budget.messages).toBe(3)
  })
})

afterEach(closeAllBrokers)
const pad = (n: number) => 'x'.repeat(n)

describe('history byte limits in the broker', () => {
  test('/stats reports history_bytes; the total budget evicts the oldest topic’s history first', () => {
    const { broker } = makeBroker({ historyMaxBytes: 5000, historyTotalMaxBytes: 5000 })
    broker.createTopic('old')
    broker.createTopic('new')
    for (let i = 0; i < 3; i++) broker.publish('old', { id: crypto.randomUUID(), payload: pad(1000) })
    for (let i = 0; i < 3; i++) broker.publish('new', { id: crypto.randomUUID(), payload: pad(1000) })
    const before = broker.stats()
    expect(before.old!.history_bytes + before.new!.history_bytes).toBeLessThanOrEqual(5000)
    expect(before.new!.history).toBe(3)
    expect(before.old!.history).toBeLessThan(3)
    for (let i = 0; i < 10; i++) broker.publish('new', { id: crypto.randomUUID(), payload: pad(1000) })
    const after = broker.stats()
    expect(after.old!.history).toBe(0)
    expect(after.new!.history_bytes).toBeLessThanOrEqual(5000)
    expect(after.new!.messages).toBe(13)
  })
})

describe('MAX_QUEUED_BYTES_PER_CONNECTION', () => {
  test('drop_oldest: a stalled subscriber over the byte budget loses its oldest events, counted exactly, and stays connected', async () => {
    const { broker, client } = makeBroker({ queueSize: 100, maxQueuedBytesPerConnection: 64 * 1024 })
    broker.createTopic('t')
    const sub = client()
    broker.subscribe(sub.session, { topic: 't', clientId: 's', lastN: 0 })
    await turn()
    sub.sink.take()
    sub.sink.stall()
    for (let i = 0; i < 50; i++) broker.publish('t', { id: crypto.randomUUID(), payload: pad(4000) }) // 50 × ~4.1 KB > 64 KiB, < 100 messages
    expect(sub.sink.closedWith).toBeUndefined()
    const dropped = broker.stats().t!.dropped
    expect(dropped).toBeGreaterThan(0)
    sub.sink.unstall()
    broker.drained(sub.session)
    const frames = sub.sink.take()
    const notice = frames.find((f) => f.type === 'error')!
    expect(notice.error.code).toBe('SLOW_CONSUMER')
    expect(notice.error.message).toContain(`dropped ${dropped} oldest`)
    expect(notice.error.dropped).toBe(dropped) // the count as a field, for programs
    const seqs = frames.filter((f) => f.type === 'event').map((f) => f.seq)
    expect(seqs).toEqual(Array.from({ length: 50 - dropped }, (_, i) => dropped + 1 + i))
  })

  test('replies that do not fit close the connection with SLOW_CONSUMER / 4000', async () => {
    const { broker, client } = makeBroker({ queueSize: 10, historySize: 100, maxQueuedBytesPerConnection: 64 * 1024 })
    broker.createTopic('t')
    for (let i = 0; i < 100; i++) broker.publish('t', { id: crypto.randomUUID(), payload: pad(1000) })
    const c = client()
    c.sink.stall()
    for (let i = 0; i < 2 && !c.sink.closedWith; i++) broker.subscribe(c.session, { topic: 't', clientId: 's', lastN: 100 }) // 2 × 100 KB of replay
    expect(c.sink.closedWith?.code).toBe(4000)
    expect(c.sink.frames.at(-1)).toMatchObject({ type: 'error', error: { code: 'SLOW_CONSUMER' } })
    expect(broker.health().connections).toBe(0)
  })

  test('a reading client’s burst of replies is written as it grows, not held until the end of the turn', () => {
    const { broker, client } = makeBroker({ socketHighWaterBytes: 64 * 1024, maxQueuedBytesPerConnection: 128 * 1024 })
    const c = client()
    for (let i = 0; i < 5000; i++) dispatch(broker.pubsub, c.session, { type: 'ping', request_id: `p${i}` }) // ~400 KB of pongs in one turn
    expect(c.sink.closedWith).toBeUndefined()
    expect(c.sink.frames.length).toBeGreaterThan(4000) // written within the turn, in order
    expect(c.sink.frames.slice(0, 3).map((f) => f.request_id)).toEqual(['p0', 'p1', 'p2'])
  })
})
