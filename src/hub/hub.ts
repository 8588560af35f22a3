/**
 * The hub: this instance's connections, their subscriptions, and the fan-out
 * of publications to local sockets. The same for every engine; synchronous,
 * transport-free (it writes to a `Sink`) and engine-free (publications come in
 * through `publication`, from whichever engine and instance).
 *
 * Fan-out: a publication's event frame (serialized once, by the publishing
 * instance) becomes one OutboundFrame offered to each local subscription's
 * bounded queue. Connections with something queued are flushed once per
 * event-loop turn (setImmediate), inside `cork`, so a burst of publications
 * costs one write per connection, not one per message. A connection whose
 * sink is backed up is skipped until the transport reports drain (or the
 * stall poll sees its buffer go down); meanwhile its queues fill and drop
 * their oldest. A reply made inside its own connection's message handler,
 * with nothing else waiting there, is written at once instead (`writeThrough`).
 */
import { CloseCode, CloseReason, ErrorCode, HeraldError } from '../errors'
import type { History, Publication } from '../engine/engine'
import { errorFrame, infoFrame } from '../protocol/server-frames'
import { SlotList } from '../util/slot-list'
import { Connection, type Notice, type OutboundFrame } from './connection'
import { LocalTopic } from './local-topic'
import { type HubObserver, noopObserver } from './observer'
import type { NativeFanout, Sink } from './sink'
import { Held, Subscription, SubscriptionQueue } from './subscription'

export interface HubOptions {
  queueSize: number
  /** Bounds the replies a stalled connection may leave unread: QUEUE_SIZE + HISTORY_SIZE. */
  historySize: number
  slowConsumerPolicy: 'drop_oldest' | 'disconnect'
  /** Bytes a sink may buffer before its messages wait in the hub's queues. */
  socketHighWaterBytes: number
  /** How often stalled sinks are re-checked in case a drain event is missed (ms). Default 50. */
  stallPollMs?: number
  /** Topics one connection may subscribe to. Default unlimited. */
  maxSubscriptionsPerConnection?: number
  /**
   * Bytes that may wait for one connection, over its replies and all its
   * subscription queues (MAX_QUEUED_BYTES_PER_CONNECTION). Past it, drop_oldest
   * drops the offered subscription's oldest events; what still does not fit
   * closes the connection as a slow consumer. Default unlimited.
   */
  maxQueuedBytesPerConnection?: number
  /** Topics with more local subscribers than this are never shallow (Hub.shallow). Default 2,000 (SHALLOW_MAX_SUBSCRIBERS). */
  shallowMaxSubscribers?: number
}

/**
 * Told when a subscription becomes active (every activate, a re-subscribe
 * included) and when an active one ends (unsubscribe, disconnect, eviction,
 * shutdown), and when a topic ends here (deleted or lost: its subscriptions
 * end without `ended`). Presence listens; the publish path never calls it.
 */
export interface SubscriptionListener {
  started(sub: Subscription): void
  ended(sub: Subscription): void
  topicGone(topic: string): void
}

/**
 * Turns in a row with one event each after which a topic counts as shallow
 * (Hub.shallow). One turn is not enough: several publishers sharing a topic
 * make single-event turns between deeper ones, and those are cast.
 */
const SHALLOW_TURNS = 4

/**
 * Default of HubOptions.shallowMaxSubscribers: topics with more local subscribers are never
 * shallow. A lone event to many sockets is faster through one native publish than through a
 * queue, a flush and a write per subscriber (docs/performance.md, "Fifth pass").
 */
const SHALLOW_MAX_SUBSCRIBERS = 2_000

/**
 * The most events of one topic a turn defers for the native fan-out (Hub.defer); past it the
 * turn goes to the queues and the topic waits 1, 2, 4 … 64 turns before deferring again. Deep
 * turns are faster through the per-connection flush (one cork per connection for all its
 * frames) than through one native publish per event: docs/performance.md, "Issue 11".
 */
const CAST_MAX_EVENTS = 64

const NO_LISTENER: SubscriptionListener = { started() {}, ended() {}, topicGone() {} }

