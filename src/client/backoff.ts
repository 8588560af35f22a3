/**
 * Reconnect delays: exponential backoff with full jitter (AWS Architecture
 * Blog, "Exponential Backoff And Jitter"; centrifuge-js does the same). The
 * n-th consecutive failed attempt (n = 0, 1, 2, …) waits a uniformly random
 * time in [0, min(maxDelayMs, minDelayMs × 2ⁿ)). Full jitter spreads the
 * clients of a restarted server over the whole window instead of letting them
 * return together.
 */
export interface BackoffOptions {
  /** Ceiling of the first delay, in ms. */
  minDelayMs: number
  /** Largest ceiling, in ms: the window stops doubling there. */
  maxDelayMs: number
}

/** The delay before reconnect attempt `attempt` (0-based); `random` is in [0, 1). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: number): number {
  // 2 ** attempt overflows to Infinity past ~1024 attempts; Math.min keeps the ceiling finite.
  const ceiling = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** Math.min(attempt, 64))
  return Math.floor(random * ceiling)
}
