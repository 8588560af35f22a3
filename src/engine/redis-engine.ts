/**
 * The Redis engine (ENGINE=redis): several herald instances share topics,
 * seq, history and fan-out through one Redis. Keys, channels and scripts are
 * in `redis-scripts.ts`; the layers, faults and sizing in docs/scale-out.md.
 *
 * Two connections (ioredis, chosen by the figures in docs/scale-out.md):
 * - `commands`: the scripts and reads. Auto-pipelined: every command issued
 *   in one event-loop turn goes out in one write, so many publishes cost one
 *   round trip. A command that gets no answer within `commandTimeoutMs`
 *   (Redis down, paused, partitioned) fails, and the caller sends UNAVAILABLE:
 *   never a hang.
 * - `events`: PUB/SUB, one channel per topic this instance has subscribers
 *   for. ioredis resubscribes after a reconnect; this engine then also
 *   re-subscribes explicitly and catches up from the history stream, so what
 *   was published while the connection was down is delivered, in order,
 *   before newer live events.
 *
 * Per followed topic the engine keeps the epoch and the last seq it handed to
 * the hub. A live message with that seq or less is a duplicate (dropped); one
 * further ahead means a gap, which is filled from the stream first; another
 * epoch, or a topic hash that is gone, means the topic's seq started again
 * and the hub hears `topicGone` (its subscribers get topic_deleted), never a
 * seq that goes back.
 */
import Redis from 'ioredis'
import { ErrorCode, HeraldError } from '../errors'
import type { Logger } from '../log'
import type { Message } from '../protocol/frames'
import { eventFrameParts } from '../protocol/server-frames'
import type { ClusterCounts, Engine, EngineHandler, EngineTopicStats, History, HistoryRead, Published, StreamPosition } from './engine'
import { newEpoch } from './epoch'
import { RedisPresence } from './redis-presence'
import { type Live, parseLive, toHeraldError, toPublication } from './redis-replies'
import { CREATE, DELETE, EXPIRE, PUBLISH, READ } from './redis-scripts'

export interface RedisEngineOptions {
  url: string
  /** Every key and channel starts with it (REDIS_PREFIX). */
  prefix: string
  instanceId: string
  historySize: number
  /** Per-topic byte bound of the history stream; 0 = none. */
  historyMaxBytes?: number
  /** HISTORY_TTL_MS: entries older than this (by Redis's clock) are no longer held; 0 or absent = none. */
  historyTtlMs?: number
  maxTopics: number
  /** A command unanswered this long fails (UNAVAILABLE). Default 1000 ms. */
  commandTimeoutMs?: number
  /** How often this instance writes its counts for the cluster; they expire after five intervals. Default 2000 ms. */
  reportIntervalMs?: number
  log?: Logger
}

