/**
 * A per-connection token bucket for incoming frames. A burst over the rate is
 * refused frame by frame (RATE_LIMITED) but never closes the connection; only
 * refusals sustained for `closeAfterMs` without a one-second pause do.
 */
export type Admission = 'ok' | 'limited' | 'abusive'

export interface RateLimitOptions {
  perSec: number
  /** 0 = same as perSec (at least 1). */
  burst: number
  closeAfterMs: number
}

/** A streak of refusals ends after this long without one. */
const STREAK_GAP_MS = 1000

export class RateLimiter {
  private readonly capacity: number
  private tokens: number
  private last: number
  private streakStart = 0
  private lastRefusal = -Infinity

  constructor(
    private readonly options: RateLimitOptions,
    private readonly clock: () => number = performance.now.bind(performance),
  ) {
    this.capacity = options.burst > 0 ? options.burst : Math.max(1, options.perSec)
    this.tokens = this.capacity
    this.last = clock()
  }

  admit(): Admission {
    const now = this.clock()
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.options.perSec) / 1000)
    this.last = now
    if (this.tokens >= 1) {
      this.tokens -= 1
      return 'ok'
    }
    if (now - this.lastRefusal > STREAK_GAP_MS) this.streakStart = now
    this.lastRefusal = now
    return now - this.streakStart >= this.options.closeAfterMs ? 'abusive' : 'limited'
  }
}
