/**
 * The embedded engine (ENGINE=memory, the default): topics, seq, epoch and
 * history in this process's memory. Every call answers synchronously, so a
 * publish costs no promise and no extra turn: it serializes the event frame
 * once, appends it to the history ring, and hands the same publication to the
 * hub before returning.
 *
 * Nothing survives a restart: every topic created gets a fresh random epoch,
 * so a client that saw "seq 5" before a restart can tell it from "seq 5" after.
 */
import { ErrorCode, HeraldError } from '../errors'
import type { Message } from '../protocol/frames'
import { eventFrame } from '../protocol/server-frames'
import { History as HistoryRing, HistoryBudget } from './history'
import type { ClusterCounts, Engine, EngineHandler, EngineTopicStats, History, HistoryRead, Publication, Published, StreamPosition } from './engine'
import { newEpoch } from './epoch'

export interface MemoryEngineOptions {
  /** Messages kept per topic for replay (0 = none). */
  historySize: number
  /** Bytes of history kept per topic (HISTORY_MAX_BYTES). Default unlimited. */
  historyMaxBytes?: number
  /** Bytes of history kept over all topics; the oldest across topics goes first (HISTORY_TOTAL_MAX_BYTES). Default unlimited. */
  historyTotalMaxBytes?: number
  /** Messages older than this (ms) are no longer held (HISTORY_TTL_MS). 0 or absent = no expiry. */
  historyTtlMs?: number
  /** Topics that may exist at once. Default unlimited. */
  maxTopics?: number
  instanceId?: string
}

/** How often every topic's history is expired, so that an idle topic's expired messages are released too. */
const EXPIRY_SWEEP_MS = 1000

class MemoryTopic {
  seq = 0
  bytes = 0
  lastPublish: string | null = null
  /** A contiguous run of the newest messages (see history.ts): held seqs are seq - size + 1 … seq. */
  readonly history: HistoryRing<Publication>

  constructor(
    readonly name: string,
    readonly epoch: string,
    history: HistoryRing<Publication>,
  ) {
    this.history = history
  }

  position(): StreamPosition {
    return { seq: this.seq, epoch: this.epoch }
  }
}

const NO_HANDLER: EngineHandler = { publication() {}, topicGone() {}, localCounts: () => ({ connections: 0, subscribers: new Map() }) }

export class MemoryEngine implements Engine {
  readonly kind = 'memory'
  readonly instanceId: string
  private readonly topics = new Map<string, MemoryTopic>()
  private handler: EngineHandler = NO_HANDLER
  private readonly budget: HistoryBudget
  /** Expiry of idle topics' history; reads expire lazily too. Only with HISTORY_TTL_MS. */
  private readonly sweep: ReturnType<typeof setInterval> | undefined

  constructor(private readonly options: MemoryEngineOptions) {
    this.instanceId = options.instanceId ?? 'local'
    this.budget = new HistoryBudget(options.historyTotalMaxBytes ?? Infinity)
    if (options.historyTtlMs) {
      this.sweep = setInterval(() => {
        const now = Date.now()
        for (const t of this.topics.values()) t.history.expire(now)
      }, EXPIRY_SWEEP_MS)
      this.sweep.unref?.()
    }
  }

  attach(handler: EngineHandler): void {
    this.handler = handler
  }

  ready(): boolean {
    return true
  }

  createTopic(name: string): StreamPosition {
    if (this.topics.has(name)) throw new HeraldError(ErrorCode.TOPIC_EXISTS, `Topic '${name}' already exists`)
    const max = this.options.maxTopics ?? Infinity
    if (this.topics.size >= max) throw new HeraldError(ErrorCode.LIMIT_EXCEEDED, `topic limit reached (MAX_TOPICS=${max})`)
    const history = new HistoryRing<Publication>({ size: this.options.historySize, maxBytes: this.options.historyMaxBytes, ttlMs: this.options.historyTtlMs }, this.budget)
    const topic = new MemoryTopic(name, newEpoch(), history)
    this.topics.set(name, topic)
    return topic.position()
  }

  deleteTopic(name: string): void {
    const topic = this.topic(name)
    this.topics.delete(name)
    topic.history.clear()
    this.handler.topicGone(name, 'deleted')
  }

  topicNames(): string[] {
    return [...this.topics.keys()]
  }

  stats(): Map<string, EngineTopicStats> {
    const out = new Map<string, EngineTopicStats>()
    for (const t of this.topics.values()) {
      t.history.expire()
      out.set(t.name, { messages: t.seq, bytes: t.bytes, history: t.history.size, historyBytes: t.history.bytes, lastPublish: t.lastPublish, epoch: t.epoch })
    }
    return out
  }

  publish(topicName: string, message: Message, ts: string): Published {
    const topic = this.topic(topicName)
    const seq = topic.seq + 1
    // Serialized before it counts: a payload that cannot be serialized (nesting too deep) must not consume a seq.
    const frame = eventFrame(topic.name, seq, message, ts)
    const publication: Publication = { topic: topic.name, seq, frame, bytes: Buffer.byteLength(frame), at: this.sweep ? Date.now() : 0 }
    topic.seq = seq
    topic.bytes += publication.bytes
    topic.lastPublish = ts
    topic.history.push(publication)
    this.handler.publication(publication)
    return { seq, epoch: topic.epoch, bytes: publication.bytes }
  }

  history(topicName: string, read: HistoryRead): History {
    const topic = this.topic(topicName)
    return { position: topic.position(), publications: topic.history.read(topic.seq, read) }
  }

  /** Every publication already goes to the handler (the hub ignores topics nobody here subscribes to), so following is only a read. */
  subscribe(topicName: string, read: HistoryRead): History {
    return this.history(topicName, read)
  }

  unsubscribe(): void {}

  cluster(): ClusterCounts {
    const local = this.handler.localCounts()
    return { instances: 1, connections: local.connections, subscribers: local.subscribers }
  }

  async close(): Promise<void> {
    clearInterval(this.sweep)
  }

  private topic(name: string): MemoryTopic {
    const topic = this.topics.get(name)
    if (!topic) throw new HeraldError(ErrorCode.TOPIC_NOT_FOUND, `Topic '${name}' does not exist`)
    return topic
  }
}
