/**
 * Presence over Redis (ENGINE=redis): how instances tell each other which
 * client_ids subscribe to a topic (src/presence.ts decides what that means).
 *
 * Keys and channel, for a topic `T` and an instance `I` (prefix `P`):
 * - `P:presence:T/I` hash: client_id → I's active subscriptions of it to T.
 * - `P:presence:T` sorted set: the instances that hold entries for T, scored
 *   by when those expire ('/' is in neither topic names nor instance ids, so
 *   no two pairs share a key).
 *   Both are written at once on every change (write-through), expire after
 *   five report intervals (10 s by default) and are refreshed every interval;
 *   a hash that vanished (Redis restarted without its data) is written again.
 * - `P:presence:T` channel: `["j"|"l", I, client_id]` when a client_id became
 *   present on (or absent from) I. Sent in the same MULTI as the hash write, so
 *   a watcher that subscribed to the channel and then read the hashes misses
 *   nothing. A channel of its own, not the topic's event channel: only
 *   instances with presence subscribers for T receive it.
 *
 * Staleness: the hashes are written at once, so a list is as fresh as Redis
 * (fresher than the counts, which wait for the report). A killed instance's
 * entries count until its score expires (within five report intervals); every
 * report interval a watching instance looks for instances whose score expired
 * and tells its watchers that their client_ids left.
 */
import type Redis from 'ioredis'
import type { PresenceHandler, PresenceTransport, RemotePresence } from '../presence'

export interface RedisPresenceOptions {
  commands: Redis
  /** The PUB/SUB connection (shared with the engine's event channels). */
  events: Redis
  prefix: string
  instanceId: string
  /** The engine's report interval (ms): keys expire after five of them, like the instance's counts. */
  reportMs: number
  /** Awaits a reply, mapping failures to UNAVAILABLE (the engine's `call`). */
  call<T>(reply: Promise<T>): Promise<T>
}

const NO_HANDLER: PresenceHandler = { remote() {}, instancesGone() {}, resync() {} }

export class RedisPresence implements PresenceTransport {
  private handler: PresenceHandler = NO_HANDLER
  /** This instance's counts, per topic: what its hashes hold (and are rewritten from). */
  private readonly local = new Map<string, Map<string, number>>()
  /** Topics whose channel this instance subscribes to, and the confirmation of that subscribe. */
  private readonly watched = new Map<string, Promise<unknown>>()
  /** Topics whose hash may not match `local` (a write failed, or the key vanished): rewritten whole at the next tick. */
  private readonly dirty = new Set<string>()
  /** Per watched topic, the other instances whose client_ids its view may hold (from snapshots and joins). */
  private readonly seen = new Map<string, Set<string>>()
  private readonly timer: ReturnType<typeof setInterval>
  private readonly expiryMs: number
  private closed = false

  constructor(private readonly options: RedisPresenceOptions) {
    this.expiryMs = 5 * options.reportMs
    options.events.on('message', (channel: string, message: string) => this.onMessage(channel, message))
    // After the PUB/SUB connection came back, transitions may have been missed: load every watched view again.
    options.events.on('ready', () => {
      for (const topic of this.watched.keys()) this.handler.resync(topic)
    })
    this.timer = setInterval(() => void this.tick(), options.reportMs)
    this.timer.unref?.()
  }

  attach(handler: PresenceHandler): void {
    this.handler = handler
  }

  update(topic: string, clientId: string, connections: number, transition?: 'join' | 'leave'): void {
    let counts = this.local.get(topic)
    if (!counts) {
      counts = new Map()
      this.local.set(topic, counts)
    }
    if (connections > 0) counts.set(clientId, connections)
    else counts.delete(clientId)
    if (counts.size === 0) this.local.delete(topic)
    const key = this.key(topic, this.options.instanceId)
    const multi = this.options.commands.multi()
    if (connections > 0) this.refresh(multi.hset(key, clientId, connections), topic)
    else {
      multi.hdel(key, clientId)
      if (!this.local.has(topic)) multi.zrem(this.instancesKey(topic), this.options.instanceId)
    }
    if (transition) multi.publish(this.channel(topic), JSON.stringify([transition === 'join' ? 'j' : 'l', this.options.instanceId, clientId]))
    // Best effort: a write lost while Redis is unreachable is repaired by the next tick's rewrite.
    multi.exec().catch(() => this.dirty.add(topic))
  }

  async watch(topic: string): Promise<RemotePresence> {
    let subscribed = this.watched.get(topic)
    if (!subscribed) {
      subscribed = this.options.events.subscribe(this.channel(topic))
      this.watched.set(topic, subscribed)
      this.seen.set(topic, new Set())
    }
    try {
      // Confirmed before the read: every transition after the read arrives on the channel.
      await this.options.call(subscribed)
    } catch (error) {
      if (this.watched.get(topic) === subscribed) this.unwatch(topic)
      throw error
    }
    return this.snapshot(topic)
  }

