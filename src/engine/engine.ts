/**
 * The engine: the state that every herald instance of a cluster shares, and
 * nothing local. It owns the topic registry, each topic's stream position
 * (`seq` + `epoch`), its history, and the stream of publications; it never
 * sees a socket, a connection or a queue (that is the hub, `src/hub/`). The
 * hub never sees Redis. A publication comes back from the engine to the hub
 * through one `EngineHandler`, whichever instance published it (centrifuge's
 * Broker / BrokerEventHandler split).
 *
 * Results are `Sync<T>`: the memory engine answers synchronously (a plain
 * value: the hot path pays no promise per publish), the Redis engine with a
 * promise. Callers handle both (`isPromise`).
 *
 * Guarantees every implementation gives the hub, per topic:
 * - `publish` assigns seq = previous + 1 within one epoch; the result is the
 *   position of the message once the engine holds it (for Redis: after Redis
 *   confirmed the script).
 * - For a topic the instance follows (`subscribe`), `handler.publication` is
 *   called for every publication with seq greater than the position that
 *   `subscribe` returned, in seq order, each once, until `unsubscribe` or
 *   `handler.topicGone`. Publications with a lower seq may also arrive
 *   (around the subscribe); the hub drops them by seq.
 * - When a topic's seq starts again (deleted and created again; data lost) its
 *   epoch changes, and a follower gets `topicGone` instead of a seq that goes
 *   back: a seq is never delivered twice, and never silently starts at 1
 *   again under a live subscriber.
 */
import type { PresenceTransport } from '../presence'
import type { Message } from '../protocol/frames'
import type { Sync } from '../util/sync'

/** Where a topic's stream is: the seq of its latest message (0 if none) and the epoch that seq counts in. */
export interface StreamPosition {
  readonly seq: number
  /**
   * Changes whenever the topic's seq starts again: the topic was deleted and
   * created again, the memory engine restarted, or Redis lost the topic's
   * data. "seq 5, epoch A" and "seq 5, epoch B" are different messages.
   */
  readonly epoch: string
}

/** What a publish returns: where the message is, and the UTF-8 bytes of its event frame (for the metrics). */
export interface Published extends StreamPosition {
  readonly bytes: number
}

/** One published message as it travels from the engine to the hubs. */
export interface Publication {
  readonly topic: string
  readonly seq: number
  /** The event frame's JSON text, serialized once by the publishing instance; every instance forwards these bytes. */
  readonly frame: string
  /** UTF-8 length of `frame`. */
  readonly bytes: number
  /** When it was published (ms since the Unix epoch), where an engine expires history (HISTORY_TTL_MS); else 0. */
  readonly at?: number
}

/** A value, or a promise of it: the memory engine answers synchronously, the Redis engine asynchronously. */
export type { Sync } from '../util/sync'

/** What to read from a topic's history. `last: 0` reads nothing but the position. */
export type HistoryRead = { last: number } | { sinceSeq: number; limit: number }

export interface History {
  /** The topic's position when the history was read: every publication returned has seq <= position.seq. */
  readonly position: StreamPosition
  /** Oldest first. */
  readonly publications: readonly Publication[]
}

/** Why a followed topic stopped: deleted (REST DELETE, anywhere in the cluster) or lost (the engine lost its data, e.g. Redis restarted without it). */
export type TopicGoneReason = 'deleted' | 'lost'

/** How publications and topic ends come back to the hub. Called synchronously from the engine's own event handlers. */
export interface EngineHandler {
  publication(publication: Publication): void
  topicGone(topic: string, reason: TopicGoneReason): void
  /** This instance's own counts, read when the engine reports them to the cluster (Redis: every few seconds). */
  localCounts(): LocalCounts
}

/** What one instance holds: its connections and its subscriptions per topic. */
export interface LocalCounts {
  connections: number
  subscribers: ReadonlyMap<string, number>
}

/** A topic as the engine holds it, with cluster-wide counters. */
export interface EngineTopicStats {
  /** Messages published since the topic was created (= its seq). */
  messages: number
  /** UTF-8 bytes of event frames published. */
  bytes: number
  /** Messages held for replay. */
  history: number
  /** UTF-8 bytes of the event frames held for replay. */
  historyBytes: number
  /** ISO time of the last publish, null if none. */
  lastPublish: string | null
  epoch: string
}

/** Cluster-wide figures. Other instances' counts are at most one report interval stale (Redis: 2 s). */
export interface ClusterCounts {
  /** Instances alive (reported within the expiry), this one included. */
  instances: number
  connections: number
  /** Subscriptions per topic, summed over instances. */
  subscribers: ReadonlyMap<string, number>
}

export interface Engine {
  /** 'memory' or 'redis': shown in /health. */
  readonly kind: string
  /** This instance's id (INSTANCE_ID): shown in /health and logs. */
  readonly instanceId: string
  /** How presence travels between instances; absent for an engine of one instance (memory, sqlite): presence is then this instance's own. */
  readonly presence?: PresenceTransport
  /** Must be called once, before anything else. */
  attach(handler: EngineHandler): void
  /** True while the engine can serve (Redis: both connections up). /ready answers 503 while false. */
  ready(): boolean

  /** Throws HeraldError TOPIC_EXISTS (anywhere in the cluster) or LIMIT_EXCEEDED (MAX_TOPICS). */
  createTopic(name: string): Sync<StreamPosition>
  /** Followers on every instance get `topicGone(name, 'deleted')`. Throws TOPIC_NOT_FOUND. */
  deleteTopic(name: string): Sync<void>
  /** Names of every topic in the cluster. */
  topicNames(): Sync<string[]>
  /** Every topic's counters. */
  stats(): Sync<Map<string, EngineTopicStats>>

  /**
   * Appends `message` to the topic's stream: next seq, history, and a
   * publication to every instance that follows the topic. `ts` is the
   * event's ISO time. Throws TOPIC_NOT_FOUND; UNAVAILABLE when the engine
   * cannot be reached (within about a second, never a hang).
   */
  publish(topic: string, message: Message, ts: string): Sync<Published>
  /** Reads history without following. Throws TOPIC_NOT_FOUND. */
  history(topic: string, read: HistoryRead): Sync<History>

  /**
   * Follows `topic` (idempotent: the hub calls it for every subscribe) and
   * reads its history as one step: the position returned is the one from
   * which `handler.publication` delivers (see the guarantees above).
   * Throws TOPIC_NOT_FOUND.
   */
  subscribe(topic: string, read: HistoryRead): Sync<History>
  /** Stops following `topic` (the hub calls it when its last local subscriber leaves). */
  unsubscribe(topic: string): void

  /** Cluster-wide counts (this instance's own from `handler.localCounts()`, fresh). */
  cluster(): Sync<ClusterCounts>

  /** Releases connections and timers. */
  close(): Promise<void>
}
