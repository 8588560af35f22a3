/**
 * The hot-path half of the metrics: plain number fields that the hub, the
 * dispatcher and the WebSocket route add to. Nothing here hashes labels or
 * allocates per message (the flush-delay histogram is observed once per flush); the prom-client metrics in `registry.ts` read these
 * fields when Prometheus scrapes. Maps are keyed by small closed sets (frame
 * types, error codes, close codes), never by topic: per-topic series come
 * from the engine's stats at scrape time.
 *
 * It also writes the slow-consumer log lines, since it is the one observer
 * the hub reports episodes to.
 */
import { Histogram } from 'prom-client'
import type { HubObserver, SlowConsumerEpisode } from '../hub/observer'
import type { PubSubObserver } from '../pubsub'
import { CloseCode, type ErrorCode, errorCodeInfo } from '../errors'
import type { Logger } from '../log'
import type { WsObserver } from '../http/ws-route'

/** Close codes reported as themselves; any other code a client picks is counted as 'other' (bounded label values). */
const KNOWN_CLOSE_CODES = new Set([1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1011, ...Object.values(CloseCode)])

/** Bucket bounds of the flush-delay histogram, in seconds: 50 µs to 1 s (a flush normally runs on the next event-loop turn). */
export const FLUSH_DELAY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]

export class MetricsObserver implements HubObserver, PubSubObserver, WsObserver {
  publishedCount = 0
  publishedBytes = 0
  deliveredCount = 0
  /** Of deliveredCount, those written by the native fan-out. */
  castCount = 0
  framesSent = 0
  bytesSent = 0
  droppedCount = 0
  slowNotices = 0
  slowDisconnects = 0
  bytesReceived = 0
  connectionsOpened = 0
  // Every known label value starts at 0, so a series exists before its first increment (rate() and alerts see the first one).
  readonly framesReceived = new Map<string, number>(['subscribe', 'unsubscribe', 'publish', 'ping', 'refresh', 'invalid', 'rate_limited'].map((t) => [t, 0]))
  readonly errorsSent = new Map<string, number>((Object.keys(errorCodeInfo) as ErrorCode[]).filter((c) => errorCodeInfo[c].ws).map((c) => [c, 0]))
  readonly closes = new Map<string, number>()
  /** Observed once per flush (not per message), so prom-client's own histogram is cheap enough; registry.ts registers it. */
  readonly flushDelayHistogram = new Histogram({
    name: 'herald_flush_delay_seconds',
    help: 'Delay between the first frame queued for a flush and the flush starting (publish-to-write latency inside the server), one sample per flush.',
    buckets: FLUSH_DELAY_BUCKETS,
    registers: [],
  })

  constructor(private readonly log: Logger) {}

  published(_topic: string, bytes: number): void {
    this.publishedCount++
    this.publishedBytes += bytes
  }

  delivered(frames: number, bytes: number, events: number): void {
    this.framesSent += frames
    this.bytesSent += bytes
    this.deliveredCount += events
  }

  cast(deliveries: number): void {
    this.castCount += deliveries
  }

  dropped(): void {
    this.droppedCount++
  }

  slowConsumer(kind: 'notice' | 'disconnect', episode: SlowConsumerEpisode): void {
    add(this.errorsSent, 'SLOW_CONSUMER')
    if (kind === 'notice') {
      this.slowNotices++
      this.log.warn('slow_consumer', { action: 'notice', session: episode.connection, topic: episode.topic, dropped: episode.dropped })
    } else {
      this.slowDisconnects++
      this.log.warn('slow_consumer', { action: 'disconnect', session: episode.connection, reason: episode.reason })
    }
  }

  flushDelay(seconds: number): void {
    this.flushDelayHistogram.observe(seconds)
  }

  frameReceived(type: string): void {
    add(this.framesReceived, type)
  }

  errorSent(code: ErrorCode, session: number, message: string): void {
    add(this.errorsSent, code)
    // A client's mistake, not the server's: debug, so that a client sending garbage cannot flood the log.
    this.log.debug('ws_error_sent', { session, code, message })
  }

  messageBytes(bytes: number): void {
    this.bytesReceived += bytes
  }

  opened(): void {
    this.connectionsOpened++
  }

  closed(code: number): void {
    add(this.closes, KNOWN_CLOSE_CODES.has(code) ? String(code) : 'other')
  }
}

function add(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1)
}
