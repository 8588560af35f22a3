/**
 * The clock, timers and randomness the client uses, as one small interface so
 * that tests can drive reconnect delays and heartbeat timeouts without a
 * global fake (and without sleeping). `realTimers` is the default.
 */
export interface Timers {
  /** Milliseconds on a monotonic clock. */
  now(): number
  /** Milliseconds since 1970 (wall clock): compared with a token's `exp`. */
  epochMs(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
  /** A number in [0, 1): the jitter of reconnect delays. */
  random(): number
}

export const realTimers: Timers = {
  now: () => (typeof performance !== 'undefined' ? performance.now() : Date.now()),
  epochMs: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  random: () => Math.random(),
}