/** What waits inside this instance for slow sockets, for the metrics. */
export interface Backlog {
  /** Frames waiting in subscription queues and reply queues, summed over connections. */
  queued: number
  /** Connections whose socket is backed up (waiting for drain). */
  stalled: number
  /** Seconds since the oldest event still waiting in a subscription queue was queued; 0 when none waits. */
  oldestQueuedSeconds: number
}

export class Hub {
  private readonly topics = new Map<string, LocalTopic>()
  private readonly connections = new SlotList<'hubSlot', Connection>('hubSlot')
  private nextConnectionId = 1
  /** Hub-wide order of every frame queued; see Connection. */
  private serial = 0
  private dirty: Connection[] = []
  private flushQueued = false
  private readonly stalled = new Set<Connection>()
  private stallPoll: ReturnType<typeof setInterval> | undefined
  /** When the pending flush was queued (performance.now()), for the flush-delay metric. */
  private flushQueuedAt = 0
  private readonly maxQueuedBytes: number
  /**
   * What one deferred turn of a topic may hold: SOCKET_HIGH_WATER_BYTES or
   * MAX_QUEUED_BYTES_PER_CONNECTION in bytes, the smaller (each socket's own
   * room, read at the defer, may make a turn's `turnRoom` smaller), and
   * CAST_MAX_EVENTS or QUEUE_SIZE in events, the smaller (a turn that outgrows
   * them is queued as publication would have, and fits).
   */
  private readonly castMaxBytes: number
  private readonly castMaxEvents: number
  private readonly shallowMaxSubscribers: number
  /** The queue every subscription reads until its first frame (Subscription.ownQueue): empty, never pushed to. */
  private readonly emptyQueue: SubscriptionQueue
  private listener: SubscriptionListener = NO_LISTENER
  /** The runtime's fan-out, when the transport offers one (NATIVE_FANOUT); see `cast`. */
  private fanout: NativeFanout | undefined
  /** Topics whose events of this turn were deferred for the native fan-out (see `defer`), cast at the next flush. */
  private castTopics: LocalTopic[] = []
  /** Counts flushes of dirty connections: the event-loop turns, as the hub sees them (a topic tries `defer` once per turn). */
  private turnId = 0
  /**
   * The connection whose own message handler the transport is running
   * (`enterHandler`), where the runtime corks its socket: a reply written
   * there joins the handler's one write instead of waiting for the flush.
   */
  private inHandler: Connection | undefined

  constructor(
    private readonly options: HubOptions,
    private readonly observer: HubObserver = noopObserver,
  ) {
    this.maxQueuedBytes = options.maxQueuedBytesPerConnection ?? Infinity
    this.castMaxBytes = Math.min(options.socketHighWaterBytes, this.maxQueuedBytes)
    this.castMaxEvents = Math.min(CAST_MAX_EVENTS, options.queueSize)
    this.shallowMaxSubscribers = options.shallowMaxSubscribers ?? SHALLOW_MAX_SUBSCRIBERS
    this.emptyQueue = new SubscriptionQueue(options.queueSize, true)
  }

  /** A connection whose sink is backed up and holds more unsent replies than this is closed as a slow consumer. */
  private get maxPendingReplies(): number {
    return this.options.queueSize + this.options.historySize
  }

  /** Sets the one subscription listener (presence). */
  listen(listener: SubscriptionListener): void {
    this.listener = listener
  }

  /**
   * Lets the hub write a turn's events of a topic through the runtime's
   * fan-out when that changes nothing a client can see (see `cast`). Set before
   * the first connection: subscriptions that started earlier are never cast to.
   */
  useNativeFanout(fanout: NativeFanout): void {
    this.fanout = fanout
  }

  /** Registers a connection. Nothing is sent on connect. */
  connect(sink: Sink): Connection {
    const connection = new Connection(this.nextConnectionId++, sink)
    this.connections.add(connection)
    return connection
  }

  /**
   * Releases a connection's subscriptions and queues. Idempotent. Returns the
   * topics that have no local subscriber left (the caller stops following them).
   */
  disconnect(connection: Connection): string[] {
    // Evicted by the hub itself (slow consumer): the topics it left are handed over now, when the transport reports the close.
    if (connection.closed) return connection.takeAbandoned()
    connection.closed = true
    // Its share of a deferred turn goes with it: it left the topic natively too (detach).
    connection.deferred = undefined
    const emptied: string[] = []
    for (const sub of connection.allSubscriptions()) if (this.detach(sub)) emptied.push(sub.topic.name)
    connection.clearSubscriptions()
    this.connections.delete(connection)
    this.unstall(connection)
    return emptied
  }

