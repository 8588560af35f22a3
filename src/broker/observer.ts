/**
 * What the broker reports as it works, for metrics. Every method is called on
 * the hot path, so implementations only increment counters. The default does
 * nothing.
 */
export interface BrokerObserver {
  /** One publish to `topic`, its event frame `bytes` long. */
  published(topic: string, bytes: number): void
  /** `count` frames (events, replies, notices) written to sockets, `bytes` in total, in one flush. */
  delivered(count: number, bytes: number): void
  /** One message dropped from a slow subscriber's queue on `topic` (drop-oldest). */
  dropped(topic: string): void
  /** A SLOW_CONSUMER notice was sent (drop_oldest) or a slow connection was closed (disconnect). */
  slowConsumer(kind: 'notice' | 'disconnect'): void
  /** The delay between a frame being queued and its flush beginning, in seconds (sampled once per flush). */
  flushDelay(seconds: number): void
}

export const noopObserver: BrokerObserver = {
  published() {},
  delivered() {},
  dropped() {},
  slowConsumer() {},
  flushDelay() {},
}
