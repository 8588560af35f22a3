/**
 * Joins this instance's hub (local delivery) to the engine (shared state):
 * every operation that REST and /ws can ask for, and the one EngineHandler
 * through which publications and topic ends come back from the engine,
 * whichever instance caused them (centrifuge's Node between its Hub and
 * Broker). Results are `Sync<T>`: synchronous with the memory engine.
 */
import type { Engine, EngineHandler, LocalCounts, Publication, Published, StreamPosition } from './engine/engine'
import { type RecoveryRequest, decideRecovery } from './engine/recovery'
import { ErrorCode, HeraldError } from './errors'
import type { Connection } from './hub/connection'
import type { Backlog, Hub } from './hub/hub'
import type { Sink } from './hub/sink'
import type { Subscription } from './hub/subscription'
import type { Message } from './protocol/frames'
import { type PresenceList, Presence } from './presence'
import { ackFrame, now } from './protocol/server-frames'
import { type Sync, both, isPromise, then } from './util/sync'

export interface SubscribeRequest {
  topic: string
  clientId: string
  lastN: number
  /** Resume from this position instead of replaying lastN (since_seq + epoch). */
  resume?: RecoveryRequest
  /** Also send this subscription join/leave info frames (src/presence.ts). */
  presence?: boolean
  requestId?: string
}

export interface PubSubOptions {
  /** How long an unsubscribe waits for publications the engine acknowledged but has not delivered yet (Redis). Default 1000 ms. */
  deliveryWaitMs?: number
  /** Most client_ids GET /topics/{name}/subscribers lists (PRESENCE_LIST_MAX). Default 1000. */
  presenceListMax?: number
}

/** Enough for any history an engine may hold (HISTORY_SIZE is at most 1,000,000). */
const RESUME_READ_LIMIT = 1_000_000

export interface TopicSummary {
  name: string
  /** Subscriptions over the cluster (this instance's at once, others' at most one report interval stale). */
  subscribers: number
}

export interface TopicStats {
  /** Messages published since the topic was created. */
  messages: number
  /** Current subscriptions, over the cluster. */
  subscribers: number
  /** Messages dropped from this instance's slow subscribers' queues (drop-oldest), summed over subscribers. */
  dropped: number
  /** UTF-8 bytes of event frames published. */
  bytes: number
  /** Messages held for replay. */
  history: number
  /** UTF-8 bytes of the messages held for replay. */
  history_bytes: number
  /** ISO time of the last publish, null if none. */
  last_publish: string | null
}

export interface HealthCounts {
  topics: number
  /** All subscriptions, over the cluster. */
  subscribers: number
  /** This instance's open connections. */
  connections: number
  /** Live instances of the cluster, this one included. */
  instances: number
  /** False when the engine could not be asked (Redis unreachable): the counts are then this instance's own. */
  engineReady: boolean
}

/** What PubSub reports, for the metrics. */
export interface PubSubObserver {
  /** One accepted publish on this instance, its event frame `bytes` long. */
  published(topic: string, bytes: number): void
}

export class PubSub implements EngineHandler {
  private closing = false
  private readonly presence: Presence
  private readonly deliveryWaitMs: number

  constructor(
    readonly hub: Hub,
    readonly engine: Engine,
    private readonly observer: PubSubObserver = { published() {} },
    options: PubSubOptions = {},
  ) {
    this.deliveryWaitMs = options.deliveryWaitMs ?? 1000
    this.presence = new Presence(hub, engine.presence, options.presenceListMax ?? 1000)
    engine.attach(this)
  }

  // EngineHandler: called by the engine, for publications and topic ends from any instance.
  publication(publication: Publication): void {
    this.hub.publication(publication)
  }

  topicGone(topic: string): void {
    if (this.hub.topicGone(topic)) this.engine.unsubscribe(topic)
  }

  localCounts(): LocalCounts {
    return { connections: this.hub.connectionCount(), subscribers: this.hub.subscriberCounts() }
  }

