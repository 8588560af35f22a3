/**
 * The in-memory broker: topics, history, subscriptions and the fan-out path.
 *
 * Fan-out: a publish serializes its event frame once, appends it to the
 * topic's history, and offers the same frame object to each subscription's
 * bounded queue. Connections with something queued are flushed once per
 * event-loop turn (setImmediate), inside `cork`, so a burst of publishes costs
 * one write per connection, not one per message. A connection whose sink is
 * backed up is skipped until the transport reports drain (or the stall poll
 * sees its buffer go down); meanwhile its queues fill and drop their oldest.
 */
import { CloseCode, CloseReason, ErrorCode, HeraldError } from '../errors'
import type { Message } from '../protocol/frames'
import { ackFrame, errorFrame, eventFrame, infoFrame, now } from '../protocol/server-frames'
import type { Broker, BrokerBacklog, BrokerHealth, PublishResult, Session, Sink, SubscribeRequest, TopicStats, TopicSummary } from './broker'
import { ClientConnection, type OutboundFrame } from './connection'
import { HistoryBudget } from './history'
import { Subscription } from './subscription'
import { type BrokerObserver, noopObserver } from './observer'
import { Topic } from './topic'

export interface MemoryBrokerOptions {
  queueSize: number
  historySize: number
  slowConsumerPolicy: 'drop_oldest' | 'disconnect'
  /** Bytes a sink may buffer before its messages wait in the broker's queues. */
  socketHighWaterBytes: number
  /** How often stalled sinks are re-checked in case a drain event is missed (ms). Default 50. */
  stallPollMs?: number
  /** Topics that may exist at once. Default unlimited. */
  maxTopics?: number
  /** Topics one connection may subscribe to. Default unlimited. */
  maxSubscriptionsPerConnection?: number
  /** Bytes of history kept per topic (HISTORY_MAX_BYTES). Default unlimited. */
  historyMaxBytes?: number
  /** Bytes of history kept over all topics; the oldest across topics goes first (HISTORY_TOTAL_MAX_BYTES). Default unlimited. */
  historyTotalMaxBytes?: number
  /**
   * Bytes that may wait for one connection, over its replies and all its
   * subscription queues (MAX_QUEUED_BYTES_PER_CONNECTION). Past it, drop_oldest
   * drops the offered subscription's oldest events; what still does not fit
   * closes the connection as a slow consumer. Default unlimited.
   */
  maxQueuedBytesPerConnection?: number
}

export class MemoryBroker implements Broker {
  private readonly topics = new Map<string, Topic>()
  private readonly connections = new Set<ClientConnection>()
  private nextConnectionId = 1
  /** Broker-wide order of every frame queued; see ClientConnection. */
  private serial = 0
  private dirty: ClientConnection[] = []
  private flushQueued = false
  private readonly stalled = new Set<ClientConnection>()
  private stallPoll: ReturnType<typeof setInterval> | undefined
  private closing = false
  /** When the pending flush was queued (performance.now()), for the flush-delay metric. */
  private flushQueuedAt = 0
  private readonly historyBudget: HistoryBudget
  private readonly maxQueuedBytes: number

  constructor(
    private readonly options: MemoryBrokerOptions,
    private readonly observer: BrokerObserver = noopObserver,
  ) {
    this.historyBudget = new HistoryBudget(options.historyTotalMaxBytes ?? Infinity)
    this.maxQueuedBytes = options.maxQueuedBytesPerConnection ?? Infinity
  }

  /** A connection whose sink is backed up and holds more unsent replies than this is closed as a slow consumer. */
  private get maxPendingReplies(): number {
    return this.options.queueSize + this.options.historySize
  }

  connect(sink: Sink): Session {
    const connection = new ClientConnection(this.nextConnectionId++, sink, this.options.socketHighWaterBytes)
    this.connections.add(connection)
    return connection
  }

  disconnect(session: Session): void {
    const connection = this.own(session)
    if (connection.closed) return
    connection.closed = true
    for (const sub of connection.subscriptions.values()) sub.topic.subscribers.delete(sub)
    connection.subscriptions.clear()
    this.connections.delete(connection)
    this.unstall(connection)
  }

  drained(session: Session): void {
    const connection = this.own(session)
    if (!connection.stalled) return
    this.unstall(connection)
    this.flushConnection(connection)
  }

  createTopic(name: string): void {
    this.assertOpen()
    if (this.topics.has(name)) throw new HeraldError(ErrorCode.TOPIC_EXISTS, `Topic '${name}' already exists`)
    const max = this.options.maxTopics ?? Infinity
    if (this.topics.size >= max) throw new HeraldError(ErrorCode.LIMIT_EXCEEDED, `topic limit reached (MAX_TOPICS=${max})`)
    this.topics.set(name, new Topic(name, { size: this.options.historySize, maxBytes: this.options.historyMaxBytes }, this.historyBudget))
  }

  deleteTopic(name: string): void {
    const topic = this.topic(name)
    this.topics.delete(name)
    const notice = this.frame(infoFrame('topic_deleted', name))
    for (const sub of topic.subscribers) {
      sub.connection.retire(sub)
      sub.connection.pushControl(notice)
      this.schedule(sub.connection)
    }
    topic.subscribers.clear()
    topic.history.clear()
  }

