/**
 * A subscription's queue (Subscription.queue / ownQueue): an idle subscription
 * reads the hub's one shared empty queue and owns none (idle memory per
 * connection, docs/performance.md "Sixth pass"); the first frame queued on it
 * gives it its own, and nothing queued or dropped on one subscription ever
 * shows in another's; a subscription that ends with drops not yet reported
 * still delivers its SLOW_CONSUMER notice, reported to the observer once
 * (Connection.retire returns it). The hub alone, with fake sinks.
 */
import { describe, expect, test } from 'bun:test'
import { Hub } from '../../src/hub/hub'
import { type HubObserver, noopObserver, type SlowConsumerEpisode } from '../../src/hub/observer'
import type { Subscription } from '../../src/hub/subscription'
import { ackFrame } from '../../src/protocol/server-frames'
import { FakeSink, publication, turn } from '../helpers/fake-sink'

const QUEUE = 10

function setup(observer: HubObserver = noopObserver) {
  const hub = new Hub({ queueSize: QUEUE, historySize: 10, slowConsumerPolicy: 'drop_oldest', socketHighWaterBytes: 1 << 20 }, observer)
  const subscribe = (topic: string, clientId: string) => {
    const sink = new FakeSink()
    const sub = hub.beginSubscribe(hub.connect(sink), topic, clientId)
    const position = { seq: 0, epoch: 'e' }
    hub.activate(sub, ackFrame(clientId, topic, position), { position, publications: [] })
    return { sink, sub }
  }
  return { hub, subscribe }
}

const events = (sink: FakeSink) => sink.take().filter((f) => f.type === 'event').map((f) => f.seq)

describe('Subscription queue', () => {
  test('idle subscriptions share one empty queue of the hub’s capacity', async () => {
    const { hub, subscribe } = setup()
    const a = subscribe('t', 'a')
    const b = subscribe('u', 'b')
    await turn()
    expect(a.sink.take().map((f) => f.type)).toEqual(['ack'])
    expect(a.sub.queue).toBe(b.sub.queue)
    expect(a.sub.queue.size).toBe(0)
    expect(a.sub.queue.capacity).toBe(QUEUE)
    expect(a.sub.unreported).toBe(0)
    hub.closeAll(1001, 'done')
  })

  test('a queued frame gives the subscription its own queue; the shared one stays empty, and drops stay with their subscription', async () => {
    const { hub, subscribe } = setup()
    const slow = subscribe('t', 'slow')
    const healthy = subscribe('t', 'healthy')
    const idle: Subscription[] = [subscribe('u', 'idle1').sub, subscribe('u', 'idle2').sub]
    await turn()
    slow.sink.take()
    healthy.sink.take()
    slow.sink.stall()
    for (let seq = 1; seq <= QUEUE + 3; seq++) hub.publication(publication('t', seq))
    await turn()

    // The stalled subscriber holds the newest QUEUE events in a queue of its own, and lost 3.
    expect(slow.sub.queue).not.toBe(idle[0]!.queue)
    expect(slow.sub.queue.size).toBe(QUEUE)
    expect(slow.sub.unreported).toBe(3)
    // The healthy one read everything; the idle ones still share the empty queue, with nothing dropped.
    expect(events(healthy.sink)).toEqual(Array.from({ length: QUEUE + 3 }, (_, i) => i + 1))
    expect(idle[0]!.queue).toBe(idle[1]!.queue)
    expect(idle[0]!.queue.size).toBe(0)
    expect(idle[0]!.unreported).toBe(0)

    // Unstalled: the SLOW_CONSUMER notice reports the 3 and the queue size, then the kept events in order.
    slow.sink.unstall()
    hub.drained(slow.sub.connection)
    await turn()
    const frames = slow.sink.take()
    expect(frames[0]).toMatchObject({ type: 'error', topic: 't', error: { code: 'SLOW_CONSUMER', dropped: 3 } })
    expect(frames[0]!.error.message).toContain(`queue size ${QUEUE}`)
    expect(frames.slice(1).map((f) => f.seq)).toEqual(Array.from({ length: QUEUE }, (_, i) => i + 4))
    expect(slow.sub.unreported).toBe(0)
    expect(idle[0]!.queue.size).toBe(0)
    hub.closeAll(1001, 'done')
  })

  test('a subscription that ends with drops unreported hands its SLOW_CONSUMER notice to the client before what follows, reported once', async () => {
    const notices: SlowConsumerEpisode[] = []
    const { hub, subscribe } = setup({ ...noopObserver, slowConsumer: (kind, episode) => void (kind === 'notice' && notices.push(episode)) })
    const slow = subscribe('t', 'slow')
    await turn()
    slow.sink.take()
    slow.sink.stall()
    for (let seq = 1; seq <= QUEUE + 3; seq++) hub.publication(publication('t', seq))
    await turn()
    expect(hub.unsubscribe(slow.sub.connection, 't')).toBe('emptied')
    hub.reply(slow.sub.connection, JSON.stringify({ type: 'ack', request_id: 'u' }))
    expect(notices).toEqual([{ connection: slow.sub.connection.id, topic: 't', dropped: 3 }])
    slow.sink.unstall()
    hub.drained(slow.sub.connection)
    await turn()
    const frames = slow.sink.take()
    expect(frames[0]).toMatchObject({ type: 'error', topic: 't', error: { code: 'SLOW_CONSUMER', dropped: 3 } })
    expect(frames.slice(1, -1).map((f) => f.seq)).toEqual(Array.from({ length: QUEUE }, (_, i) => i + 4))
    expect(frames.at(-1)).toMatchObject({ type: 'ack', request_id: 'u' })
    expect(notices).toHaveLength(1)
    hub.closeAll(1001, 'done')
  })
})
