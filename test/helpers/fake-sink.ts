/**
 * A Sink with no socket behind it, for hub unit tests (centrifuge's
 * `testTransport`): it records every frame written and every close, and
 * `stall()` makes it report a large buffered amount, as a backed-up socket does.
 */
import type { Publication } from '../../src/engine/engine'
import type { NativeFanout, Sink } from '../../src/hub/sink'
import { eventFrame } from '../../src/protocol/server-frames'

export class FakeSink implements Sink {
  /** Every frame written, parsed, in write order. */
  readonly frames: Record<string, any>[] = []
  closedWith: { code: number; reason: string } | undefined
  buffered = 0
  corks = 0

  send(text: string): number {
    if (this.closedWith) return 0
    this.frames.push(JSON.parse(text))
    return text.length
  }
  cork(fn: () => void): void {
    this.corks++
    fn()
  }
  bufferedAmount(): number {
    return this.buffered
  }
  end(code: number, reason: string): void {
    this.closedWith ??= { code, reason }
  }

  /** Makes the sink look backed up: far above any high-water mark. */
  stall(): void {
    this.buffered = 1 << 30
  }
  unstall(): void {
    this.buffered = 0
  }
  /** Removes and returns the frames recorded so far. */
  take(): Record<string, any>[] {
    return this.frames.splice(0, this.frames.length)
  }
}

/** Flushes run on setImmediate: one turn lets the hub's pending flush run. */
export const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

/** The runtime's fan-out as Bun's server.publish behaves for one socket's order: every joined sink gets the text. Counts its calls. */
export class FakeNativeFanout implements NativeFanout {
  readonly members = new Map<string, Set<FakeSink>>()
  casts = 0
  publish(topic: string, text: string): void {
    this.casts++
    for (const sink of this.members.get(topic) ?? []) sink.send(text)
  }
}

/** A FakeSink that joins topics of a FakeNativeFanout, as a Bun socket does (Sink.joinNative). */
export class NativeFakeSink extends FakeSink {
  constructor(private readonly fanout: FakeNativeFanout) {
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

/** A publication as an engine hands it to the hub: event `seq` of `topic`, its frame built by the server's own frame builder. */
export function publication(topic: string, seq: number): Publication {
  const frame = eventFrame(topic, seq, { id: crypto.randomUUID(), payload: seq })
  return { topic, seq, frame, bytes: Buffer.byteLength(frame) }
}