  listTopics(): TopicSummary[] {
    return [...this.topics.values()].map((t) => ({ name: t.name, subscribers: t.subscribers.size }))
  }

  subscribe(session: Session, request: SubscribeRequest): void {
    const connection = this.own(session)
    this.assertOpen()
    const topic = this.topic(request.topic)
    const existing = connection.subscriptions.get(topic.name)
    if (existing) existing.clientId = request.clientId
    else {
      const max = this.options.maxSubscriptionsPerConnection ?? Infinity
      if (connection.subscriptions.size >= max)
        throw new HeraldError(ErrorCode.LIMIT_EXCEEDED, `subscription limit reached (MAX_SUBSCRIPTIONS_PER_CONNECTION=${max})`)
      const sub = new Subscription(connection, topic, request.clientId, this.options.queueSize)
      connection.subscriptions.set(topic.name, sub)
      topic.subscribers.add(sub)
    }
    this.queueReply(connection, this.frame(ackFrame(request.requestId, topic.name)))
    // A replayed frame shares the history's text but gets a fresh serial: the reply queue stays sorted by serial.
    if (request.lastN > 0) for (const past of topic.history.last(request.lastN)) connection.pushControl(this.replayOf(past))
    this.checkQueued(connection)
    this.schedule(connection)
  }

  unsubscribe(session: Session, topicName: string): void {
    const connection = this.own(session)
    const topic = this.topic(topicName)
    const sub = connection.subscriptions.get(topicName)
    if (!sub) return
    connection.retire(sub)
    topic.subscribers.delete(sub)
  }

  publish(topicName: string, message: Message): PublishResult {
    this.assertOpen()
    const topic = this.topic(topicName)
    const seq = topic.seq + 1
    const ts = now()
    // Serialized before it counts: a payload that cannot be serialized (nesting too deep) must not consume a seq.
    const frame = this.frame(eventFrame(topic.name, seq, message, ts), true)
    topic.seq = seq
    topic.history.push(frame)
    topic.bytes += frame.bytes
    topic.lastPublish = ts
    this.observer.published(topic.name, frame.bytes)
    const evict = this.options.slowConsumerPolicy === 'disconnect'
    for (const sub of topic.subscribers) {
      const connection = sub.connection
      // A full queue on a socket that can still take bytes is not a slow consumer: it only means many
      // publishes arrived in this event-loop turn. Flush it now; drop-oldest is for a socket that is backed up.
      if (sub.queue.size === sub.queue.capacity && !connection.stalled) this.flushConnection(connection)
      if (connection.offer(sub, frame) !== undefined) {
        topic.dropped++
        this.observer.dropped(topic.name)
        if (evict) {
          this.evictSlow(connection, `queue overflow on topic '${topic.name}' (queue size ${this.options.queueSize}): disconnecting`)
          continue
        }
      }
      if (connection.queuedBytes > this.maxQueuedBytes && !this.fitQueued(connection, sub)) continue
      this.schedule(connection)
    }
    return { seq }
  }

  reply(session: Session, text: string): void {
    const connection = this.own(session)
    if (connection.closed) return
    this.queueReply(connection, this.frame(text))
    this.schedule(connection)
  }

  health(): BrokerHealth {
    let subscribers = 0
    for (const topic of this.topics.values()) subscribers += topic.subscribers.size
    return { topics: this.topics.size, subscribers, connections: this.connections.size }
  }

  stats(): Record<string, TopicStats> {
    // fromEntries defines own keys, so a topic named '__proto__' is a key like any other (assignment would set the prototype).
    return Object.fromEntries(
      [...this.topics.values()].map((t) => [
        t.name,
        {
          messages: t.seq,
          subscribers: t.subscribers.size,
          dropped: t.dropped,
          bytes: t.bytes,
          history: t.history.size,
          history_bytes: t.history.bytes,
          last_publish: t.lastPublish,
        },
      ]),
    )
  }

  backlog(): BrokerBacklog {
    let queued = 0
    let oldest = Infinity
    for (const c of this.connections) {
      queued += c.pendingReplies()
      for (const sub of c.subscriptions.values()) {
        queued += sub.queue.size
        const at = sub.queue.peek()?.at
        if (at !== undefined && at < oldest) oldest = at
      }
    }
    return { queued, stalled: this.stalled.size, oldestQueuedSeconds: oldest === Infinity ? 0 : (performance.now() - oldest) / 1000 }
  }

  idle(): boolean {
    for (const c of this.connections) if (c.hasPending() || c.sink.bufferedAmount() > 0) return false
    return true
  }

  /** Shutdown, step 1: from now on subscribe, publish and createTopic fail with UNAVAILABLE. */
  beginShutdown(): void {
    this.closing = true
  }

  /** Sends `text` to every connection at once, ahead of what is queued (shutdown notice). */
  notifyAll(text: string): void {
    for (const c of this.connections) c.sink.send(text)
  }

