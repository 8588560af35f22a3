import { afterEach, describe, expect, test } from 'bun:test'
import type { Connection } from '../../src/hub/connection'
import { HeraldError } from '../../src/errors'
import { ackFrame } from '../../src/protocol/server-frames'
import { type TestBroker, closeAllBrokers, makeBroker } from '../helpers/broker'
import { FakeSink, turn } from '../helpers/fake-sink'

afterEach(closeAllBrokers)

const describeFrame = (f: Record<string, any>) =>
  f.type === 'event' ? `event:${f.topic}:${f.seq}` : f.type === 'error' ? `error:${f.error.code}` : f.type === 'info' ? `info:${f.msg}:${f.topic}` : f.type
const seqs = (frames: Record<string, any>[]) => frames.filter((f) => f.type === 'event').map((f) => f.seq)

function thrownCode(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    if (error instanceof HeraldError) return error.code
    throw error
  }
  return undefined
}

/** Subscribes, flushes the ack, then makes the sink look backed up and lets the broker notice. */
async function stalledSubscriber(broker: TestBroker, sink: FakeSink, session: Connection, topic: string) {
  broker.subscribe(session, { topic, clientId: 'slow', lastN: 0 })
  await turn()
  expect(sink.take().map(describeFrame)).toEqual(['ack'])
  sink.stall()
}