  /** The transport calls this when a backpressured sink can take more. */
  drained(connection: Connection): void {
    if (!connection.stalled) return
    this.unstall(connection)
    this.flushConnection(connection)
  }

  /**
   * Starts `connection`'s subscription to `topic`, or returns the existing one
   * (its label updated). A new one is pending until `activate`. Throws
   * LIMIT_EXCEEDED (MAX_SUBSCRIPTIONS_PER_CONNECTION).
   */
  beginSubscribe(connection: Connection, topicName: string, clientId: string): Subscription {
    const existing = connection.subscription(topicName)
    if (existing) {
      existing.clientId = clientId
      return existing
    }
    const max = this.options.maxSubscriptionsPerConnection ?? Infinity
    if (connection.subscriptionCount() >= max) throw new HeraldError(ErrorCode.LIMIT_EXCEEDED, `subscription limit reached (MAX_SUBSCRIPTIONS_PER_CONNECTION=${max})`)
    let topic = this.topics.get(topicName)
    if (!topic) {
      topic = new LocalTopic(topicName)
      this.topics.set(topicName, topic)
    }
    const sub = new Subscription(connection, topic, clientId, this.emptyQueue)
    connection.addSubscription(sub)
    topic.pending.add(sub)
    return sub
  }

  /**
   * Completes a subscribe: queues `ack`, then the replay (`history`), then
   * the publications held while pending that are newer than the replay's
   * position, and from then on live publications. No gap and no duplicate
   * between replay and live. A subscription already active (a re-subscribe)
   * gets the ack and the replay after what its queue holds.
   * Does nothing if the subscription ended meanwhile (connection closed).
   */
  activate(sub: Subscription, ack: string, history: History): void {
    const connection = sub.connection
    if (connection.closed || connection.subscription(sub.topic.name) !== sub) return
    // A subscriber joining a topic whose turn is deferred would get that turn's events (cast natively) before its ack.
    if (sub.topic.deferred) this.materialize(sub.topic)
    this.settle(connection)
    this.queueReply(connection, this.frame(ack))
    if (connection.closed) return
    // A replayed frame shares the publication's text but gets a fresh serial: the reply queue stays sorted by serial.
    for (const p of history.publications) connection.pushReply(this.frame(p.frame, p.bytes, true))
    if (sub.pending) {
      sub.pending = false
      sub.topic.pending.delete(sub)
      sub.topic.subscribers.add(sub)
      if (this.fanout && connection.sink.joinNative) {
        connection.sink.joinNative(sub.topic.name)
        sub.native = true
        sub.topic.nativeCount++
      }
      const held = sub.held
      sub.held = undefined
      const after = history.position.seq
      if (held)
        for (let p = held.shift(); p !== undefined; p = held.shift()) {
          if (p.seq <= after) continue
          // As on the live path: a full queue on a socket that can take bytes is written out, not dropped.
          if (sub.queue.size === sub.queue.capacity && !connection.stalled) this.flushConnection(connection)
          this.offer(sub, this.frame(p.frame, p.bytes, true))
        }
    }
    this.checkQueued(connection)
    if (connection.closed) return
    this.schedule(connection)
    this.listener.started(sub)
  }

  /**
   * Ends a subscription whose subscribe failed (only a pending one: an active
   * one stays). Returns true when its topic has no local subscriber left.
   */
  abandon(sub: Subscription): boolean {
    if (!sub.pending || sub.connection.subscription(sub.topic.name) !== sub) return false
    sub.connection.deleteSubscription(sub.topic.name)
    return this.detach(sub)
  }

  /** True while `connection` subscribes (or is subscribing) to `topic`. */
  subscribed(connection: Connection, topicName: string): boolean {
    return connection.subscription(topicName) !== undefined
  }