  // Connections.
  connect(sink: Sink): Connection {
    return this.hub.connect(sink)
  }

  /** Releases a connection's subscriptions (and the engine's follow of topics nobody here subscribes to any more). Idempotent. */
  disconnect(connection: Connection): void {
    for (const topic of this.hub.disconnect(connection)) this.engine.unsubscribe(topic)
  }

  drained(connection: Connection): void {
    this.hub.drained(connection)
  }

  reply(connection: Connection, text: string): void {
    this.hub.reply(connection, text)
  }

  /** The transport runs `connection`'s message handler between these two (Hub.enterHandler). */
  enterHandler(connection: Connection): void {
    this.hub.enterHandler(connection)
  }

  leaveHandler(): void {
    this.hub.leaveHandler()
  }

  /**
   * Queues the ack (with the topic's seq and epoch), then up to lastN messages
   * of history, then live events: no gap, no duplicate. Throws (or rejects
   * with) TOPIC_NOT_FOUND, LIMIT_EXCEEDED, UNAVAILABLE; nothing is queued then.
   */
  subscribe(connection: Connection, request: SubscribeRequest): Sync<void> {
    this.assertOpen()
    const sub = this.hub.beginSubscribe(connection, request.topic, request.clientId)
    let history
    try {
      const read = request.resume ? { sinceSeq: request.resume.sinceSeq, limit: RESUME_READ_LIMIT } : { last: request.lastN }
      // With presence, the view of other instances is loaded alongside, so that the first join/leave after the ack is right.
      const followed = this.engine.subscribe(request.topic, read)
      history = request.presence ? both(followed, this.presence.prepare(request.topic), (h) => h) : followed
    } catch (error) {
      this.abandon(sub)
      throw error
    }
    const activate = (h: Awaited<typeof history>) => {
      sub.presence = request.presence === true
      if (!request.resume) return this.hub.activate(sub, ackFrame(request.requestId, request.topic, h.position), h)
      let recovery
      try {
        recovery = decideRecovery(request.resume, h)
      } catch (error) {
        this.abandon(sub)
        throw error
      }
      // Never a partial recovery: either exactly since_seq + 1 … seq, or nothing (then live events only).
      const replay = recovery.recovered ? { position: h.position, publications: recovery.publications } : { position: h.position, publications: [] }
      const fields = recovery.recovered ? { recovered: true } : { recovered: false, missed: recovery.missed }
      return this.hub.activate(sub, ackFrame(request.requestId, request.topic, { ...h.position, ...fields }), replay)
    }
    if (!isPromise(history)) return activate(history)
    return history.then(activate, (error) => {
      this.abandon(sub)
      throw error
    })
  }

  /**
   * Ends this connection's subscription; what was published before is still
   * delivered, ahead of the reply the caller queues next. Idempotent for an
   * existing topic; TOPIC_NOT_FOUND for an unknown one.
   */
  unsubscribe(connection: Connection, topic: string): Sync<void> {
    // Not subscribed: the reply still says whether the topic exists.
    if (!this.hub.subscribed(connection, topic)) return then(this.engine.history(topic, { last: 0 }), () => undefined)
    const end = () => {
      if (this.hub.unsubscribe(connection, topic) === 'emptied') this.engine.unsubscribe(topic)
    }
    // Everything published before the unsubscribe is delivered before its ack. The memory engine has
    // delivered it already; an asynchronous engine may still be forwarding it: wait for the position.
    const now = this.engine.history(topic, { last: 0 })
    if (!isPromise(now)) return end()
    return now.then(
      (h) => this.hub.delivered(topic, h.position.seq, this.deliveryWaitMs).then(end),
      (error) => {
        // The topic is gone (its subscriptions already ended): say so. The engine unreachable: end it anyway.
        if (error instanceof HeraldError && error.code === ErrorCode.TOPIC_NOT_FOUND) throw error
        end()
      },
    )
  }