describe('MemoryBroker: subscribe, replay, live', () => {
  test('nothing is sent on connect', async () => {
    const { client } = makeBroker()
    const { sink } = client()
    await turn()
    expect(sink.frames).toEqual([])
  })

  test('the ack comes first, then the replay oldest first, then live events, with no gap or duplicate', async () => {
    const { broker, client, publish } = makeBroker()
    broker.createTopic('t')
    for (let i = 0; i < 5; i++) publish('t')
    const { sink, session } = client()
    broker.subscribe(session, { topic: 't', clientId: 'c', lastN: 3, requestId: 'req-1' })
    publish('t') // same tick as the subscribe: must come after the replay
    publish('t')
    await turn()
    const frames = sink.take()
    expect(frames.map(describeFrame)).toEqual(['ack', 'event:t:3', 'event:t:4', 'event:t:5', 'event:t:6', 'event:t:7'])
    expect(frames[0]).toMatchObject({ type: 'ack', request_id: 'req-1', topic: 't', status: 'ok' })
    publish('t')
    await turn()
    expect(seqs(sink.take())).toEqual([8])
  })

  test('replay is capped by what the history holds', async () => {
    const { broker, client, publish } = makeBroker({ historySize: 4 })
    broker.createTopic('t')
    for (let i = 0; i < 2; i++) publish('t')
    const a = client()
    broker.subscribe(a.session, { topic: 't', clientId: 'a', lastN: 50 })
    await turn()
    expect(a.sink.take().map(describeFrame)).toEqual(['ack', 'event:t:1', 'event:t:2'])

    for (let i = 0; i < 8; i++) publish('t') // history now holds seq 7..10
    await turn()
    a.sink.take()
    const b = client()
    broker.subscribe(b.session, { topic: 't', clientId: 'b', lastN: 10 })
    await turn()
    expect(b.sink.take().map(describeFrame)).toEqual(['ack', 'event:t:7', 'event:t:8', 'event:t:9', 'event:t:10'])
  })

  test('last_n 0 replays nothing', async () => {
    const { broker, client, publish } = makeBroker()
    broker.createTopic('t')
    publish('t')
    const { sink, session } = client()
    broker.subscribe(session, { topic: 't', clientId: 'c', lastN: 0 })
    await turn()
    expect(sink.take().map(describeFrame)).toEqual(['ack'])
  })

  test('history size 0 keeps nothing to replay, live delivery still works', async () => {
    const { broker, client, publish } = makeBroker({ historySize: 0 })
    broker.createTopic('t')
    publish('t')
    publish('t')
    const { sink, session } = client()
    broker.subscribe(session, { topic: 't', clientId: 'c', lastN: 5 })
    await turn()
    expect(sink.take().map(describeFrame)).toEqual(['ack'])
    publish('t')
    await turn()
    expect(sink.take().map(describeFrame)).toEqual(['event:t:3'])
    expect(broker.stats().t!.history).toBe(0)
  })

  test('events carry the message id and payload unchanged, and a ts', async () => {
    const { broker, client } = makeBroker()
    broker.createTopic('t')
    const { sink, session } = client()
    broker.subscribe(session, { topic: 't', clientId: 'c', lastN: 0 })
    const id = crypto.randomUUID()
    const payload = { nested: { list: [1, 'two', null, { three: 3 }] }, flag: true }
    broker.publish('t', { id, payload })
    await turn()
    const event = sink.take()[1]!
    expect(event).toMatchObject({ type: 'event', topic: 't', seq: 1, message: { id, payload } })
    expect(event.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  })

  test('subscribe, unsubscribe and publish on a missing topic throw TOPIC_NOT_FOUND', () => {
    const { broker, client, publish } = makeBroker()
    const { session } = client()
    expect(thrownCode(() => broker.subscribe(session, { topic: 'nope', clientId: 'c', lastN: 0 }))).toBe('TOPIC_NOT_FOUND')
    expect(thrownCode(() => broker.unsubscribe(session, 'nope'))).toBe('TOPIC_NOT_FOUND')
    expect(thrownCode(() => publish('nope'))).toBe('TOPIC_NOT_FOUND')
  })

  test("stats() has an own key for every topic, even one named '__proto__'", () => {
    const { broker, publish } = makeBroker()
    broker.createTopic('__proto__')
    broker.createTopic('constructor')
    publish('__proto__')
    const stats = broker.stats()
    expect(Object.keys(stats).sort()).toEqual(['__proto__', 'constructor'])
    expect(JSON.parse(JSON.stringify(stats))['__proto__'].messages).toBe(1)
  })

  test('createTopic twice throws TOPIC_EXISTS', () => {
    const { broker } = makeBroker()
    broker.createTopic('t')
    expect(thrownCode(() => broker.createTopic('t'))).toBe('TOPIC_EXISTS')
  })
})

describe('MemoryBroker: fan-out, isolation, sequence numbers', () => {
  test('every subscriber gets every message exactly once, in publish order', async () => {
    const { broker, client, publish } = makeBroker()
    broker.createTopic('t')
    const subs = [client(), client(), client()]
    for (const s of subs) broker.subscribe(s.session, { topic: 't', clientId: 'c', lastN: 0 })
    for (let i = 0; i < 20; i++) publish('t')
    await turn()
    for (const s of subs) expect(seqs(s.sink.take())).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
  })

  test('sequence numbers count per topic; publish returns the seq', async () => {
    const { broker, client, publish } = makeBroker({ historySize: 2 })
    broker.createTopic('a')
    broker.createTopic('b')
    expect(publish('a').seq).toBe(1)
    expect(publish('a').seq).toBe(2)
    expect(publish('b').seq).toBe(1)
    expect(publish('a').seq).toBe(3) // history eviction does not reset the counter
    expect(publish('b').seq).toBe(2)
    expect(broker.stats().a!.messages).toBe(3)
    expect(broker.stats().b!.messages).toBe(2)
    const { sink, session } = client()
    broker.subscribe(session, { topic: 'a', clientId: 'c', lastN: 0 })
    publish('a')
    await turn()
    expect(seqs(sink.take())).toEqual([4])
  })

  test('no cross-topic leak; a connection on two topics gets both merged in publish order', async () => {
    const { broker, client, publish } = makeBroker()
    broker.createTopic('a')
    broker.createTopic('b')
    const onlyA = client()
    const both = client()
    broker.subscribe(onlyA.session, { topic: 'a', clientId: 'x', lastN: 0 })
    broker.subscribe(both.session, { topic: 'a', clientId: 'y', lastN: 0 })
    broker.subscribe(both.session, { topic: 'b', clientId: 'y', lastN: 0 })
    await turn()
    onlyA.sink.take()
    both.sink.take()
    publish('a')
    publish('b')
    publish('b')
    publish('a')
    publish('b')
    await turn()
    expect(onlyA.sink.take().map(describeFrame)).toEqual(['event:a:1', 'event:a:2'])
    expect(both.sink.take().map(describeFrame)).toEqual(['event:a:1', 'event:b:1', 'event:b:2', 'event:a:2', 'event:b:3'])
  })

  test('a reply queued between events keeps its place in the order', async () => {
    const { broker, client, publish } = makeBroker()
    broker.createTopic('t')
    const { sink, session } = client()
    broker.subscribe(session, { topic: 't', clientId: 'c', lastN: 0 })
    publish('t')
    broker.reply(session, ackFrame('mid', 't'))
    publish('t')
    await turn()
    expect(sink.take().map(describeFrame)).toEqual(['ack', 'event:t:1', 'ack', 'event:t:2'])
  })

  test('subscribing again on the same connection never duplicates live delivery', async () => {
    const { broker, client, publish } = makeBroker()
    broker.createTopic('t')
    const { sink, session } = client()
    broker.subscribe(session, { topic: 't', clientId: 'first', lastN: 0 })
    broker.subscribe(session, { topic: 't', clientId: 'second', lastN: 0 })
    publish('t')
    publish('t')
    await turn()
    expect(sink.take().map(describeFrame)).toEqual(['ack', 'ack', 'event:t:1', 'event:t:2'])
    expect(broker.health().subscribers).toBe(1)
    expect(broker.listTopics()).toEqual([{ name: 't', subscribers: 1 }])
  })

  test('a flush writes at most the high-water mark, the rest follows on later turns in order', async () => {
    const { broker, client, publish } = makeBroker({ socketHighWaterBytes: 1024 })
    broker.createTopic('t')
    const { sink, session } = client()
    broker.subscribe(session, { topic: 't', clientId: 'c', lastN: 0 })
    await turn()
    sink.take()
    for (let i = 0; i < 50; i++) publish('t', 'p'.repeat(100)) // ~50 × 200 bytes, about 10 × the budget
    await turn()
    const first = seqs(sink.take())
    expect(first.length).toBeGreaterThan(0)
    expect(first.length).toBeLessThan(50)
    for (let i = 0; i < 20 && sink.frames.length + first.length < 50; i++) await turn()
    expect([...first, ...seqs(sink.take())]).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
  })
})

describe('MemoryBroker: slow consumers', () => {
  test('drop-oldest: a stalled subscriber keeps the newest queueSize and is told exactly how many it lost', async () => {
    const { broker, client, publish } = makeBroker({ queueSize: 3 })
    broker.createTopic('t')
    const slow = client()
    const fast = client()
    broker.subscribe(fast.session, { topic: 't', clientId: 'fast', lastN: 0 })
    await stalledSubscriber(broker, slow.sink, slow.session, 't')
    for (let i = 0; i < 10; i++) publish('t')
    await turn()
    // The healthy subscriber is not held back by the stalled one.
    expect(seqs(fast.sink.take())).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(slow.sink.frames).toEqual([])
    expect(broker.stats().t!.dropped).toBe(7)

    slow.sink.unstall()
    broker.drained(slow.session)
    const frames = slow.sink.take()
    expect(frames.map(describeFrame)).toEqual(['error:SLOW_CONSUMER', 'event:t:8', 'event:t:9', 'event:t:10'])
    expect(frames[0]!.topic).toBe('t')
    expect(frames[0]!.error.message).toMatch(/^dropped 7 oldest message\(s\) on topic 't'/)
    expect(slow.sink.closedWith).toBeUndefined()
  })

  test('one notice per overflow episode, each with that episode\'s count', async () => {
    const { broker, client, publish } = makeBroker({ queueSize: 2 })
    broker.createTopic('t')
    const slow = client()
    await stalledSubscriber(broker, slow.sink, slow.session, 't')
    for (let i = 0; i < 5; i++) publish('t') // 1..5: keeps 4, 5; lost 3
    await turn()
    slow.sink.unstall()
    broker.drained(slow.session)
    expect(slow.sink.take().map(describeFrame)).toEqual(['error:SLOW_CONSUMER', 'event:t:4', 'event:t:5'])

    // Healthy again: no notice.
    publish('t')
    publish('t')
    await turn()
    expect(slow.sink.take().map(describeFrame)).toEqual(['event:t:6', 'event:t:7'])

    // Second episode: 8..11 with room for 2 → lost 2.
    slow.sink.stall()
    publish('t')
    await turn() // the flush finds the sink backed up
    publish('t')
    publish('t')
    publish('t')
    await turn()
    expect(slow.sink.frames).toEqual([])
    slow.sink.unstall()
    broker.drained(slow.session)
    const frames = slow.sink.take()
    expect(frames.map(describeFrame)).toEqual(['error:SLOW_CONSUMER', 'event:t:10', 'event:t:11'])
    expect(frames[0]!.error.message).toMatch(/^dropped 2 oldest/)
    expect(broker.stats().t!.dropped).toBe(5)
  })

  test('drops are counted per topic and per subscription', async () => {
    const { broker, client, publish } = makeBroker({ queueSize: 2 })
    broker.createTopic('a')
    broker.createTopic('b')
    const slow = client()
    await stalledSubscriber(broker, slow.sink, slow.session, 'a')
    broker.subscribe(slow.session, { topic: 'b', clientId: 'slow', lastN: 0 }) // its ack waits too
    for (let i = 0; i < 6; i++) publish('a')
    publish('b')
    await turn()
    slow.sink.unstall()
    broker.drained(slow.session)
    const frames = slow.sink.take()
    // The ack of the second subscribe was queued before every event; the notice precedes a's survivors.
    expect(frames.map(describeFrame)).toEqual(['ack', 'error:SLOW_CONSUMER', 'event:a:5', 'event:a:6', 'event:b:1'])
    expect(frames[1]!.error.message).toContain("dropped 4 oldest message(s) on topic 'a'")
    expect(broker.stats().a!.dropped).toBe(4)
    expect(broker.stats().b!.dropped).toBe(0)
  })

  test('disconnect policy: SLOW_CONSUMER error, then close with 4000, subscriptions released; others unaffected', async () => {
    const { broker, client, publish } = makeBroker({ queueSize: 2, slowConsumerPolicy: 'disconnect' })
    broker.createTopic('t')
    const slow = client()
    const fast = client()
    broker.subscribe(fast.session, { topic: 't', clientId: 'fast', lastN: 0 })
    await stalledSubscriber(broker, slow.sink, slow.session, 't')
    fast.sink.take()
    publish('t')
    publish('t')
    expect(slow.sink.closedWith).toBeUndefined() // full, not yet overflowing
    publish('t')
    expect(slow.sink.closedWith?.code).toBe(4000)
    expect(slow.sink.frames.map(describeFrame)).toEqual(['error:SLOW_CONSUMER'])
    expect(broker.health()).toEqual({ topics: 1, subscribers: 1, connections: 1 })
    publish('t')
    await turn()
    expect(seqs(fast.sink.take())).toEqual([1, 2, 3, 4])
    expect(slow.sink.frames.length).toBe(1)
  })

  test('a burst larger than the queue within one turn does not drop for a subscriber whose sink keeps up', async () => {
    const { broker, client, publish } = makeBroker({ queueSize: 5 })
    broker.createTopic('t')
    const { sink, session } = client()
    broker.subscribe(session, { topic: 't', clientId: 'c', lastN: 0 })
    for (let i = 0; i < 100; i++) publish('t') // all in one event-loop turn, 20 × the queue size
    await turn()
    const frames = sink.take()
    expect(frames.filter((f) => f.type === 'error')).toEqual([])
    expect(seqs(frames)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
    expect(broker.stats().t!.dropped).toBe(0)
  })

  test('a stalled connection that piles up more unread replies than queueSize + historySize is closed with 4000', async () => {
    const { broker, client } = makeBroker({ queueSize: 2, historySize: 3 })
    broker.createTopic('t')
    const slow = client()
    await stalledSubscriber(broker, slow.sink, slow.session, 't')
    broker.reply(slow.session, ackFrame('r0', 't'))
    await turn() // the flush finds the sink backed up
    for (let i = 1; i < 5; i++) broker.reply(slow.session, ackFrame(`r${i}`, 't'))
    expect(slow.sink.closedWith).toBeUndefined() // 5 pending: at the limit
    broker.reply(slow.session, ackFrame('r5', 't'))
    expect(slow.sink.closedWith?.code).toBe(4000)
    expect(slow.sink.frames.map(describeFrame)).toEqual(['error:SLOW_CONSUMER'])
    expect(broker.health().connections).toBe(0)
  })

  test('drop_oldest policy never closes the connection', async () => {
    const { broker, client, publish } = makeBroker({ queueSize: 1 })
    broker.createTopic('t')
    const slow = client()
    await stalledSubscriber(broker, slow.sink, slow.session, 't')
    for (let i = 0; i < 50; i++) publish('t')
    await turn()
    expect(slow.sink.closedWith).toBeUndefined()
    expect(broker.health().connections).toBe(1)
  })
})

describe('MemoryBroker: unsubscribe, delete, disconnect', () => {
  test('unsubscribe: messages published before it are delivered before its ack, none after', async () => {
    const { broker, client, publish } = makeBroker()
    broker.createTopic('t')
    const { sink, session } = client()
    broker.subscribe(session, { topic: 't', clientId: 'c', lastN: 0 })
    publish('t')
    publish('t')
    broker.unsubscribe(session, 't')
    broker.reply(session, ackFrame('unsub', 't'))
    publish('t')
    await turn()
    const frames = sink.take()
    expect(frames.map(describeFrame)).toEqual(['ack', 'event:t:1', 'event:t:2', 'ack'])
    expect(frames[3]!.request_id).toBe('unsub')
    publish('t')
    await turn()
    expect(sink.frames).toEqual([])
    expect(broker.health().subscribers).toBe(0)
  })

  test('unsubscribe while stalled keeps the notice and the survivors ahead of the ack', async () => {
    const { broker, client, publish } = makeBroker({ queueSize: 2 })
    broker.createTopic('t')
    const slow = client()
    await stalledSubscriber(broker, slow.sink, slow.session, 't')
    for (let i = 0; i < 5; i++) publish('t')
    await turn()
    broker.unsubscribe(slow.session, 't')
    broker.reply(slow.session, ackFrame('unsub', 't'))
    slow.sink.unstall()
    broker.drained(slow.session)
    const frames = slow.sink.take()
    expect(frames.map(describeFrame)).toEqual(['error:SLOW_CONSUMER', 'event:t:4', 'event:t:5', 'ack'])
    expect(frames[0]!.error.message).toMatch(/^dropped 3 oldest/)
  })

  test('unsubscribe when not subscribed is a no-op (idempotent)', () => {
    const { broker, client } = makeBroker()
    broker.createTopic('t')
    const { session } = client()
    expect(() => broker.unsubscribe(session, 't')).not.toThrow()
    broker.subscribe(session, { topic: 't', clientId: 'c', lastN: 0 })
    broker.unsubscribe(session, 't')
    expect(() => broker.unsubscribe(session, 't')).not.toThrow()
    expect(broker.health().subscribers).toBe(0)
  })

  test("unsubscribe only removes the calling connection's subscription", async () => {
    const { broker, client, publish } = makeBroker()
    broker.createTopic('t')
    const mine = client()
    const other = client()
    broker.subscribe(mine.session, { topic: 't', clientId: 'same-id', lastN: 0 })
    broker.unsubscribe(other.session, 't')
    publish('t')
    await turn()
    expect(seqs(mine.sink.take())).toEqual([1])
    expect(broker.health().subscribers).toBe(1)
  })

  test('delete: queued events first, then info topic_deleted; nothing after; the topic is gone', async () => {
    const { broker, client, publish } = makeBroker()
    broker.createTopic('t')
    broker.createTopic('other')
    const a = client()
    const b = client()
    broker.subscribe(a.session, { topic: 't', clientId: 'a', lastN: 0 })
    broker.subscribe(b.session, { topic: 't', clientId: 'b', lastN: 0 })
    broker.subscribe(b.session, { topic: 'other', clientId: 'b', lastN: 0 })
    publish('t')
    broker.deleteTopic('t')
    await turn()
    for (const s of [a, b]) {
      const frames = s.sink.take().filter((f) => f.type !== 'ack')
      expect(frames.map(describeFrame)).toEqual(['event:t:1', 'info:topic_deleted:t'])
      expect(s.sink.closedWith).toBeUndefined()
    }
    expect(thrownCode(() => publish('t'))).toBe('TOPIC_NOT_FOUND')
    expect(broker.listTopics()).toEqual([{ name: 'other', subscribers: 1 }])
    expect(broker.health().subscribers).toBe(1)
    // A new topic of the same name starts fresh: the old subscriptions do not come back.
    broker.createTopic('t')
    expect(publish('t').seq).toBe(1)
    publish('other')
    await turn()
    expect(a.sink.frames).toEqual([])
    expect(b.sink.take().map(describeFrame)).toEqual(['event:other:1'])
  })

  test('delete a missing topic throws TOPIC_NOT_FOUND', () => {
    const { broker } = makeBroker()
    expect(thrownCode(() => broker.deleteTopic('nope'))).toBe('TOPIC_NOT_FOUND')
  })

  test('disconnect releases subscriptions and queues; idempotent', async () => {
    const { broker, client, publish } = makeBroker()
    broker.createTopic('t')
    const { sink, session } = client()
    broker.subscribe(session, { topic: 't', clientId: 'c', lastN: 0 })
    publish('t')
    broker.disconnect(session)
    broker.disconnect(session)
    await turn()
    expect(sink.frames).toEqual([])
    expect(broker.health()).toEqual({ topics: 1, subscribers: 0, connections: 0 })
    expect(broker.idle()).toBe(true)
  })

  test('shutdown: after beginShutdown, publish, subscribe and createTopic fail with UNAVAILABLE', () => {
    const { broker, client, publish } = makeBroker()
    broker.createTopic('t')
    const { session } = client()
    broker.beginShutdown()
    expect(thrownCode(() => publish('t'))).toBe('UNAVAILABLE')
    expect(thrownCode(() => broker.subscribe(session, { topic: 't', clientId: 'c', lastN: 0 }))).toBe('UNAVAILABLE')
    expect(thrownCode(() => broker.createTopic('u'))).toBe('UNAVAILABLE')
  })

  test('idle() is false while a stalled sink has queued frames, true once flushed', async () => {
    const { broker, client, publish } = makeBroker()
    broker.createTopic('t')
    const slow = client()
    await stalledSubscriber(broker, slow.sink, slow.session, 't')
    publish('t')
    await turn()
    expect(broker.idle()).toBe(false)
    slow.sink.unstall()
    broker.drained(slow.session)
    expect(seqs(slow.sink.take())).toEqual([1])
    expect(broker.idle()).toBe(true)
  })
})
