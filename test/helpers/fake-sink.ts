/**
 * A Sink with no socket behind it, for hub unit tests (centrifuge's
 * `testTransport`): it records every frame written and every close, and
 * `stall()` makes it report a large buffered amount, as a backed-up socket does.
 */
import type { Sink } from '../../src/hub/sink'

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
