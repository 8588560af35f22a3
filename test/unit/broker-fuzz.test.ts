/**
 * Randomized (seeded, reproducible) runs of the broker against fake sinks that
 * stall and drain at random, checking the accounting that must hold whatever
 * the interleaving: per connection, events in global publish order; per topic,
 * every gap in seq announced by SLOW_CONSUMER notices summing to exactly its
 * size, right before the first event after it; no notice without a loss; received + lost = published.
 */
import { describe, expect, test } from 'bun:test'
import { TestBroker } from '../helpers/broker'
import { FakeSink, turn } from '../helpers/fake-sink'

function prng(seed: number) {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

const TOPICS = ['a', 'b', 'c']

async function run(seed: number) {
  const random = prng(seed)
  const broker = new TestBroker({ queueSize: 1 + Math.floor(random() * 6), historySize: 10, slowConsumerPolicy: 'drop_oldest', socketHighWaterBytes: 300 + Math.floor(random() * 2000), stallPollMs: 60_000 })
  for (const t of TOPICS) broker.createTopic(t)
  const clients = Array.from({ length: 4 }, () => {
    const sink = new FakeSink()
    return { sink, session: broker.connect(sink) }
  })
  // Each client subscribes to a random non-empty subset, for the whole run.
  const subscribed = clients.map((c) => {
    const mine = TOPICS.filter(() => random() < 0.6)
    if (mine.length === 0) mine.push('a')
    for (const t of mine) broker.subscribe(c.session, { topic: t, clientId: 'c', lastN: 0 })
    return new Set(mine)
  })
  await turn()
  const published = Object.fromEntries(TOPICS.map((t) => [t, 0])) as Record<string, number>
  let global = 0
  for (let step = 0; step < 300; step++) {
    const r = random()
    if (r < 0.6) {
      const t = TOPICS[Math.floor(random() * TOPICS.length)]!
      global++
      published[t]!++
      broker.publish(t, { id: crypto.randomUUID(), payload: { g: global, pad: 'x'.repeat(Math.floor(random() * 80)) } })
    } else if (r < 0.75) {
      const c = clients[Math.floor(random() * clients.length)]!
      c.sink.stall()
    } else if (r < 0.9) {
      const c = clients[Math.floor(random() * clients.length)]!
      c.sink.unstall()
      broker.drained(c.session)
    } else await turn()
  }
  for (const c of clients) {
    c.sink.unstall()
    broker.drained(c.session)
  }
  for (let i = 0; i < 200 && !broker.idle(); i++) await turn()
  expect(broker.idle()).toBe(true)

  for (const [i, c] of clients.entries()) {
    const frames = c.sink.frames.filter((f) => f.type !== 'ack')
    // Events arrive in global publish order across topics.
    const globals = frames.filter((f) => f.type === 'event').map((f) => f.message.payload.g)
    expect(globals).toEqual([...globals].sort((x, y) => x - y))
    for (const t of TOPICS) {
      const mine = frames.filter((f) => f.topic === t)
      if (!subscribed[i]!.has(t)) {
        expect(mine).toEqual([])
        continue
      }
      let last = 0
      let lost = 0
      let announced = 0
      for (const f of mine) {
        if (f.type === 'error') {
          expect(f.error.code).toBe('SLOW_CONSUMER')
          // Two notices can follow each other when the flush ran out of budget right after the first and more
          // messages were dropped before the next event; the gap then equals their sum.
          const n = Number(/^dropped (\d+) /.exec(f.error.message)![1])
          expect(n).toBeGreaterThan(0)
          announced += n
          lost += n
          continue
        }
        expect(f.seq).toBe(last + 1 + announced) // the gap is exactly what the notice announced
        last = f.seq
        announced = 0
      }
      expect(announced).toBe(0)
      // Everything published is either received or reported lost; the newest always arrives.
      expect(mine.filter((f) => f.type === 'event').length + lost).toBe(published[t]!)
      if (published[t]! > 0) expect(last).toBe(published[t]!)
    }
  }
  broker.closeAll(1001, 'done')
}

describe('MemoryBroker randomized accounting', () => {
  for (const seed of [1, 2, 3, 7, 42, 99, 1234, 2024, 31337, 65537]) test(`seed ${seed}`, () => run(seed))
})
