/**
 * Presence in the core, with fake sinks (no sockets): the ends of a
 * subscription that the hub decides by itself (a slow consumer evicted, the
 * shutdown's closeAll) are leaves too.
 */
import { describe, expect, test } from 'bun:test'
import { FakeSink } from '../helpers/fake-sink'
import { dispatch, memoryPubSub, sync } from '../helpers/pubsub'
import { uuid } from '../helpers/ws-client'

/** Lets the hub's end-of-turn flush run. */
const flushed = () => new Promise<void>((resolve) => setImmediate(resolve))
const presenceOf = (sink: FakeSink) => sink.take().filter((f) => f.type === 'info' && (f.msg === 'join' || f.msg === 'leave')).map((f) => [f.msg, f.client_id])

describe('presence in the hub', () => {
  test('a slow consumer evicted by the hub (SLOW_CONSUMER_POLICY=disconnect) leaves', async () => {
    const pubsub = memoryPubSub({ queueSize: 2, slowConsumerPolicy: 'disconnect' })
    pubsub.createTopic('t')
    const watcherSink = new FakeSink()
    const watcher = pubsub.connect(watcherSink)
    dispatch(pubsub, watcher, { type: 'subscribe', topic: 't', client_id: 'w', presence: true })
    const slowSink = new FakeSink()
    const slow = pubsub.connect(slowSink)
    dispatch(pubsub, slow, { type: 'subscribe', topic: 't', client_id: 'slow' })
    await flushed()
    expect(presenceOf(watcherSink)).toEqual([['join', 'w'], ['join', 'slow']])
    slowSink.stall()
    const publisher = pubsub.connect(new FakeSink())
    for (let i = 0; i < 5; i++) dispatch(pubsub, publisher, { type: 'publish', topic: 't', message: { id: uuid(), payload: i } })
    await flushed()
    expect(slowSink.closedWith?.code).toBe(4000)
    expect(presenceOf(watcherSink)).toEqual([['leave', 'slow']])
  })

  test('closeAll (shutdown) ends every subscription: nobody is present afterwards', async () => {
    const pubsub = memoryPubSub()
    pubsub.createTopic('t')
    const sinks = [new FakeSink(), new FakeSink()]
    const [a, b] = sinks.map((s) => pubsub.connect(s))
    dispatch(pubsub, a!, { type: 'subscribe', topic: 't', client_id: 'a', presence: true })
    dispatch(pubsub, b!, { type: 'subscribe', topic: 't', client_id: 'b' })
    await flushed()
    expect(presenceOf(sinks[0]!)).toEqual([['join', 'a'], ['join', 'b']])
    expect(sync(pubsub.subscribers('t')).total).toBe(2)
    pubsub.closeAll(1001, 'shutdown')
    await flushed()
    expect(sinks.every((s) => s.closedWith?.code === 1001)).toBe(true)
    expect(sync(pubsub.subscribers('t'))).toEqual({ topic: 't', subscribers: [], total: 0 })
  })

  test('counts start with the first watcher and stop with the last: joins and leaves stay exact, the list is right throughout', async () => {
    const pubsub = memoryPubSub()
    pubsub.createTopic('t')
    const list = () => sync(pubsub.subscribers('t'))
    const subscriber = (clientId: string, presence = false) => {
      const sink = new FakeSink()
      const connection = pubsub.connect(sink)
      dispatch(pubsub, connection, { type: 'subscribe', topic: 't', client_id: clientId, presence })
      return { sink, connection }
    }
    const unsubscribe = (s: { connection: ReturnType<typeof pubsub.connect> }, clientId: string) => dispatch(pubsub, s.connection, { type: 'unsubscribe', topic: 't', client_id: clientId })
    // Nobody watches: the list counts the hub's subscriptions.
    const x1 = subscriber('x')
    const x2 = subscriber('x')
    const y = subscriber('y')
    await flushed()
    expect(list()).toEqual({ topic: 't', subscribers: [{ client_id: 'x', connections: 2 }, { client_id: 'y', connections: 1 }], total: 2 })
    // The first watcher: only its own join (x and y were present already), then exact leaves.
    const w = subscriber('w', true)
    await flushed()
    expect(presenceOf(w.sink)).toEqual([['join', 'w']])
    unsubscribe(y, 'y')
    unsubscribe(x1, 'x')
    await flushed()
    expect(presenceOf(w.sink)).toEqual([['leave', 'y']])
    expect(list().subscribers).toEqual([{ client_id: 'w', connections: 1 }, { client_id: 'x', connections: 1 }])
    // The last watcher leaves: x2 stays, z comes while nobody watches.
    unsubscribe(w, 'w')
    const z = subscriber('z')
    await flushed()
    expect(list().subscribers).toEqual([{ client_id: 'x', connections: 1 }, { client_id: 'z', connections: 1 }])
    // A new watcher: counts again from the subscriptions, not from what the first one left.
    const v = subscriber('v', true)
    await flushed()
    expect(presenceOf(v.sink)).toEqual([['join', 'v']])
    pubsub.disconnect(z.connection)
    unsubscribe(x2, 'x')
    await flushed()
    expect(presenceOf(v.sink)).toEqual([['leave', 'z'], ['leave', 'x']])
    expect(list()).toEqual({ topic: 't', subscribers: [{ client_id: 'v', connections: 1 }], total: 1 })
  })
})
