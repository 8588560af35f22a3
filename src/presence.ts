/**
 * Presence: which client_ids subscribe to a topic, and join/leave events for
 * the subscriptions that asked for them (`"presence": true`).
 *
 * A client_id is present on a topic while at least one of its subscriptions
 * to it is active, on any instance. `join` goes out when its first one starts,
 * `leave` when its last one ends; a client_id with two connections gets one
 * join and one leave. Counted here, on subscribe/unsubscribe/disconnect (the
 * hub's SubscriptionListener): the publish path never sees presence.
 *
 * With a clustered engine (Redis) a `PresenceTransport` carries this
 * instance's counts and transitions to the others, and theirs to it. For a
 * topic with presence subscribers here, this instance keeps a view of which
 * other instances hold each client_id, so that a client_id on two instances
 * still joins once and leaves once. Without a transport (memory, sqlite: one
 * instance) the view is empty.
 *
 * Without a transport the counts are kept only for a topic with a presence
 * watcher here (they are what its join/leave events are decided on); GET
 * .../subscribers counts the hub's subscriptions when none is kept. An idle
 * subscriber of a topic nobody watches then costs no `Map` entry (~66 bytes:
 * docs/performance.md, "Third pass").
 */
import type { Hub, SubscriptionListener } from './hub/hub'
import type { Subscription } from './hub/subscription'
import { presenceFrame } from './protocol/server-frames'
import { type Sync, both } from './util/sync'

/** Other instances' counts for one topic: instance id → (client_id → subscriptions there). */
export type RemotePresence = Map<string, Map<string, number>>

/** Calls from the transport: other instances' transitions, and what to do after a lost message stream. */
export interface PresenceHandler {
  /** `clientId` became present (or absent) on `instance` for `topic`. */
  remote(topic: string, instance: string, clientId: string, present: boolean): void
  /** These instances' entries for `topic` expired (killed): their client_ids leave. */
  instancesGone(topic: string, instances: readonly string[]): void
  /** Messages may have been lost (the connection dropped): load the snapshot again and announce the differences. */
  resync(topic: string): void
}

/** How presence travels between instances (src/engine/redis-presence.ts). */
export interface PresenceTransport {
  attach(handler: PresenceHandler): void
  /** This instance now holds `connections` (0 = none) subscriptions of `clientId` to `topic`; `transition` when it became present or absent here. */
  update(topic: string, clientId: string, connections: number, transition?: 'join' | 'leave'): void
  /** Starts receiving other instances' transitions for `topic`; resolves with their current counts, taken after the stream started. */
  watch(topic: string): Promise<RemotePresence>
  /** Current counts of the other live instances (for a resync, or `watch` again). */
  snapshot(topic: string): Promise<RemotePresence>
  unwatch(topic: string): void
  /** The topic ended here: forget this instance's counts for it. */
  forget(topic: string): void
}

export interface PresenceList {
  topic: string
  /** Sorted by client_id; at most the configured limit. */
  subscribers: Array<{ client_id: string; connections: number }>
  /** Every client_id present, however many are listed. */
  total: number
}

class TopicPresence {
  /** client_id → active subscriptions here, while `counting`; empty otherwise. */
  readonly local = new Map<string, number>()
  /** `local` and every active subscription's `counted` are kept: always with a transport, else while the topic has a watcher. */
  counting = false
  /** Subscriptions here that asked for events. */
  readonly watchers = new Set<Subscription>()
  /** While watched over a transport: client_id → the other instances that hold it. */
  remote: Map<string, Set<string>> | undefined
  /** A watch started (the snapshot may still be loading). */
  watching: Promise<void> | undefined
  /** Other instances' transitions that arrived while the snapshot loaded: applied after it, in order (applying one twice changes nothing). */
  early: Array<{ instance: string; clientId: string; present: boolean }> = []
}

/** Transitions held while a snapshot loads; past it the rest are dropped and the view is loaded again. */
const MAX_EARLY = 10_000

export class Presence implements SubscriptionListener, PresenceHandler {
  private readonly topics = new Map<string, TopicPresence>()
  /** Events waiting to be queued: emission is never re-entered (queuing a frame may evict a connection, which ends subscriptions). */
  private readonly outbox: Array<{ topic: string; msg: 'join' | 'leave'; clientId: string }> = []
  private emitting = false