  /** Closes every connection with `code` and releases it. */
  closeAll(code: number, reason: string): void {
    for (const c of [...this.connections]) {
      c.sink.close(code, reason)
      this.disconnect(c)
    }
    clearInterval(this.stallPoll)
    this.stallPoll = undefined
  }

  private frame(text: string, event = false): OutboundFrame {
    // One object shape for every frame keeps the flush loops monomorphic.
    return { text, bytes: Buffer.byteLength(text), serial: ++this.serial, event, at: event ? performance.now() : 0 }
  }

  private replayOf(past: OutboundFrame): OutboundFrame {
    return { text: past.text, bytes: past.bytes, serial: ++this.serial, event: true, at: 0 }
  }

  private queueReply(connection: ClientConnection, frame: OutboundFrame): void {
    connection.pushControl(frame)
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
  private checkQueued(connection: ClientConnection): void {
    if (connection.closed) return
    if (!connection.stalled && connection.queuedBytes >= this.options.socketHighWaterBytes) this.flushConnection(connection)
    if (connection.queuedBytes > this.maxQueuedBytes) this.evictSlow(connection, `more than ${this.maxQueuedBytes} bytes unread: disconnecting`)
  }

  /**
   * A publish took `connection` over its byte budget. Writes what the socket
   * takes; under drop_oldest then drops the oldest events of `sub` (counted
   * and announced like any drop); closes the connection if it still does not
   * fit. Returns false when the connection was closed.
   */
  private fitQueued(connection: ClientConnection, sub: Subscription): boolean {
    if (!connection.stalled) this.flushConnection(connection)
    if (this.options.slowConsumerPolicy === 'drop_oldest')
      while (connection.queuedBytes > this.maxQueuedBytes && connection.dropOldest(sub)) {
        sub.topic.dropped++
        this.observer.dropped(sub.topic.name)
      }
    if (connection.closed) return false
    if (connection.queuedBytes <= this.maxQueuedBytes) return true
    this.evictSlow(connection, `more than ${this.maxQueuedBytes} bytes unread: disconnecting`)
    return false
  }

  private evictSlow(connection: ClientConnection, why: string): void {
    if (connection.closed) return
    connection.sink.send(errorFrame(undefined, ErrorCode.SLOW_CONSUMER, why))
    this.observer.slowConsumer('disconnect', { connection: connection.id, reason: why })
    connection.sink.close(CloseCode.SLOW_CONSUMER, CloseReason.SLOW_CONSUMER, 'after-delivery')
    this.disconnect(connection)
  }

  private schedule(connection: ClientConnection): void {
    if (connection.scheduled || connection.stalled || connection.closed) return
    connection.scheduled = true
    this.dirty.push(connection)
    if (!this.flushQueued) {
      this.flushQueued = true
      this.flushQueuedAt = performance.now()
      setImmediate(this.flushDirty)
    }
  }

  private readonly flushDirty = (): void => {
    this.flushQueued = false
    this.observer.flushDelay((performance.now() - this.flushQueuedAt) / 1000)
    const batch = this.dirty
    this.dirty = []
    for (const connection of batch) {
      connection.scheduled = false
      if (!connection.stalled) this.flushConnection(connection)
    }
  }

  private flushConnection(connection: ClientConnection): void {
    const written = connection.flush()
    if (written.frames > 0) this.observer.delivered(written.frames, written.bytes, written.events)
    if (connection.notices.length > 0) {
      for (const n of connection.notices) this.observer.slowConsumer('notice', { connection: connection.id, topic: n.topic, dropped: n.dropped })
      connection.notices.length = 0
    }
    if (connection.closed || !connection.hasPending()) return
    // Bun reports drain only after it had to buffer; if the kernel took everything, try again next turn.
    if (connection.sink.bufferedAmount() === 0) this.schedule(connection)
    else this.stall(connection)
  }

  private stall(connection: ClientConnection): void {
    connection.stalled = true
    this.stalled.add(connection)
    this.stallPoll ??= setInterval(this.pollStalled, this.options.stallPollMs ?? 50)
  }

  private unstall(connection: ClientConnection): void {
    connection.stalled = false
    this.stalled.delete(connection)
    if (this.stalled.size === 0 && this.stallPoll !== undefined) {
      clearInterval(this.stallPoll)
      this.stallPoll = undefined
    }
  }

  /** A safety net for a missed drain event: re-flush stalled sinks whose buffer went below the high-water mark. */
  private readonly pollStalled = (): void => {
    for (const connection of this.stalled)
      if (connection.sink.bufferedAmount() < this.options.socketHighWaterBytes) this.drained(connection)
  }

  private topic(name: string): Topic {
    const topic = this.topics.get(name)
    if (!topic) throw new HeraldError(ErrorCode.TOPIC_NOT_FOUND, `Topic '${name}' does not exist`)
    return topic
  }

  private own(session: Session): ClientConnection {
    if (!(session instanceof ClientConnection)) throw new TypeError('session was not created by this broker')
    return session
  }

  private assertOpen(): void {
    if (this.closing) throw new HeraldError(ErrorCode.UNAVAILABLE, 'server is shutting down')
  }
}
