/**
 * A subscription waits ("pending") while an asynchronous engine answers its
 * subscribe; publications that arrive meanwhile are held, and none may be
 * dropped then — the subscriber is not slow, the engine is. The hub alone,
 * with a fake sink, driven as PubSub drives it.
 */
import { describe, expect, test } from 'bun:test'
import { Hub } from '../../src/hub/hub'
import { FakeSink, publication, turn } from '../helpers/fake-sink'

describe('Hub: publications while a subscribe is pending', () => {
  test('more than QUEUE_SIZE arrive before the engine answers: every one is delivered after the replay, in order, no SLOW_CONSUMER', async () => {
    const hub = new Hub({ queueSize: 10, historySize: 10, slowConsumerPolicy: 'drop_oldest', socketHighWaterBytes: 1 << 20 })
    const sink = new FakeSink()
    const connection = hub.connect(sink)
    const sub = hub.beginSubscribe(connection, 't', 'c')
    for (let seq = 6; seq <= 60; seq++) hub.publication(publication('t', seq)) // 55 while pending, queue size 10
    const replay = [1, 2, 3, 4, 5].map((seq) => publication('t', seq))
    hub.activate(sub, JSON.stringify({ type: 'ack', topic: 't', status: 'ok', seq: 5 }), { position: { seq: 5, epoch: 'e' }, publications: replay })
    await turn()
    const frames = sink.take()
    expect(frames[0]!.type).toBe('ack')
    expect(frames.filter((f) => f.type === 'error')).toEqual([])
    expect(frames.filter((f) => f.type === 'event').map((f) => f.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1))
    hub.closeAll(1001, 'done')
  })

  test('what is held counts against MAX_QUEUED_BYTES_PER_CONNECTION: past it the connection is evicted', () => {
    const hub = new Hub({ queueSize: 10, historySize: 10, slowConsumerPolicy: 'drop_oldest', socketHighWaterBytes: 1 << 20, maxQueuedBytesPerConnection: 64 * 1024 })
    const sink = new FakeSink()
    const connection = hub.connect(sink)
    hub.beginSubscribe(connection, 't', 'c')
    for (let seq = 1; seq <= 1000 && !sink.closedWith; seq++) hub.publication(publication('t', seq)) // ~150 bytes each
    expect(sink.closedWith?.code).toBe(4000)
    expect(sink.frames.at(-1)).toMatchObject({ type: 'error', error: { code: 'SLOW_CONSUMER' } })
  })
})