  constructor(
    private readonly hub: Hub,
    private readonly transport: PresenceTransport | undefined,
    /** Most client_ids GET /topics/{name}/subscribers lists (PRESENCE_LIST_MAX). */
    private readonly listMax: number,
  ) {
    hub.listen(this)
    transport?.attach(this)
  }

  /** Before a presence subscription activates: the view of other instances is loaded, so that its first events are right. */
  prepare(topic: string): Sync<void> {
    if (!this.transport) return
    const t = this.topic(topic)
    t.watching ??= this.transport.watch(topic).then(
      (snapshot) => {
        if (this.topics.get(topic) !== t) return
        t.remote = invert(snapshot)
        const early = t.early
        t.early = []
        for (const e of early) this.remote(topic, e.instance, e.clientId, e.present)
        if (early.length >= MAX_EARLY) this.resync(topic)
      },
      (error) => {
        if (this.topics.get(topic) === t) t.watching = undefined
        throw error
      },
    )
    return t.watching
  }

  /** A subscribe that prepared `topic` failed: forget the topic again unless someone here subscribes (bounds what failed subscribes leave behind). */
  abandoned(topic: string): void {
    const t = this.topics.get(topic)
    if (t) this.release(topic, t)
  }

  // SubscriptionListener: the hub's subscriptions.
  started(sub: Subscription): void {
    const topic = sub.topic.name
    // Nothing to keep: no transport, nobody watches the topic, and this subscription does not ask to.
    if (!this.transport && !sub.presence && !this.topics.has(topic)) return
    const t = this.topic(topic)
    if (!t.counting) this.startCounting(topic, t, sub)
    if (sub.presence) {
      t.watchers.add(sub)
      // Normally prepared before the subscribe's ack; again here if the record was dropped meanwhile.
      if (this.transport && !t.watching) void Promise.resolve(this.prepare(topic)).catch(() => {})
    } else t.watchers.delete(sub)
    if (sub.counted !== sub.clientId) {
      if (sub.counted !== undefined) this.count(topic, t, sub.counted, -1)
      sub.counted = sub.clientId
      this.count(topic, t, sub.clientId, +1)
    }
    // A watcher that subscribed again without presence may have been the last one.
    if (t.watchers.size === 0 && !this.transport) this.stopCounting(topic, t)
    this.release(topic, t)
  }

  ended(sub: Subscription): void {
    const topic = sub.topic.name
    const t = this.topics.get(topic)
    if (!t || sub.counted === undefined) return
    t.watchers.delete(sub)
    this.count(topic, t, sub.counted, -1)
    sub.counted = undefined
    if (t.watchers.size === 0 && !this.transport) this.stopCounting(topic, t)
    this.release(topic, t)
  }

  /**
   * Counts the topic's active subscriptions here, all but `sub` (which the
   * caller counts, announcing its join): the first watcher of a topic
   * nobody counted for, or any subscription with a transport.
   */
  private startCounting(topic: string, t: TopicPresence, sub: Subscription): void {
    t.counting = true
    sub.counted = undefined
    for (const s of this.hub.activeSubscriptions(topic)) {
      if (s === sub) continue
      s.counted = s.clientId
      t.local.set(s.clientId, (t.local.get(s.clientId) ?? 0) + 1)
    }
  }

  /** The last watcher left and no transport needs the counts: they are dropped (`list` counts the hub's subscriptions instead). */
  private stopCounting(topic: string, t: TopicPresence): void {
    t.counting = false
    t.local.clear()
    for (const s of this.hub.activeSubscriptions(topic)) s.counted = undefined
  }

  /** client_id → active subscriptions here: the kept counts, or counted now from the hub's subscriptions. */
  private localCounts(topic: string): Map<string, number> {
    const t = this.topics.get(topic)
    if (t?.counting) return t.local
    const counts = new Map<string, number>()
    for (const s of this.hub.activeSubscriptions(topic)) counts.set(s.clientId, (counts.get(s.clientId) ?? 0) + 1)
    return counts
  }

  topicGone(topic: string): void {
    const t = this.topics.get(topic)
    if (!t) return
    this.topics.delete(topic)
    if (t.watching) this.transport?.unwatch(topic)
    if (t.local.size > 0) this.transport?.forget(topic)
  }