  /**
   * Ends `connection`'s subscription to `topic`. Messages queued before it
   * are still delivered, ahead of whatever the caller queues next (the ack).
   * Returns 'none' when there was no subscription, 'emptied' when the topic
   * has no local subscriber left, else 'ok'.
   */
  unsubscribe(connection: Connection, topicName: string): 'none' | 'ok' | 'emptied' {
    const sub = connection.subscription(topicName)
    if (!sub) return 'none'
    this.settle(connection)
    this.reportNotice(connection, connection.retire(sub))
    return this.detach(sub) ? 'emptied' : 'ok'
  }

  /** One publication from the engine: to every local subscription of its topic. */
  publication(publication: Publication): void {
    const topic = this.topics.get(publication.topic)
    if (!topic) return
    if (publication.seq > topic.lastSeq) topic.lastSeq = publication.seq
    if (topic.waiters.length > 0) this.wake(topic)
    if (topic.pending.size > 0)
      for (const sub of [...topic.pending]) {
        // Held while the engine answers the subscribe: the subscriber is not slow, so nothing is dropped;
        // what is held counts against the connection's byte budget, past which it is evicted.
        const held = (sub.held ??= new Held())
        held.push(publication)
        held.bytes += publication.bytes
        const connection = sub.connection
        if (connection.queuedBytes + held.bytes > this.maxQueuedBytes)
          this.evictSlow(connection, `more than ${this.maxQueuedBytes} bytes waiting for a subscribe to complete: disconnecting`)
      }
    if (topic.subscribers.size === 0) return
    const frame = this.frame(publication.frame, publication.bytes, true)
    const shallow = this.fanout !== undefined && this.shallow(topic)
    if (topic.deferred) {
      if (topic.turn.length < this.castMaxEvents && topic.turnBytes + frame.bytes <= topic.turnRoom) {
        topic.turn.push(frame)
        topic.turnBytes += frame.bytes
        return
      }
      // A deep turn (or a socket without room for it): its events go to the queues, and the next turns of the topic are likely deep too.
      this.materialize(topic)
      this.castFailed(topic)
    } else if (this.fanout !== undefined && !shallow && topic.nativeCount === topic.subscribers.size && topic.retryTurn <= this.turnId && this.defer(topic, frame)) return
    this.deliverLocal(topic, frame)
  }

  /** One event to every local subscription's queue of `topic` (the per-connection path). */
  private deliverLocal(topic: LocalTopic, frame: OutboundFrame): void {
    const evict = this.options.slowConsumerPolicy === 'disconnect'
    const subscribers = topic.subscribers
    // A copy: an offer can evict a subscriber (another topic's materialize, the byte budget, the disconnect
    // policy), which removes it from the list mid-walk; a subscriber removed before its turn is skipped.
    for (const sub of subscribers.members().slice()) {
      if (!subscribers.has(sub)) continue
      const connection = sub.connection
      // Another topic's deferred events go first: they were published before this one.
      if (connection.deferred !== undefined) this.materialize(connection.deferred)
      // A full queue on a socket that can still take bytes is not a slow consumer: it only means many
      // publishes arrived in this event-loop turn. Flush it now; drop-oldest is for a socket that is backed up.
      const queue = sub.queue
      if (queue.size === queue.capacity && !connection.stalled) this.flushConnection(connection)
      if (connection.offer(sub, frame) !== undefined) {
        this.countDrop(sub)
        if (evict) {
          this.evictSlow(connection, `queue overflow on topic '${topic.name}' (queue size ${this.options.queueSize}): disconnecting`)
          continue
        }
      }
      if (connection.queuedBytes > this.maxQueuedBytes && !this.fitQueued(connection, sub)) continue
      this.schedule(connection)
    }
  }

  /**
   * The topic was deleted (anywhere) or its data was lost: every active local
   * subscription ends with info topic_deleted, after the events queued before.
   * Pending subscriptions stay (their subscribe is answered by the engine).
   * Returns true when the topic has no local subscriber left.
   */
  topicGone(topicName: string): boolean {
    const topic = this.topics.get(topicName)
    if (!topic) return false
    const notice = infoFrame('topic_deleted', topicName)
    if (topic.deferred) this.materialize(topic)
    const subscribers = topic.subscribers
    // A copy, as in deliverLocal: a settle can evict a subscriber mid-walk.
    for (const sub of subscribers.members().slice()) {
      if (!subscribers.has(sub)) continue
      const connection = sub.connection
      this.settle(connection)
      this.leaveNative(sub)
      this.reportNotice(connection, connection.retire(sub))
      // Not a reply to anything the client sent: it does not count against the unread-reply bound.
      connection.pushReply(this.frame(notice))
      this.schedule(connection)
    }
    topic.subscribers.clear()
    topic.dropped = 0
    this.wake(topic, true)
    this.listener.topicGone(topicName)
    if (topic.pending.size > 0) return false
    this.topics.delete(topicName)
    return true
  }