  /** Throws (or rejects with) TOPIC_NOT_FOUND, UNAVAILABLE. */
  publish(topic: string, message: Message): Sync<Published> {
    this.assertOpen()
    const published = this.engine.publish(topic, message, now())
    // The memory engine's answer is used at once: no closure, no promise on the hot path.
    if (!isPromise(published)) {
      this.observer.published(topic, published.bytes)
      return published
    }
    return published.then((p) => {
      this.observer.published(topic, p.bytes)
      return p
    })
  }

  /** Who subscribes to `topic`, over the cluster (see Presence.list). Throws (or rejects with) TOPIC_NOT_FOUND, UNAVAILABLE. */
  subscribers(topic: string): Sync<PresenceList> {
    return this.presence.list(topic, this.engine.history(topic, { last: 0 }))
  }

  createTopic(name: string): Sync<StreamPosition> {
    this.assertOpen()
    return this.engine.createTopic(name)
  }

  /** Subscribers everywhere get info topic_deleted (through `topicGone`). */
  deleteTopic(name: string): Sync<void> {
    return this.engine.deleteTopic(name)
  }

  listTopics(): Sync<TopicSummary[]> {
    return both(this.engine.topicNames(), this.engine.cluster(), (names, cluster) => names.map((name) => ({ name, subscribers: cluster.subscribers.get(name) ?? 0 })))
  }

  stats(): Sync<Record<string, TopicStats>> {
    return both(this.engine.stats(), this.engine.cluster(), (stats, cluster) => {
      const dropped = this.hub.droppedCounts()
      // fromEntries defines own keys, so a topic named '__proto__' is a key like any other (assignment would set the prototype).
      return Object.fromEntries(
        [...stats].map(([name, s]) => [
          name,
          {
            messages: s.messages,
            subscribers: cluster.subscribers.get(name) ?? 0,
            dropped: dropped.get(name) ?? 0,
            bytes: s.bytes,
            history: s.history,
            history_bytes: s.historyBytes,
            last_publish: s.lastPublish,
          },
        ]),
      )
    })
  }

  /** Never fails: without the engine, the counts are this instance's own (`engineReady` false). */
  health(): Sync<HealthCounts> {
    const local = (): HealthCounts => {
      const subscribers = [...this.hub.subscriberCounts().values()].reduce((a, n) => a + n, 0)
      return { topics: this.hub.subscriberCounts().size, subscribers, connections: this.hub.connectionCount(), instances: 1, engineReady: false }
    }
    if (!this.engine.ready()) return local()
    try {
      const counts = both(this.engine.topicNames(), this.engine.cluster(), (names, cluster) => {
        let subscribers = 0
        for (const n of cluster.subscribers.values()) subscribers += n
        return { topics: names.length, subscribers, connections: this.hub.connectionCount(), instances: cluster.instances, engineReady: true }
      })
      return isPromise(counts) ? counts.catch(local) : counts
    } catch {
      return local()
    }
  }

  /** True while this instance can serve: not shutting down, and the engine reachable. What GET /ready answers. */
  ready(): boolean {
    return !this.closing && this.engine.ready()
  }

  backlog(): Backlog {
    return this.hub.backlog()
  }

  idle(): boolean {
    return this.hub.idle()
  }

  /** Shutdown, step 1: from now on subscribe, publish and createTopic fail with UNAVAILABLE. */
  beginShutdown(): void {
    this.closing = true
  }

  notifyAll(text: string): void {
    this.hub.notifyAll(text)
  }

  closeAll(code: number, reason: string): void {
    this.hub.closeAll(code, reason)
  }

  /** Releases the engine (Redis connections). After closeAll. */
  close(): Promise<void> {
    return this.engine.close()
  }

  private abandon(sub: Subscription): void {
    if (this.hub.abandon(sub)) this.engine.unsubscribe(sub.topic.name)
    this.presence.abandoned(sub.topic.name)
  }

  private assertOpen(): void {
    if (this.closing) throw new HeraldError(ErrorCode.UNAVAILABLE, 'server is shutting down')
  }
}
