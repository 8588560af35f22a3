/**
 * Which path a lone event per turn takes (Hub.shallow): after a few such turns a
 * topic's events go through the queues and the per-connection flush, unless the
 * topic has more subscribers than `shallowMaxSubscribers`, where they are cast
 * natively every turn. The hub alone, with fake sinks and a fake native fan-out.
 */
import { describe, expect, test } from 'bun:test'
import { Hub } from '../../src/hub/hub'
import { ackFrame } from '../../src/protocol/server-frames'
import { FakeNativeFanout, NativeFakeSink, publication, turn } from '../helpers/fake-sink'

/** `subscribers` sinks on topic 't', then `events` publications, each alone in its turn; returns the casts and what each sink read. */
async function loneEvents(subscribers: number, events: number, shallowMaxSubscribers: number) {
  const hub = new Hub({ queueSize: 10, historySize: 10, slowConsumerPolicy: 'drop_oldest', socketHighWaterBytes: 1 << 20, shallowMaxSubscribers })
  const fanout = new FakeNativeFanout()
  hub.useNativeFanout(fanout)
  const sinks = Array.from({ length: subscribers }, () => new NativeFakeSink(fanout))
  for (const [i, sink] of sinks.entries()) {
    const sub = hub.beginSubscribe(hub.connect(sink), 't', `c${i}`)
    const position = { seq: 0, epoch: 'e' }
    hub.activate(sub, ackFrame(`s${i}`, 't', position), { position, publications: [] })
  }
  await turn()
  for (let seq = 1; seq <= events; seq++) {
    hub.publication(publication('t', seq))
    await turn()
  }
  const seqs = sinks.map((s) => s.take().filter((f) => f.type === 'event').map((f) => f.seq))
  hub.closeAll(1001, 'done')
  return { casts: fanout.casts, seqs }
}

describe('Hub: lone events per turn', () => {
  const every = (n: number) => Array.from({ length: n }, (_, i) => i + 1)

  test('on a topic with at most shallowMaxSubscribers subscribers, they leave the native fan-out after a few turns', async () => {
    const { casts, seqs } = await loneEvents(3, 12, 3)
    expect(casts).toBeGreaterThan(0)
    expect(casts).toBeLessThan(12)
    for (const s of seqs) expect(s).toEqual(every(12))
  })

  test('on a topic with more, every one is cast natively', async () => {
    const { casts, seqs } = await loneEvents(3, 12, 2)
    expect(casts).toBe(12)
    for (const s of seqs) expect(s).toEqual(every(12))
  })
})
