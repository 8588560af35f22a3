/**
 * What the hub reports as it works, for metrics and the slow-consumer log
 * lines. Every method is called on the hot path (or once per flush), so
 * implementations only add to counters. The default does nothing.
 */
export interface HubObserver {
  /**
   * One flush of one connection: `frames` frames (events, replies, notices)
   * written to its socket, `bytes` in total, `events` of them event frames
   * (live or replayed history).
   */
  delivered(frames: number, bytes: number, events: number): void
  /** `deliveries` events (subscribers × events) of one turn written by the native fan-out (Hub.cast); also counted in `delivered`. */
  cast(deliveries: number): void
  /** One message dropped from a slow subscriber's queue on `topic` (either policy). */
  dropped(topic: string): void
  /** A SLOW_CONSUMER notice was queued (drop_oldest) or a slow connection was closed (disconnect). */
  slowConsumer(kind: 'notice' | 'disconnect', episode: SlowConsumerEpisode): void
  /** The delay between a frame being queued and its flush beginning, in seconds (sampled once per flush). */
  flushDelay(seconds: number): void
}

/** One slow-consumer episode, for the log line. */
export interface SlowConsumerEpisode {
  /** The connection's session id. */
  connection: number
  /** The topic whose queue overflowed, when one did. */
  topic?: string
  /** Messages lost in the episode (notice). */
  dropped?: number
  /** Why the connection was closed (disconnect). */
  reason?: string
}

export const noopObserver: HubObserver = {
  delivered() {},
  cast() {},
  dropped() {},
  slowConsumer() {},
  flushDelay() {},
}
