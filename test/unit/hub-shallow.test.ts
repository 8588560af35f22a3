/**
 * Which path a lone event per turn takes (Hub.shallow): after a few such turns a
 * topic's events go through the queues and the per-connection flush, unless the
 * topic has more subscribers than `shallowMaxSubscribers`, where they are cast
 * natively every turn. The hub alone, with fake sinks and a fake native fan-out.
 */
import { describe, expect, test } from 'bun:test'
import { Hub } from '../../src/hub/hub'
import type { NativeFanout } from '../../src/hub/sink'
import { eventFrame } from '../../src/protocol/server-frames'
import { FakeSink, turn } from '../helpers/fake-sink'

/** The runtime's fan-out as Bun's server.publish behaves for one socket: every joined sink gets the text. */
class FakeFanout implements NativeFanout {
  readonly members = new Map<string, Set<FakeSink>>()
  casts = 0
  publish(topic: string, text: string): void {
    this.casts++
    for (const sink of this.members.get(topic) ?? []) sink.send(text)
  }
}

class NativeSink extends FakeSink {
  constructor(private readonly fanout: FakeFanout) {
    super()
  }
  joinNative(topic: string): void {
    const members = this.fanout.members.get(topic) ?? new Set()
    this.fanout.members.set(topic, members.add(this))
  }
  leaveNative(topic: string): void {
    this.fanout.members.get(topic)?.delete(this)
  }
}

const publication = (topic: string, seq: number) => {
  const frame = eventFrame(topic, seq, { id: crypto.randomUUID(), payload: seq })
  return { topic, seq, frame, bytes: Buffer.byteLength(frame) }
}

/** `subscribers` sinks on topic 't', then `events` publications, each alone in its turn; returns the casts and what each sink read. */
async function loneEvents(subscribers: number, events: number, shallowMaxSubscribers: number) {
  const hub = new Hub({ queueSize: 10, historySize: 10, slowConsumerPolicy: 'drop_oldest', socketHighWaterBytes: 1 << 20, shallowMaxSubscribers })
  const fanout = new FakeFanout()
  hub.useNativeFanout(fanout)
  const sinks = Array.from({ length: subscribers }, () => new NativeSink(fanout))
  for (const [i, sink] of sinks.entries()) {
    const sub = hub.beginSubscribe(hub.connect(sink), 't', `c${i}`)
    hub.activate(sub, JSON.stringify({ type: 'ack', topic: 't', status: 'ok', seq: 0 }), { position: { seq: 0, epoch: 'e' }, publications: [] })
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