  // PresenceHandler: other instances.
  remote(topic: string, instance: string, clientId: string, present: boolean): void {
    const t = this.topics.get(topic)
    if (!t?.watching) return
    if (!t.remote) {
      if (t.early.length < MAX_EARLY) t.early.push({ instance, clientId, present })
      return
    }
    const before = this.present(t, clientId)
    const where = t.remote.get(clientId)
    if (present) {
      if (where) where.add(instance)
      else t.remote.set(clientId, new Set([instance]))
    } else if (where) {
      where.delete(instance)
      if (where.size === 0) t.remote.delete(clientId)
    }
    this.announce(topic, t, clientId, before)
  }

  instancesGone(topic: string, instances: readonly string[]): void {
    const t = this.topics.get(topic)
    if (!t?.remote) return
    for (const [clientId, where] of [...t.remote]) for (const id of instances) if (where.has(id)) this.remote(topic, id, clientId, false)
  }

  resync(topic: string): void {
    const t = this.topics.get(topic)
    if (!t?.remote || !this.transport) return
    this.transport.snapshot(topic).then(
      (snapshot) => {
        if (this.topics.get(topic) !== t || !t.remote) return
        const next = invert(snapshot)
        for (const [clientId, where] of [...t.remote]) for (const id of where) if (!next.get(clientId)?.has(id)) this.remote(topic, id, clientId, false)
        for (const [clientId, where] of next) for (const id of where) if (!t.remote.get(clientId)?.has(id)) this.remote(topic, id, clientId, true)
      },
      () => {}, // Redis unreachable: its next 'ready' resyncs again
    )
  }

  /**
   * The topic's client_ids over the cluster: this instance's at once, the
   * others' as the transport holds them. `exists` throws TOPIC_NOT_FOUND.
   */
  list(topic: string, exists: Sync<unknown>): Sync<PresenceList> {
    const others = this.transport ? this.transport.snapshot(topic) : new Map()
    return both(exists, others, (_, remote) => {
      const merged = new Map(this.localCounts(topic))
      for (const counts of remote.values()) for (const [clientId, n] of counts) merged.set(clientId, (merged.get(clientId) ?? 0) + n)
      const ids = [...merged.keys()].sort()
      const subscribers = ids.slice(0, this.listMax).map((client_id) => ({ client_id, connections: merged.get(client_id)! }))
      return { topic, subscribers, total: ids.length }
    })
  }

  private topic(name: string): TopicPresence {
    let t = this.topics.get(name)
    if (!t) {
      t = new TopicPresence()
      this.topics.set(name, t)
    }
    return t
  }

  private present(t: TopicPresence, clientId: string): boolean {
    return t.local.has(clientId) || t.remote?.has(clientId) === true
  }

  /** One subscription of `clientId` more (+1) or fewer (−1) here; tells the transport, and the watchers if presence changed. */
  private count(topic: string, t: TopicPresence, clientId: string, delta: 1 | -1): void {
    const before = this.present(t, clientId)
    const n = (t.local.get(clientId) ?? 0) + delta
    if (n > 0) t.local.set(clientId, n)
    else t.local.delete(clientId)
    const transition = n === 1 && delta === 1 ? 'join' : n === 0 ? 'leave' : undefined
    this.transport?.update(topic, clientId, n, transition)
    this.announce(topic, t, clientId, before)
  }

  private announce(topic: string, t: TopicPresence, clientId: string, before: boolean): void {
    const after = this.present(t, clientId)
    if (before === after || t.watchers.size === 0) return
    this.outbox.push({ topic, msg: after ? 'join' : 'leave', clientId })
    this.flush()
  }

  private flush(): void {
    if (this.emitting) return
    this.emitting = true
    try {
      for (let e = this.outbox.shift(); e !== undefined; e = this.outbox.shift()) {
        const t = this.topics.get(e.topic)
        if (!t) continue
        const frame = presenceFrame(e.topic, e.msg, e.clientId)
        for (const sub of [...t.watchers]) this.hub.reply(sub.connection, frame)
      }
    } finally {
      this.emitting = false
    }
  }

  /** Drops a topic's record when nobody here subscribes or watches any more. */
  private release(topic: string, t: TopicPresence): void {
    if (t.watchers.size > 0 || t.local.size > 0) return
    if (this.topics.get(topic) !== t) return
    this.topics.delete(topic)
    if (t.watching) this.transport?.unwatch(topic)
  }
}

function invert(snapshot: RemotePresence): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>()
  for (const [instance, counts] of snapshot)
    for (const clientId of counts.keys()) {
      const where = out.get(clientId)
      if (where) where.add(instance)
      else out.set(clientId, new Set([instance]))
    }
  return out
}