type Scripted = Redis & {
  /** numkeys, then the keys, then the args (see PUBLISH). */
  heraldPublish(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<Array<[number, string]>>
  heraldRead(meta: string, history: string, mode: 'last' | 'since', n: number, limit: number, ttlMs: number): Promise<[string, number, Array<[string, string[]]>]>
  heraldExpire(meta: string, history: string, ttlMs: number): Promise<number>
  heraldCreate(topics: string, meta: string, history: string, name: string, epoch: string, max: number): Promise<string>
  heraldDelete(topics: string, meta: string, history: string, name: string, channel: string): Promise<number>
}

/** A publish waiting for the batch of its event-loop turn. */
interface QueuedPublish {
  topic: string
  before: string
  after: string
  ts: string
  resolve: (published: Published) => void
  reject: (error: unknown) => void
}

/** Publishes per script call: bounds one script's run time in Redis (which serves nobody else meanwhile). */
const MAX_BATCH = 200

/** A topic this instance follows. */
class Followed {
  /** Unknown until the first read after SUBSCRIBE. */
  epoch: string | undefined
  /** The highest seq handed to the hub. */
  lastSeq = 0
  /** A read (first sync or catch-up) is running: live messages wait in `held`. */
  syncing = true
  /** Deleted or lost: live messages are ignored until the hub unsubscribes or subscribes again. */
  gone = false
  /** A catch-up read is in flight. */
  catching = false
  held: Live[] = []
  subscribed: Promise<unknown> | undefined

  constructor(readonly topic: string) {}
}

const NO_HANDLER: EngineHandler = { publication() {}, topicGone() {}, localCounts: () => ({ connections: 0, subscribers: new Map() }) }
/** Live messages held for one topic while it syncs; past it the held ones are dropped and the catch-up reads them from the stream. */
const MAX_HELD = 10_000

export class RedisEngine implements Engine {
  readonly kind = 'redis'
  readonly instanceId: string
  private readonly commands: Scripted
  private readonly events: Redis
  /** Presence between instances (redis-presence.ts): its own keys and channels, on these two connections. */
  readonly presence: RedisPresence
  private readonly followed = new Map<string, Followed>()
  private batch: QueuedPublish[] = []
  private batchesInFlight = 0
  private handler: EngineHandler = NO_HANDLER
  private readonly reportTimer: ReturnType<typeof setInterval>
  private readonly probeTimer: ReturnType<typeof setInterval>
  /**
   * False after a command timed out, until one succeeds. A Redis that stops
   * answering (stopped, partitioned) keeps its TCP connection open, so the
   * connection status alone would say "ready" while every command fails.
   */
  private answering = true
  private readonly timeoutMs: number
  private readonly reportMs: number
  private closed = false

  constructor(private readonly options: RedisEngineOptions) {
    this.instanceId = options.instanceId
    this.timeoutMs = options.commandTimeoutMs ?? 1000
    this.reportMs = options.reportIntervalMs ?? 2000
    const common = {
      commandTimeout: this.timeoutMs,
      connectTimeout: Math.max(this.timeoutMs, 1000),
      // Reconnect quickly and forever: herald recovers without a restart when Redis returns.
      retryStrategy: (attempt: number) => Math.min(50 * attempt, 500),
      // A command waiting for a reconnect fails at its timeout anyway; this stops ioredis retrying it on top.
      maxRetriesPerRequest: 1,
      lazyConnect: false,
    }
    this.commands = new Redis(options.url, { ...common, enableAutoPipelining: true, connectionName: `herald:${options.instanceId}:commands` }) as Scripted
    this.events = new Redis(options.url, { ...common, connectionName: `herald:${options.instanceId}:events` })
    // The batch's key count varies: given as the first argument of each call.
    this.commands.defineCommand('heraldPublish', { lua: PUBLISH })
    this.commands.defineCommand('heraldRead', { numberOfKeys: 2, lua: READ })
    this.commands.defineCommand('heraldExpire', { numberOfKeys: 2, lua: EXPIRE })
    this.commands.defineCommand('heraldCreate', { numberOfKeys: 3, lua: CREATE })
    this.commands.defineCommand('heraldDelete', { numberOfKeys: 3, lua: DELETE })
    this.presence = new RedisPresence({ commands: this.commands, events: this.events, prefix: options.prefix, instanceId: options.instanceId, reportMs: this.reportMs, call: (r) => this.call(r) })

    const log = options.log
    // Without an 'error' listener a dropped connection would be an uncaught exception; ioredis reconnects by itself.
    for (const [name, client] of [['commands', this.commands], ['events', this.events]] as const) {
      client.on('error', (error: Error) => log?.warn('redis_error', { connection: name, message: error.message }))
      client.on('close', () => !this.closed && log?.warn('redis_disconnected', { connection: name }))
      client.on('ready', () => {
        log?.info('redis_ready', { connection: name })
        if (name === 'events') void this.resubscribeAll()
        else this.catchUpAll()
      })
    }
    this.events.on('message', (channel: string, message: string) => this.onMessage(channel, message))
    this.reportTimer = setInterval(() => void this.report(), this.reportMs)
    this.reportTimer.unref?.()
    // A PING every timeout interval: readiness follows Redis even when no client sends anything.
    this.probeTimer = setInterval(() => void this.call(this.commands.ping()).catch(() => {}), this.timeoutMs)
    this.probeTimer.unref?.()
  }

  attach(handler: EngineHandler): void {
    this.handler = handler
  }

  ready(): boolean {
    return !this.closed && this.answering && this.commands.status === 'ready' && this.events.status === 'ready'
  }

  async createTopic(name: string): Promise<StreamPosition> {
    const max = this.options.maxTopics
    try {
      const epoch = await this.call(this.commands.heraldCreate(this.topicsKey, this.metaKey(name), this.historyKey(name), name, newEpoch(), max), name)
      return { seq: 0, epoch }
    } catch (error) {
      if (error instanceof HeraldError && error.code === ErrorCode.LIMIT_EXCEEDED) throw new HeraldError(error.code, `topic limit reached (MAX_TOPICS=${max})`)
      throw error
    }
  }

  async deleteTopic(name: string): Promise<void> {
    await this.call(this.commands.heraldDelete(this.topicsKey, this.metaKey(name), this.historyKey(name), name, this.channel(name)), name)
  }

  async topicNames(): Promise<string[]> {
    return this.call(this.commands.smembers(this.topicsKey))
  }

  async stats(): Promise<Map<string, EngineTopicStats>> {
    const names = await this.topicNames()
    const ttl = this.options.historyTtlMs ?? 0
    const pipeline = this.commands.pipeline() as ReturnType<Scripted['pipeline']> & { heraldExpire(meta: string, history: string, ttlMs: number): unknown }
    // With HISTORY_TTL_MS, an idle topic's expired entries go before they are counted (one script per topic, same pipeline).
    if (ttl > 0) for (const name of names) pipeline.heraldExpire(this.metaKey(name), this.historyKey(name), ttl)
    const offset = ttl > 0 ? names.length : 0
    for (const name of names) pipeline.hmget(this.metaKey(name), 's', 'b', 'ts', 'e', 'hb').xlen(this.historyKey(name))
    const replies = (await this.call(pipeline.exec())) ?? []
    const out = new Map<string, EngineTopicStats>()
    names.forEach((name, i) => {
      const [err, meta] = replies[offset + 2 * i] ?? []
      const len = replies[offset + 2 * i + 1]?.[1]
      const m = meta as (string | null)[] | undefined
      if (err || !m || m[3] === null) return // deleted between the two reads
      out.set(name, {
        messages: Number(m[0] ?? 0),
        bytes: Number(m[1] ?? 0),
        lastPublish: m[2] ?? null,
        epoch: m[3]!,
        historyBytes: Number(m[4] ?? 0),
        history: Number(len ?? 0),
      })
    })
    return out
  }

  /**
   * Queued, and sent with every other publish of this event-loop turn as one
   * script (see PUBLISH): one round trip and one script run for the batch.
   * While no batch is in flight a publish goes out at once (low rate, low
   * latency); while some are, at the end of the turn (high rate, big batches).
   * Publishes keep their order within the batch, batches keep theirs.
   */
  publish(topic: string, message: Message, ts: string): Promise<Published> {
    const [before, after] = eventFrameParts(topic, message, ts)
    return new Promise<Published>((resolve, reject) => {
      this.batch.push({ topic, before, after, ts, resolve, reject })
      // Nothing in flight: send at once (next tick), so that a lone publish waits for no event-loop turn.
      // Batches in flight: send at the end of the turn (setImmediate) — Bun runs the next-tick queue after
      // each WebSocket message callback, so only setImmediate collects every frame of the turn's reads.
      if (this.batch.length === 1) (this.batchesInFlight === 0 ? process.nextTick : setImmediate)(this.sendBatch)
    })
  }

  /** Sends the queued publishes, at most MAX_BATCH per script. */
  private readonly sendBatch = (): void => {
    const all = this.batch
    this.batch = []
    for (let i = 0; i < all.length; i += MAX_BATCH) void this.publishBatch(all.slice(i, i + MAX_BATCH))
  }

  private async publishBatch(batch: QueuedPublish[]): Promise<void> {
    const keys: string[] = []
    const args: (string | number)[] = [this.options.historySize, this.options.historyMaxBytes ?? 0, this.options.historyTtlMs ?? 0]
    for (const p of batch) {
      keys.push(this.metaKey(p.topic), this.historyKey(p.topic))
      args.push(p.before, p.after, this.channel(p.topic), p.ts)
    }
    let results: Array<[number, string]>
    this.batchesInFlight++
    try {
      results = await this.call(this.commands.heraldPublish(keys.length, ...keys, ...args))
    } catch (error) {
      for (const p of batch) p.reject(error)
      return
    } finally {
      this.batchesInFlight--
    }
    batch.forEach((p, i) => {
      const [seq, epoch] = results[i] ?? [0, '']
      if (seq === 0) p.reject(new HeraldError(ErrorCode.TOPIC_NOT_FOUND, `Topic '${p.topic}' does not exist`))
      else p.resolve({ seq, epoch, bytes: Buffer.byteLength(p.before) + String(seq).length + Buffer.byteLength(p.after) })
    })
  }

  async history(topic: string, read: HistoryRead): Promise<History> {
    const [epoch, seq, entries] = await this.read(topic, read)
    return { position: { seq, epoch }, publications: entries.map((e) => toPublication(topic, e)) }
  }

  async subscribe(topic: string, read: HistoryRead): Promise<History> {
    let f = this.followed.get(topic)
    if (!f || f.gone) {
      f = new Followed(topic)
      this.followed.set(topic, f)
    }
    const following = f
    following.subscribed ??= this.events.subscribe(this.channel(topic))
    try {
      // Confirmed before the read: every publish after the read reaches this instance on the channel.
      await this.call(following.subscribed, topic)
      const history = await this.history(topic, read)
      const position = history.position
      if (this.followed.get(topic) !== following) return history
      if (following.epoch === undefined) this.firstSync(following, position)
      else if (following.epoch !== position.epoch) {
        // The topic was deleted and created again since this instance followed it: the old incarnation's
        // subscribers end, the new one starts from this read.
        this.lose(following, 'deleted')
        const fresh = new Followed(topic)
        fresh.subscribed = following.subscribed
        this.followed.set(topic, fresh)
        this.firstSync(fresh, position)
      }
      return history
    } catch (error) {
      // A follow that never synced has no subscriber: forget it (the next subscribe starts again).
      if (this.followed.get(topic) === following && following.epoch === undefined) this.drop(following)
      throw error
    }
  }

  unsubscribe(topic: string): void {
    const f = this.followed.get(topic)
    if (f) this.drop(f)
  }

  async cluster(): Promise<ClusterCounts> {
    const local = this.handler.localCounts()
    const subscribers = new Map(local.subscribers)
    let connections = local.connections
    const ids = await this.call(this.commands.zrangebyscore(this.instancesKey, Date.now(), '+inf'))
    const others = ids.filter((id) => id !== this.instanceId)
    if (others.length > 0) {
      const pipeline = this.commands.pipeline()
      for (const id of others) pipeline.hgetall(this.instanceKey(id))
      for (const [, reply] of (await this.call(pipeline.exec())) ?? []) {
        for (const [field, value] of Object.entries((reply ?? {}) as Record<string, string>)) {
          if (field === 'c') connections += Number(value)
          else if (field.startsWith('t:')) subscribers.set(field.slice(2), (subscribers.get(field.slice(2)) ?? 0) + Number(value))
        }
      }
    }
    return { instances: others.length + 1, connections, subscribers }
  }

  async close(): Promise<void> {
    if (this.closed) return
    clearInterval(this.reportTimer)
    clearInterval(this.probeTimer)
    try {
      await Promise.race([this.presence.close(), Bun.sleep(this.timeoutMs)])
      await Promise.race([this.commands.multi().del(this.instanceKey(this.instanceId)).zrem(this.instancesKey, this.instanceId).exec(), Bun.sleep(this.timeoutMs)])
    } catch {}
    this.closed = true
    this.commands.disconnect()
    this.events.disconnect()
  }

  // Keys and channels: see redis-scripts.ts.
  private get topicsKey() {
    return `${this.options.prefix}:topics`
  }
  private get instancesKey() {
    return `${this.options.prefix}:instances`
  }
  private instanceKey(id: string) {
    return `${this.options.prefix}:instance:${id}`
  }
  private metaKey(topic: string) {
    return `${this.options.prefix}:topic:${topic}`
  }
  private historyKey(topic: string) {
    return `${this.options.prefix}:history:${topic}`
  }
  private channel(topic: string) {
    return `${this.options.prefix}:events:${topic}`
  }

  private read(topic: string, read: HistoryRead) {
    const mode = 'last' in read ? 'last' : 'since'
    const n = 'last' in read ? Math.min(read.last, this.options.historySize) : read.sinceSeq
    return this.call(this.commands.heraldRead(this.metaKey(topic), this.historyKey(topic), mode, n, 'limit' in read ? read.limit : 0, this.options.historyTtlMs ?? 0), topic)
  }

  /** Awaits a Redis reply; script errors become their HeraldError, anything else (timeout, no connection) UNAVAILABLE. */
  private async call<T>(reply: Promise<T>, topic?: string): Promise<T> {
    try {
      const value = await reply
      this.answering = true
      return value
    } catch (error) {
      const herald = toHeraldError(error, topic, this.timeoutMs)
      if (herald.code === ErrorCode.UNAVAILABLE) this.answering = false
      else this.answering = true // a script's own error is an answer
      throw herald
    }
  }

  private firstSync(f: Followed, position: StreamPosition): void {
    f.epoch = position.epoch
    f.lastSeq = position.seq
    this.release(f)
  }

  /** Hands held live messages to the hub, oldest first, and ends the sync. */
  private release(f: Followed): void {
    const held = f.held.sort((a, b) => a.seq - b.seq)
    f.held = []
    f.syncing = false
    for (const live of held) {
      if (f.syncing || f.gone) {
        f.held.push(live)
        continue
      }
      this.accept(f, live)
    }
  }

  private onMessage(channel: string, message: string): void {
    const prefix = `${this.options.prefix}:events:`
    if (!channel.startsWith(prefix)) return
    const f = this.followed.get(channel.slice(prefix.length))
    if (!f || f.gone) return
    if (message.startsWith('d ')) {
      if (f.epoch === undefined || message.slice(2) === f.epoch) this.lose(f, 'deleted')
      return
    }
    const live = parseLive(message)
    if (!live) return
    if (f.syncing) {
      if (f.held.length < MAX_HELD) f.held.push(live)
      return
    }
    this.accept(f, live)
  }

  private accept(f: Followed, live: Live): void {
    if (live.epoch !== f.epoch) return void this.catchUp(f)
    if (live.seq <= f.lastSeq) return
    if (live.seq > f.lastSeq + 1) {
      // A gap: what is missing is in the stream (or trimmed). Hold this one and read the rest first.
      f.held.push(live)
      return void this.catchUp(f)
    }
    f.lastSeq = live.seq
    this.handler.publication({ topic: f.topic, seq: live.seq, frame: live.frame, bytes: Buffer.byteLength(live.frame) })
  }

  /** Reads what `f` missed from the stream (after a gap or a reconnect), delivers it, then what was held. */
  private async catchUp(f: Followed): Promise<void> {
    if (f.epoch === undefined || f.gone || f.catching) return
    f.syncing = true
    f.catching = true
    try {
      const [epoch, seq, entries] = await this.read(f.topic, { sinceSeq: f.lastSeq, limit: Math.max(this.options.historySize, 1) })
      if (this.followed.get(f.topic) !== f || f.gone) return
      if (epoch !== f.epoch || seq < f.lastSeq) return this.lose(f, 'lost')
      for (const entry of entries) {
        const p = toPublication(f.topic, entry)
        if (p.seq <= f.lastSeq) continue
        if (p.seq > f.lastSeq + 1) this.options.log?.warn('redis_gap', { topic: f.topic, after: f.lastSeq, next: p.seq })
        f.lastSeq = p.seq
        this.handler.publication(p)
      }
      if (seq > f.lastSeq) {
        // Published but no longer in the stream (trimmed): subscribers see the gap in seq.
        this.options.log?.warn('redis_gap', { topic: f.topic, after: f.lastSeq, next: seq + 1 })
        f.lastSeq = seq
      }
      f.catching = false
      this.release(f)
    } catch (error) {
      if (error instanceof HeraldError && error.code === ErrorCode.TOPIC_NOT_FOUND) return this.lose(f, 'lost')
      // Redis unreachable: stay syncing; the next 'ready' runs the catch-up again.
      f.catching = false
    }
  }

  private catchUpAll(): void {
    for (const f of this.followed.values()) if (f.epoch !== undefined && !f.gone) void this.catchUp(f)
  }

  /** After the events connection came back: make sure every channel is subscribed (confirmed), then catch up. */
  private async resubscribeAll(): Promise<void> {
    const channels = [...this.followed.values()].filter((f) => !f.gone).map((f) => this.channel(f.topic))
    if (channels.length === 0) return
    try {
      await this.events.subscribe(...channels)
    } catch {
      return // the connection dropped again; its next 'ready' retries
    }
    this.catchUpAll()
  }

  /** The topic's seq started again, or it was deleted: the hub's subscribers get topic_deleted; later live messages are ignored. */
  private lose(f: Followed, reason: 'deleted' | 'lost'): void {
    if (f.gone) return
    f.gone = true
    f.held = []
    this.handler.topicGone(f.topic, reason)
  }

  private drop(f: Followed): void {
    this.followed.delete(f.topic)
    f.gone = true
    if (!this.closed) this.events.unsubscribe(this.channel(f.topic)).catch(() => {})
  }

  /** Writes this instance's counts with an expiry, so that a killed instance's counts disappear by themselves. */
  private async report(): Promise<void> {
    if (!this.ready()) return
    const local = this.handler.localCounts()
    const key = this.instanceKey(this.instanceId)
    const fields: Record<string, number> = { c: local.connections }
    for (const [topic, n] of local.subscribers) fields[`t:${topic}`] = n
    const expiry = 5 * this.reportMs
    try {
      await this.commands
        .multi()
        .del(key)
        .hset(key, fields)
        .pexpire(key, expiry)
        .zadd(this.instancesKey, Date.now() + expiry, this.instanceId)
        .zremrangebyscore(this.instancesKey, '-inf', Date.now())
        .exec()
    } catch {}
  }
}