  async snapshot(topic: string): Promise<RemotePresence> {
    const { commands } = this.options
    const ids = await this.liveInstances(topic)
    const out: RemotePresence = new Map()
    // Seen: when one's score expires, the tick tells the watchers its client_ids left.
    const seen = this.seen.get(topic)
    if (seen) for (const id of ids) seen.add(id)
    if (ids.length === 0) return out
    const pipeline = commands.pipeline()
    for (const id of ids) pipeline.hgetall(this.key(topic, id))
    const replies = (await this.options.call(pipeline.exec())) ?? []
    ids.forEach((id, i) => {
      const hash = (replies[i]?.[1] ?? {}) as Record<string, string>
      const counts = new Map<string, number>()
      for (const [clientId, n] of Object.entries(hash)) if (Number(n) > 0) counts.set(clientId, Number(n))
      if (counts.size > 0) out.set(id, counts)
    })
    return out
  }

  unwatch(topic: string): void {
    this.seen.delete(topic)
    if (!this.watched.delete(topic) || this.closed) return
    this.options.events.unsubscribe(this.channel(topic)).catch(() => {})
  }

  forget(topic: string): void {
    this.local.delete(topic)
    this.dirty.delete(topic)
    this.options.commands.multi().del(this.key(topic, this.options.instanceId)).zrem(this.instancesKey(topic), this.options.instanceId).exec().catch(() => {})
  }

  /** Stops the timer and removes this instance's hashes (best effort: they expire anyway). */
  async close(): Promise<void> {
    clearInterval(this.timer)
    this.closed = true
    if (this.local.size === 0) return
    const multi = this.options.commands.multi()
    for (const topic of this.local.keys()) multi.del(this.key(topic, this.options.instanceId)).zrem(this.instancesKey(topic), this.options.instanceId)
    await multi.exec().catch(() => {})
  }

  /** Every report interval: keeps this instance's entries alive (or writes them again), and notices instances whose entries expired. */
  private async tick(): Promise<void> {
    const { commands, instanceId } = this.options
    try {
      if (this.local.size > 0) {
        const topics = [...this.local.keys()]
        const pipeline = commands.pipeline()
        for (const topic of topics) this.refresh(pipeline, topic)
        const replies = (await this.options.call(pipeline.exec())) ?? []
        // The hash's PEXPIRE answered 0: the key is gone (Redis lost it): write it again.
        topics.forEach((topic, i) => replies[3 * i]?.[1] === 0 && this.dirty.add(topic))
        for (const topic of this.dirty) {
          const key = this.key(topic, instanceId)
          const counts = this.local.get(topic)
          const multi = commands.multi().del(key)
          if (counts && counts.size > 0) this.refresh(multi.hset(key, Object.fromEntries(counts)), topic)
          await this.options.call(multi.exec())
          this.dirty.delete(topic)
        }
      }
      for (const [topic, seen] of this.seen) {
        if (seen.size === 0) continue
        const live = new Set(await this.liveInstances(topic))
        const gone = [...seen].filter((id) => !live.has(id))
        for (const id of gone) seen.delete(id)
        if (gone.length > 0) this.handler.instancesGone(topic, gone)
      }
    } catch {
      // Redis unreachable: the next tick tries again.
    }
  }

  /** Appends the expiry refresh of this instance's entries for `topic`: PEXPIRE of the hash first (the tick reads its reply), then the score. */
  private refresh<T extends ReturnType<Redis['pipeline']>>(batch: T, topic: string): T {
    const set = this.instancesKey(topic)
    batch.pexpire(this.key(topic, this.options.instanceId), this.expiryMs).zadd(set, Date.now() + this.expiryMs, this.options.instanceId).pexpire(set, this.expiryMs)
    return batch
  }

  /** The other instances whose entries for `topic` have not expired. */
  private async liveInstances(topic: string): Promise<string[]> {
    const ids = await this.options.call(this.options.commands.zrangebyscore(this.instancesKey(topic), Date.now(), '+inf'))
    return ids.filter((id) => id !== this.options.instanceId)
  }

  private onMessage(channel: string, message: string): void {
    const prefix = `${this.options.prefix}:presence:`
    if (!channel.startsWith(prefix)) return
    const topic = channel.slice(prefix.length)
    if (!this.watched.has(topic)) return
    let parsed: unknown
    try {
      parsed = JSON.parse(message)
    } catch {
      return
    }
    if (!Array.isArray(parsed) || parsed.length !== 3) return
    const [op, instance, clientId] = parsed
    if ((op !== 'j' && op !== 'l') || typeof instance !== 'string' || typeof clientId !== 'string' || instance === this.options.instanceId) return
    if (op === 'j') this.seen.get(topic)?.add(instance)
    this.handler.remote(topic, instance, clientId, op === 'j')
  }

  private instancesKey(topic: string) {
    return `${this.options.prefix}:presence:${topic}`
  }
  private key(topic: string, instance: string) {
    // '/' is in neither topic names nor instance ids: no two (topic, instance) pairs share a key.
    return `${this.options.prefix}:presence:${topic}/${instance}`
  }
  private channel(topic: string) {
    return `${this.options.prefix}:presence:${topic}`
  }
}
