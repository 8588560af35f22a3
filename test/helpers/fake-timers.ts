/**
 * A manual clock for the client SDK's `timers` option: nothing fires until
 * `advance()`, so reconnect delays and heartbeat timeouts are asserted exactly
 * and without sleeping. Sockets stay real; only time is fake.
 */
import type { Timers } from '../../src/client/timers'

interface Pending {
  id: number
  at: number
  fn: () => void
}

export class FakeTimers implements Timers {
  private t = 0
  private nextId = 1
  private pending: Pending[] = []
  /** What random() returns (the reconnect jitter). */
  randomValue = 0.5

  now(): number {
    return this.t
  }
  epochMs(): number {
    return 1_700_000_000_000 + this.t
  }
  random(): number {
    return this.randomValue
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++
    this.pending.push({ id, at: this.t + Math.max(0, ms), fn })
    return id
  }
  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((p) => p.id !== handle)
  }
  /** Delays (from now) of the timers waiting to fire, soonest first. */
  delays(): number[] {
    return this.pending.map((p) => p.at - this.t).sort((a, b) => a - b)
  }
  /** Moves the clock forward, firing due timers in time order (timers they set are fired too if due). */
  advance(ms: number): void {
    const end = this.t + ms
    for (;;) {
      this.pending.sort((a, b) => a.at - b.at || a.id - b.id)
      const next = this.pending[0]
      if (!next || next.at > end) break
      this.pending.shift()
      this.t = next.at
      next.fn()
    }
    this.t = end
  }
}
