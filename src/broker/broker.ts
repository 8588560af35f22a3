/**
 * The broker's contract. The core never imports the transport: it talks to a
 * `Sink` (what a socket can do), and the WebSocket layer adapts a Bun socket
 * to it. A second implementation (Redis-backed, for several instances) must
 * satisfy `Broker` unchanged.
 */
import type { Message } from '../protocol/frames'

/** What the broker needs from a client's transport. */
export interface Sink {
  /** Writes one text frame. Returns bytes accepted (> 0), -1 when accepted but backpressured, 0 when dropped. */
  send(text: string): number
  /** Runs `fn` with writes batched into as few syscalls as possible. */
  cork(fn: () => void): void
  /** Bytes accepted by `send` but not yet handed to the kernel. */
  bufferedAmount(): number
  /**
   * Closes the connection; the transport later reports it through `Broker.disconnect`.
   * `when`: 'now' (default) sends the close frame at once; 'after-delivery' sends it
   * once the client has read everything written before it (a slow consumer that
   * resumes reading still gets its last frames, the SLOW_CONSUMER error and the
   * close code), and drops the connection if that takes longer than the
   * transport's timeout (CLOSE_FLUSH_TIMEOUT_MS).
   */
  close(code: number, reason: string, when?: 'now' | 'after-delivery'): void
}

/** An opaque handle for one client connection, returned by `connect`. */
export interface Session {
  readonly id: number
}

export interface SubscribeRequest {
  topic: string
  clientId: string
  lastN: number
  requestId?: string
}

export interface TopicSummary {
  name: string
  subscribers: number
}

export interface TopicStats {
  /** Messages published since the topic was created. */
  messages: number
  /** Current subscriptions. */
  subscribers: number
  /** Messages dropped from slow subscribers' queues (drop-oldest), summed over subscribers. */
  dropped: number
  /** UTF-8 bytes of event frames published. */
  bytes: number
  /** Messages held for replay. */
  history: number
  /** UTF-8 bytes of the messages held for replay (bounded by HISTORY_MAX_BYTES and HISTORY_TOTAL_MAX_BYTES). */
  history_bytes: number
  /** ISO time of the last publish, null if none. */
  last_publish: string | null
}

export interface BrokerHealth {
  topics: number
  /** All subscriptions, over all connections. */
  subscribers: number
  connections: number
}

/** What waits inside this server for slow sockets, for the metrics. */
export interface BrokerBacklog {
  /** Frames waiting in per-subscription queues and reply queues, summed over connections. */
  queued: number
  /** Connections whose socket is backed up (waiting for drain). */
  stalled: number
  /** Seconds since the oldest event still waiting in a subscription queue was published; 0 when none waits. */
  oldestQueuedSeconds: number
}

export interface PublishResult {
  seq: number
}

export interface Broker {
  /** Registers a connection. Nothing is sent on connect. */
  connect(sink: Sink): Session
  /** Releases a connection's subscriptions and queues. Idempotent. */
  disconnect(session: Session): void
  /** The transport calls this when a backpressured sink can take more. */
  drained(session: Session): void

  /** Throws HeraldError TOPIC_EXISTS. */
  createTopic(name: string): void
  /** Tells every subscriber with an info topic_deleted frame, then forgets the topic. Throws TOPIC_NOT_FOUND. */
  deleteTopic(name: string): void
  listTopics(): TopicSummary[]

  /** Sends the ack, then up to lastN messages of history, then live events. Throws TOPIC_NOT_FOUND. */
  subscribe(session: Session, request: SubscribeRequest): void
  /**
   * Idempotent for an existing topic. Throws TOPIC_NOT_FOUND. Messages published
   * before the unsubscribe are still delivered, ahead of its ack; none after.
   */
  unsubscribe(session: Session, topic: string): void
  /** Fans `message` out to the topic's subscribers. Throws TOPIC_NOT_FOUND. */
  publish(topic: string, message: Message): PublishResult

  /** Queues a reply frame for one connection, in order with its events. */
  reply(session: Session, text: string): void

  health(): BrokerHealth
  stats(): Record<string, TopicStats>
  /** Walks every connection: for scrapes, not for the hot path. */
  backlog(): BrokerBacklog

  /** True while every connection's queue and the sink buffers are empty. */
  idle(): boolean
}