  /**
   * Resolves once the engine has handed this hub every publication of `topic`
   * up to `seq` (an asynchronous engine delivers publications later than it
   * acknowledges them), when the topic ends here, or after `timeoutMs`.
   */
  delivered(topicName: string, seq: number, timeoutMs: number): Promise<void> {
    const topic = this.topics.get(topicName)
    if (!topic || topic.lastSeq >= seq) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      topic.waiters.push({ seq, resolve: done })
    })
  }

  private wake(topic: LocalTopic, all = false): void {
    const waiting = topic.waiters
    topic.waiters = []
    for (const w of waiting) {
      if (all || topic.lastSeq >= w.seq) w.resolve()
      else topic.waiters.push(w)
    }
  }

  /** Queues a reply frame for one connection, in order with its events (or writes it at once: `writeThrough`). */
  reply(connection: Connection, text: string): void {
    if (connection.closed) return
    if (connection === this.inHandler && this.writeThrough(connection, text)) return
    this.settle(connection)
    this.queueReply(connection, this.frame(text))
    this.schedule(connection)
  }

  /**
   * The transport is about to run `connection`'s message handler (its socket
   * corked by the runtime until the handler returns); `leaveHandler` ends it.
   */
  enterHandler(connection: Connection): void {
    this.inHandler = connection
  }

  leaveHandler(): void {
    this.inHandler = undefined
  }

  /**
   * A reply inside the connection's own message handler, with nothing else
   * waiting on it (no reply, no queued event or notice, no deferred topic, no
   * flush pending) and its socket below SOCKET_HIGH_WATER_BYTES, is written
   * at once: it is what the flush would write first, and the runtime's cork
   * joins it to the handler's other writes. If the socket then reports
   * backpressure, the connection stalls and the next replies queue, counted
   * in bytes, as after a flush. Returns false when it must queue instead.
   */
  private writeThrough(connection: Connection, text: string): boolean {
    if (connection.scheduled || connection.stalled || !connection.idle()) return false
    const sink = connection.sink
    if (sink.bufferedAmount() >= this.options.socketHighWaterBytes) return false
    const sent = sink.send(text)
    this.observer.delivered(1, Buffer.byteLength(text), 0)
    if (sent < 0) this.stall(connection)
    return true
  }

  /** Open connections. */
  connectionCount(): number {
    return this.connections.size
  }

  /** Active subscriptions per topic (this instance only). */
  subscriberCounts(): Map<string, number> {
    const counts = new Map<string, number>()
    for (const t of this.topics.values()) if (t.subscribers.size > 0) counts.set(t.name, t.subscribers.size)
    return counts
  }

  /** Messages dropped from this instance's subscribers' queues, per topic (topics with none are absent). */
  droppedCounts(): Map<string, number> {
    const counts = new Map<string, number>()
    for (const t of this.topics.values()) if (t.dropped > 0) counts.set(t.name, t.dropped)
    return counts
  }

  /** Walks every connection: for scrapes, not for the hot path. */
  backlog(): Backlog {
    let queued = 0
    let oldest = Infinity
    for (const c of this.connections.members()) {
      queued += c.pendingReplies()
      for (const sub of c.allSubscriptions()) {
        queued += sub.queue.size
        const at = sub.queue.peek()?.at
        if (at !== undefined && at < oldest) oldest = at
      }
    }
    return { queued, stalled: this.stalled.size, oldestQueuedSeconds: oldest === Infinity ? 0 : (performance.now() - oldest) / 1000 }
  }

  /** True while the stall poll timer runs (only while some connection is stalled): lets tests check that no timer leaks. */
  polling(): boolean {
    return this.stallPoll !== undefined
  }

  /** True while a flush is queued for the next event-loop turn: lets tests check that nothing is left scheduled. */
  flushScheduled(): boolean {
    return this.flushQueued || this.dirty.length > 0
  }

  /** True while every connection's queues and the sink buffers are empty. */
  idle(): boolean {
    if (this.castTopics.length > 0) return false
    for (const c of this.connections.members()) if (c.hasPending() || c.sink.bufferedAmount() > 0) return false
    return true
  }

  /** Sends `text` to every connection at once, ahead of what is queued (shutdown notice). */
  notifyAll(text: string): void {
    for (const c of [...this.connections.members()]) c.sink.send(text)
  }

  /** Closes every connection with `code` and releases it. */
  closeAll(code: number, reason: string): void {
    for (const c of [...this.connections.members()]) {
      c.sink.end(code, reason)
      this.disconnect(c)
    }
    clearInterval(this.stallPoll)
    this.stallPoll = undefined
  }

  private frame(text: string, bytes = Buffer.byteLength(text), event = false): OutboundFrame {
    // One object shape for every frame keeps the flush loops monomorphic.
    return { text, bytes, serial: ++this.serial, event, at: event ? performance.now() : 0 }
  }

  /** The active subscriptions of `topic` here, in no particular order (a copy). */
  activeSubscriptions(topic: string): Subscription[] {
    return this.topics.get(topic)?.subscribers.members().slice() ?? []
  }

  /** Removes `sub` from its topic; drops the topic when nobody here subscribes any more. Returns true then. */
  private detach(sub: Subscription): boolean {
    const topic = sub.topic
    sub.connection.unmark(topic)
    const wasActive = topic.subscribers.delete(sub)
    topic.pending.delete(sub)
    this.leaveNative(sub)
    if (wasActive) this.listener.ended(sub)
    if (topic.size > 0 || this.topics.get(topic.name) !== topic) return false
    if (topic.dropped === 0) this.topics.delete(topic.name)
    return true
  }

  private leaveNative(sub: Subscription): void {
    if (!sub.native) return
    sub.native = false
    sub.topic.nativeCount--
    sub.connection.sink.leaveNative?.(sub.topic.name)
  }

  /**
   * The native fan-out, step 1: the first event of a turn on `topic` is
   * deferred instead of queued, when sending the turn's events with one
   * native call each (`cast`, at the flush) is the same as the per-connection
   * flush would do. That holds when every local subscriber joined the topic
   * natively, has nothing waiting (no reply, no queued event, no SLOW_CONSUMER
   * notice, no other deferred topic), is not backed up, and while the turn's
   * events fit in `castMaxEvents` and in `turnRoom`: `castMaxBytes` or the
   * least room any subscriber's socket has below SOCKET_HIGH_WATER_BYTES
   * when the turn is deferred, the smaller. Then no connection's
   * order changes (nothing else waits for it) and nothing can be dropped (the
   * socket takes it all, far below Bun's backpressure limit, past which Bun
   * would drop silently).
   *
   * Invariant while deferred: each subscriber's connection has `deferred` set
   * to the topic and nothing else queued; whatever would queue something on
   * such a connection (another topic's event, a reply, an unsubscribe, a
   * flush, a new subscriber to the topic) first `materialize`s the topic, so
   * the deferred events take their place in the queues, ahead of it, exactly
   * as if they had been queued when published.
   *
   * Costs one pass over the subscribers per turn, here (with a
   * buffered-amount read each), instead of a queue push and a write call per
   * subscriber and event; the cast and a materialize end the marks without one.
   */
  private defer(topic: LocalTopic, frame: OutboundFrame): boolean {
    if (frame.bytes > this.castMaxBytes) return false
    // One walk marks, checks and reads the room of every socket (at many connections every visit is a cache
    // miss). A subscriber with something waiting stops it; the marks made so far do not count (the topic is
    // not deferred) and the topic tries again next turn.
    const highWater = this.options.socketHighWaterBytes
    let room = this.castMaxBytes
    const subs = topic.subscribers.members()
    for (let i = 0; i < subs.length; i++) {
      const sub = subs[i]!
      const c = sub.connection
      if (c.stalled || c.closed || sub.unreported > 0 || c.hasPending()) return false
      const free = highWater - c.sink.bufferedAmount()
      if (free < room) room = free
      c.deferred = topic
    }
    if (room < frame.bytes) {
      // A socket without room for even this event: as a cast that does not fit.
      this.castFailed(topic)
      return false
    }
    topic.deferred = true
    topic.turn.push(frame)
    topic.turnBytes = frame.bytes
    topic.turnRoom = room
    this.castTopics.push(topic)
    this.queueFlush()
    return true
  }

  /**
   * Counts the topic's events per turn and tells whether this one is the
   * first of a turn on a topic whose last SHALLOW_TURNS turns (with events)
   * had one each: a shallow publisher (one message, then its ack). Its events take the
   * per-connection flush: for one event per turn it writes each socket at once
   * in subscription order, which measured lower latency and more deliveries
   * per second than one native call behind two passes over the subscribers
   * (docs/performance.md, "Shallow turns"); the native fan-out pays from two
   * events per turn on, and for a lone event too on a topic with more than
   * `shallowMaxSubscribers` subscribers here ("Fifth pass").
   */
  private shallow(topic: LocalTopic): boolean {
    if (topic.eventTurn === this.turnId) {
      topic.turnEvents++
      return false
    }
    topic.loneTurns = topic.turnEvents <= 1 ? topic.loneTurns + 1 : 0
    topic.eventTurn = this.turnId
    topic.turnEvents = 1
    return topic.loneTurns >= SHALLOW_TURNS && topic.subscribers.size <= this.shallowMaxSubscribers
  }

  /** A cast found a socket without room (it reads the buffered amount of every subscriber): the topic waits 1, 2, 4 … 64 turns before deferring again. */
  private castFailed(topic: LocalTopic): void {
    topic.retryTurn = this.turnId + topic.retryAfter
    topic.retryAfter = Math.min(64, topic.retryAfter * 2)
  }

  /** Queues a deferred topic's events on its subscribers, as publication would have; the rest of its turn is not deferred. */
  private materialize(topic: LocalTopic): void {
    // Ends every subscriber's mark (Connection.deferred).
    topic.deferred = false
    const frames = topic.turn
    topic.turn = []
    topic.turnBytes = 0
    topic.retryTurn = this.turnId + 1
    for (const frame of frames) this.deliverLocal(topic, frame)
  }

  /** A connection about to get something queued: its deferred topic, if any, goes to the queues first. */
  private settle(connection: Connection): void {
    if (connection.deferred !== undefined) this.materialize(connection.deferred)
  }

  /**
   * The native fan-out, step 2 (at the flush): one native call per deferred
   * event reaches every subscriber of the topic. Every socket had room for
   * the whole turn when it was deferred (`turnRoom`), and still has: until
   * now nothing was written to a deferred connection (the invariant of
   * `defer`) but Bun's own control frames, while the kernel only took bytes.
   * No walk: ending the turn ends every subscriber's mark.
   */
  private cast(topic: LocalTopic): void {
    topic.deferred = false
    const frames = topic.turn
    topic.turn = []
    const bytes = topic.turnBytes
    topic.turnBytes = 0
    const subs = topic.subscribers
    if (subs.size === 0) return
    for (const frame of frames) this.fanout!.publish(topic.name, frame.text)
    const deliveries = frames.length * subs.size
    this.observer.delivered(deliveries, bytes * subs.size, deliveries)
    this.observer.cast(deliveries)
    topic.retryAfter = 1
  }

  private queueFlush(): void {
    if (this.flushQueued) return
    this.flushQueued = true
    this.flushQueuedAt = performance.now()
    setImmediate(this.flushDirty)
  }

  private offer(sub: Subscription, frame: OutboundFrame): void {
    if (sub.connection.offer(sub, frame) !== undefined) this.countDrop(sub)
  }

  private countDrop(sub: Subscription): void {
    sub.topic.dropped++
    this.observer.dropped(sub.topic.name)
  }

  private queueReply(connection: Connection, frame: OutboundFrame): void {
    connection.pushReply(frame)
    if (connection.stalled && connection.pendingReplies() > this.maxPendingReplies)
      this.evictSlow(connection, `more than ${this.maxPendingReplies} replies unread: disconnecting`)
    else this.checkQueued(connection)
  }

  /**
   * Keeps what waits for one connection bounded in bytes whatever it sends:
   * a socket that can take bytes is written to now (not at the end of the
   * event-loop turn: one client's burst of frames must not pile up replies);
   * a connection still over MAX_QUEUED_BYTES_PER_CONNECTION is closed as a
   * slow consumer.
   */
  private checkQueued(connection: Connection): void {
    if (connection.closed) return
    if (!connection.stalled && connection.queuedBytes >= this.options.socketHighWaterBytes) this.flushConnection(connection)
    if (connection.queuedBytes > this.maxQueuedBytes) this.evictSlow(connection, `more than ${this.maxQueuedBytes} bytes unread: disconnecting`)
  }

  /**
   * A publication took `connection` over its byte budget. Writes what the
   * socket takes; under drop_oldest then drops the oldest events of `sub`
   * (counted and announced like any drop); closes the connection if it still
   * does not fit. Returns false when the connection was closed.
   */
  private fitQueued(connection: Connection, sub: Subscription): boolean {
    if (!connection.stalled) this.flushConnection(connection)
    if (this.options.slowConsumerPolicy === 'drop_oldest') while (connection.queuedBytes > this.maxQueuedBytes && connection.dropOldest(sub)) this.countDrop(sub)
    if (connection.closed) return false
    if (connection.queuedBytes <= this.maxQueuedBytes) return true
    this.evictSlow(connection, `more than ${this.maxQueuedBytes} bytes unread: disconnecting`)
    return false
  }

  private evictSlow(connection: Connection, why: string): void {
    if (connection.closed) return
    connection.sink.send(errorFrame(undefined, ErrorCode.SLOW_CONSUMER, why))
    this.observer.slowConsumer('disconnect', { connection: connection.id, reason: why })
    connection.sink.end(CloseCode.SLOW_CONSUMER, CloseReason.SLOW_CONSUMER, 'after-delivery')
    // Kept for the transport's disconnect (through PubSub), which releases the engine's follow of these topics.
    connection.abandon(this.disconnect(connection))
  }

  private schedule(connection: Connection): void {
    if (connection.scheduled || connection.stalled || connection.closed) return
    connection.scheduled = true
    this.dirty.push(connection)
    this.queueFlush()
  }

  private readonly flushDirty = (): void => {
    this.flushQueued = false
    this.observer.flushDelay((performance.now() - this.flushQueuedAt) / 1000)
    this.turnId++
    if (this.castTopics.length > 0) {
      const topics = this.castTopics
      this.castTopics = []
      for (const topic of topics) if (topic.deferred) this.cast(topic)
    }
    const batch = this.dirty
    this.dirty = []
    for (const connection of batch) {
      connection.scheduled = false
      if (!connection.stalled) this.flushConnection(connection)
    }
  }

  private flushConnection(connection: Connection): void {
    this.settle(connection)
    const written = connection.flush(this.options.socketHighWaterBytes)
    if (written.frames > 0) this.observer.delivered(written.frames, written.bytes, written.events)
    for (const notice of written.notices) this.reportNotice(connection, notice)
    if (connection.closed || !connection.hasPending()) return
    // Bun reports drain only after it had to buffer; if the kernel took everything, try again next turn.
    if (connection.sink.bufferedAmount() === 0) this.schedule(connection)
    else this.stall(connection)
  }

  /** A SLOW_CONSUMER notice queued or written on `connection`, to the observer. */
  private reportNotice(connection: Connection, notice: Notice | undefined): void {
    if (notice) this.observer.slowConsumer('notice', { connection: connection.id, topic: notice.topic, dropped: notice.dropped })
  }

  private stall(connection: Connection): void {
    connection.stalled = true
    this.stalled.add(connection)
    this.stallPoll ??= setInterval(this.pollStalled, this.options.stallPollMs ?? 50)
  }

  private unstall(connection: Connection): void {
    connection.stalled = false
    this.stalled.delete(connection)
    if (this.stalled.size === 0 && this.stallPoll !== undefined) {
      clearInterval(this.stallPoll)
      this.stallPoll = undefined
    }
  }

  /** A safety net for a missed drain event: re-flush stalled sinks whose buffer went below the high-water mark. */
  private readonly pollStalled = (): void => {
    for (const connection of this.stalled) if (connection.sink.bufferedAmount() < this.options.socketHighWaterBytes) this.drained(connection)
  }
}
