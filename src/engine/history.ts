/**
 * Topic history, bounded three ways: by count per topic (`HISTORY_SIZE`), by
 * bytes per topic (`HISTORY_MAX_BYTES`), and by bytes over the whole server
 * (`HISTORY_TOTAL_MAX_BYTES`). A message is always trimmed from the old end:
 * what a topic holds is a contiguous run of its newest messages, so `last(k)`
 * (and a later resume from a seq) never sees a hole.
 *
 * Bytes are the UTF-8 length of the serialized event frame. A JS string costs
 * at most two bytes of memory per UTF-8 byte (Latin-1 strings one), so the
 * memory held by history is at most about twice HISTORY_TOTAL_MAX_BYTES.
 */
import { Ring } from '../util/ring'
import type { HistoryRead } from './engine'

/** What history needs of a stored frame. */
export interface HistoryEntry {
  readonly bytes: number
  /** When it was published (ms since the Unix epoch), for HISTORY_TTL_MS. */
  readonly at?: number
}

export interface HistoryLimits {
  /** Messages kept per topic (0 = none). */
  size: number
  /** Bytes kept per topic; a message larger than this is not kept at all. Default unlimited. */
  maxBytes?: number
  /** Messages older than this (ms) are no longer held: neither replayed nor returned (HISTORY_TTL_MS). 0 or absent = no expiry. */
  ttlMs?: number
}

/**
 * The server-wide byte budget shared by every topic's history. It keeps one
 * FIFO of (history, entry) in publish order across topics; evicting pops the
 * oldest and drops it from its topic if that topic still holds it there (it may
 * have been trimmed already by its own limits, or its topic deleted: such
 * entries are skipped). Stale entries are compacted away once they outnumber
 * the live ones, so the FIFO stays within twice the messages held.
 */
export class HistoryBudget {
  /** Every append, oldest first: which history, and the append's index in it. */
  private order: Array<{ history: History<HistoryEntry>; index: number }> = []
  private orderHead = 0
  /** Bytes held by every history sharing this budget. */
  bytes = 0
  /** Messages held by every history sharing this budget. */
  messages = 0

  constructor(readonly maxBytes: number = Infinity) {}

  /** Called by a history after its append number `index`; evicts the oldest across topics while over budget. */
  added(history: History<HistoryEntry>, index: number): void {
    if (this.maxBytes === Infinity) return
    this.order.push({ history, index })
    while (this.bytes > this.maxBytes && this.orderHead < this.order.length) {
      const oldest = this.order[this.orderHead++]!
      oldest.history.dropIfOldest(oldest.index)
    }
    const queued = this.order.length - this.orderHead
    if (this.orderHead > 1024 && this.orderHead > queued) this.compact()
    else if (queued > 2 * this.messages + 1024) this.compact()
  }

  private compact(): void {
    this.order = this.order.slice(this.orderHead).filter((o) => o.history.holds(o.index))
    this.orderHead = 0
  }
}

export class History<T extends HistoryEntry> {
  private readonly ring: Ring<T>
  private readonly maxBytes: number
  private readonly ttlMs: number
  /** Appends since creation; the entries held are those numbered `appended - size` … `appended - 1`. */
  private appended = 0
  /** Bytes of the messages held. */
  bytes = 0

  constructor(
    limits: HistoryLimits,
    private readonly budget: HistoryBudget = new HistoryBudget(),
  ) {
    this.ring = new Ring(limits.size)
    this.maxBytes = limits.maxBytes ?? Infinity
    this.ttlMs = limits.ttlMs || Infinity
  }

  /** Messages held (expired ones are dropped by `expire`, which every read calls first). */
  get size(): number {
    return this.ring.size
  }

  /**
   * Drops messages published more than ttlMs before `now` (from the old end:
   * publish times only grow). Reads call it, and a periodic sweep calls it on
   * every topic, so an idle topic's expired history is released too. No timer
   * per message.
   */
  expire(now: number = Date.now()): void {
    if (this.ttlMs === Infinity) return
    const cutoff = now - this.ttlMs
    // An entry without a publish time (at 0 or absent) never expires.
    for (let oldest = this.ring.peek(); oldest !== undefined && (oldest.at || Infinity) < cutoff; oldest = this.ring.peek())
      this.account(-this.ring.shift()!.bytes, -1)
  }

  /** Appends `entry`, then trims the oldest while over any limit (nothing is kept of an entry that alone is over one). */
  push(entry: T): void {
    if (this.ring.capacity === 0 || entry.bytes > this.maxBytes || entry.bytes > this.budget.maxBytes) {
      this.clear() // what is held must stay contiguous with the newest message, or last(k) would skip one
      return
    }
    const evicted = this.ring.push(entry)
    this.appended++
    this.account(entry.bytes, 1)
    if (evicted !== undefined) this.account(-evicted.bytes, -1)
    while (this.bytes > this.maxBytes) this.account(-this.ring.shift()!.bytes, -1)
    this.budget.added(this as History<HistoryEntry>, this.appended - 1)
  }

  /**
   * What `read` asks for, oldest first, from a history whose newest message
   * has seq `latest` (what is held is contiguous up to it: seqs
   * latest - size + 1 … latest). Expired messages are dropped first.
   */
  read(latest: number, read: HistoryRead): T[] {
    this.expire()
    if ('last' in read) return read.last > 0 ? this.ring.last(read.last) : []
    const from = Math.max(read.sinceSeq + 1, latest - this.ring.size + 1)
    const count = Math.min(read.limit, latest - from + 1)
    if (count <= 0) return []
    return this.ring.last(latest - from + 1).slice(0, count)
  }

  /** The newest `k` entries (fewer if fewer are held), oldest first. */
  last(k: number): T[] {
    this.expire()
    return this.ring.last(k)
  }

  /** Forgets everything (topic deleted, or a message too big to keep). */
  clear(): void {
    this.account(-this.bytes, -this.ring.size)
    this.ring.clear()
  }

  /** For the budget: drops append number `index` if it is the oldest held. */
  dropIfOldest(index: number): void {
    if (this.ring.size === 0 || index !== this.appended - this.ring.size) return
    this.account(-this.ring.shift()!.bytes, -1)
  }

  /** For the budget: true while append number `index` is still held. */
  holds(index: number): boolean {
    return index >= this.appended - this.ring.size && index < this.appended
  }

  private account(bytes: number, messages: number): void {
    this.bytes += bytes
    this.budget.bytes += bytes
    this.budget.messages += messages
  }
}
