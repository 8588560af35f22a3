/**
 * One client connection's outbound side: its subscriptions' bounded queues,
 * its replies, and the flush that moves them to the sink.
 *
 * Invariants:
 * - Every frame carries a hub-wide `serial`; a flush writes pending frames
 *   in serial order across all of the connection's queues, so a connection
 *   sees messages in publish order, and a subscribe's ack comes before its
 *   replay, which comes before its live events.
 * - A flush writes at most `highWater - sink.bufferedAmount()` bytes, counted
 *   by the flush itself: bytes written inside `cork` do not show in the
 *   sink's buffered amount until the cork ends. What does not fit stays in the
 *   queues, where drop-oldest applies.
 */
import { slowConsumerFrame } from '../protocol/server-frames'
import { withBit } from '../util/bits'
import type { Sink } from './sink'
import type { LocalTopic } from './local-topic'
import type { Subscription } from './subscription'

/** A frame serialized once and shared by every queue and the history that holds it. */
export interface OutboundFrame {
  readonly text: string
  /** UTF-8 length of `text`. */
  readonly bytes: number
  /** Hub-wide publish order. */
  readonly serial: number
  /** An event frame (counted as a delivered message), not a reply or notice. */
  readonly event: boolean
  /** performance.now() when an event was published (0 for other frames), for the oldest-queued-age metric. */
  readonly at: number
}

/** What one flush wrote, for the hub's observer. */
export interface FlushResult {
  /** Frames written. */
  frames: number
  /** UTF-8 bytes of those frames. */
  bytes: number
  /** How many of them were event frames (live or replayed). */
  events: number
  /** The SLOW_CONSUMER notices among them. */
  notices: Notice[]
}

/** A SLOW_CONSUMER notice the hub reports to its observer. */
export interface Notice {
  topic: string
  dropped: number
}

/**
 * Idle memory per connection: an idle connection (one subscription, nothing
 * queued) owns no array, no Map and no closure. The lists below start as
 * these shared empty arrays, which are never written: each is replaced by an
 * array of the connection's own before its first push.
 */
const NO_FRAMES: OutboundFrame[] = []
const NO_SUBSCRIPTIONS: Subscription[] = []
const NO_TOPICS: string[] = []

/** A flush's notices when it wrote none (most flushes): shared, never written; a flush that writes one makes its own list. */
const NO_NOTICES: Notice[] = []
/**
 * What a flush wrote, shared by every connection (a flush is synchronous and
 * the hub reads it before the next one): no object per connection for it.
 */
const written: FlushResult = { frames: 0, bytes: 0, events: 0, notices: NO_NOTICES }

/** The flush inside `cork`: the connection and budget of the flush in progress (a flush never runs inside another). */
let corked: Connection | undefined
let corkedBudget = 0
/** The callback every `cork` gets: one function for all connections, not a closure per connection. */
const writeCorked = (): void => corked!.writePending(corkedBudget)

/** Bits of `Connection.flags` (three booleans in one field: idle memory per connection). */
const SCHEDULED = 1
const STALLED = 2
const CLOSED = 4

export class Connection {
  /**
   * Its subscriptions by topic name: the only one as it is, and once there
   * are two or more, all of them in a Map (a Map with one entry costs ~250
   * bytes, and most connections hold one subscription).
   */
  private subs: Subscription | Map<string, Subscription> | undefined
  /**
   * Replies, replayed history and the frames of ended subscriptions, consumed
   * from `repliesHead`. Invariant: sorted by serial (every frame pushed gets a
   * fresh serial, replays included), which lets `retire` insert by binary
   * search instead of merging the whole queue.
   */
  private replies: OutboundFrame[] = NO_FRAMES
  private repliesHead = 0
  /** UTF-8 bytes of every frame waiting in this connection: replies and all its subscription queues. */
  queuedBytes = 0
  /** Its index in the hub's list of open connections (SlotList), -1 once released. */
  hubSlot = -1
  /** SCHEDULED | STALLED | CLOSED: the accessors below. */
  private flags = 0
  /** Topics left without a local subscriber when the hub evicted this connection, until the transport's disconnect takes them. */
  private abandoned: string[] = NO_TOPICS
  /**
   * The subscriptions that may hold queued frames: every subscription with a
   * non-empty queue is in it (`offer` adds it, `Subscription.listed`), and a
   * flush removes the empty ones. So a flush and `hasPending` look at the few
   * subscriptions that have something, not at every subscription of the
   * connection, and allocate nothing.
   */
  private active: Subscription[] = NO_SUBSCRIPTIONS
  /**
   * The topic last marked here by Hub.defer. The mark counts only while that
   * topic's turn is deferred (`deferred`), so a cast or a materialize ends
   * every subscriber's mark at once, without a walk.
   */
  private deferMark: LocalTopic | undefined

  constructor(
    readonly id: number,
    readonly sink: Sink,
  ) {}

  /** In the hub's list of connections to flush on the next tick. */
  get scheduled(): boolean {
    return (this.flags & SCHEDULED) !== 0
  }
  set scheduled(on: boolean) {
    this.flags = withBit(this.flags, SCHEDULED, on)
  }
  /** The sink is backed up; waiting for drain before the next flush. */
  get stalled(): boolean {
    return (this.flags & STALLED) !== 0
  }
  set stalled(on: boolean) {
    this.flags = withBit(this.flags, STALLED, on)
  }
  get closed(): boolean {
    return (this.flags & CLOSED) !== 0
  }
  set closed(on: boolean) {
    this.flags = withBit(this.flags, CLOSED, on)
  }

  /** The subscription to `topic`, active or pending. */
  subscription(topic: string): Subscription | undefined {
    const subs = this.subs
    if (subs instanceof Map) return subs.get(topic)
    return subs !== undefined && subs.topic.name === topic ? subs : undefined
  }

  subscriptionCount(): number {
    const subs = this.subs
    if (subs instanceof Map) return subs.size
    return subs === undefined ? 0 : 1
  }

  /** Every subscription, in the order they were added; a copy, so the caller may end them while it walks. */
  allSubscriptions(): Subscription[] {
    const subs = this.subs
    if (subs instanceof Map) return [...subs.values()]
    return subs === undefined ? [] : [subs]
  }

  /** Adds `sub` (its topic must have no subscription here yet). */
  addSubscription(sub: Subscription): void {
    const subs = this.subs
    if (subs instanceof Map) subs.set(sub.topic.name, sub)
    else if (subs === undefined) this.subs = sub
    else
      this.subs = new Map([
        [subs.topic.name, subs],
        [sub.topic.name, sub],
      ])
  }

  /** Removes the subscription to `topic`, if any. */
  deleteSubscription(topic: string): void {
    const subs = this.subs
    if (subs instanceof Map) subs.delete(topic)
    else if (subs !== undefined && subs.topic.name === topic) this.subs = undefined
  }

  /** Removes every subscription. */
  clearSubscriptions(): void {
    this.subs = undefined
  }

  abandon(topics: string[]): void {
    this.abandoned = this.abandoned.concat(topics)
  }

  /** The topics of `abandon`, once: the engine stops following them. */
  takeAbandoned(): string[] {
    const topics = this.abandoned
    if (topics === NO_TOPICS) return [] // never hand out the shared empty list: the caller owns what it gets
    this.abandoned = NO_TOPICS
    return topics
  }

  /** Appends a reply; its serial must be newer than every frame already queued here (the hub's counter guarantees it). */
  pushReply(frame: OutboundFrame): void {
    if (this.replies === NO_FRAMES) this.replies = []
    this.replies.push(frame)
    this.queuedBytes += frame.bytes
  }

  /** Queues a live event on `sub`; on a full queue drops the oldest. Returns the dropped frame, if any. */
  offer(sub: Subscription, frame: OutboundFrame): OutboundFrame | undefined {
    this.queuedBytes += frame.bytes
    if (!sub.listed) {
      sub.listed = true
      if (this.active === NO_SUBSCRIPTIONS) this.active = []
      this.active.push(sub)
    }
    const queue = sub.ownQueue()
    const dropped = queue.push(frame)
    if (dropped === undefined) return undefined
    this.queuedBytes -= dropped.bytes
    queue.unreported++
    return dropped
  }

  /** Drops the oldest queued event of `sub` (byte budget), counted as dropped. Returns false when it holds one frame or none. */
  dropOldest(sub: Subscription): boolean {
    if (sub.queue.size <= 1) return false
    const queue = sub.ownQueue() // its own already: it holds frames
    this.queuedBytes -= queue.shift()!.bytes
    queue.unreported++
    return true
  }

  /**
   * Ends a subscription (unsubscribe, topic deleted) without losing what was
   * published before the end: its queued frames, and its SLOW_CONSUMER notice
   * if it lost any, move into the reply queue at their place by serial, so they
   * go out before the ack or info frame that the caller queues next. Returns
   * that notice, for the hub's report, if there was one.
   *
   * Cost: O(log n) to find the place, plus the replies queued after the
   * subscription's oldest waiting frame (usually none or one: the ack of the
   * publish that queued it), plus the frames moved. Never a copy of the whole
   * reply queue, so a client that repeats subscribe/publish/unsubscribe pays
   * linear work in what it sent.
   */
  retire(sub: Subscription): Notice | undefined {
    this.deleteSubscription(sub.topic.name)
    const moved: OutboundFrame[] = []
    let notice: Notice | undefined
    if (sub.unreported > 0) {
      const slow = slowConsumerNotice(sub)
      notice = slow.notice
      moved.push({ text: slow.text, bytes: Buffer.byteLength(slow.text), serial: sub.queue.peek()?.serial ?? 0, event: false, at: 0 })
      this.queuedBytes += moved[0]!.bytes
    }
    for (let frame = sub.queue.shift(); frame !== undefined; frame = sub.queue.shift()) moved.push(frame)
    if (moved.length === 0) return notice
    if (this.replies === NO_FRAMES) this.replies = []
    const replies = this.replies
    const at = this.firstAfter(moved[0]!.serial)
    if (at === replies.length) {
      for (const frame of moved) replies.push(frame)
      return notice
    }
    const later = replies.splice(at)
    let i = 0
    let j = 0
    while (i < later.length && j < moved.length) replies.push(moved[j]!.serial < later[i]!.serial ? moved[j++]! : later[i++]!)
    while (i < later.length) replies.push(later[i++]!)
    while (j < moved.length) replies.push(moved[j++]!)
    return notice
  }

  /** Index of the first queued reply with a serial above `serial` (binary search over the sorted reply queue). */
  private firstAfter(serial: number): number {
    let lo = this.repliesHead
    let hi = this.replies.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.replies[mid]!.serial > serial) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  pendingReplies(): number {
    return this.replies.length - this.repliesHead
  }

  /** The topic whose events of this turn are deferred for the native fan-out, for this connection among others (Hub.defer); nothing else waits here meanwhile. */
  get deferred(): LocalTopic | undefined {
    const topic = this.deferMark
    return topic !== undefined && topic.deferred ? topic : undefined
  }
  set deferred(topic: LocalTopic | undefined) {
    this.deferMark = topic
  }

  /** Forgets a mark of `topic`, current or not: the connection left it. */
  unmark(topic: LocalTopic): void {
    if (this.deferMark === topic) this.deferMark = undefined
  }

  /** Nothing waits here at all: no deferred topic, no reply, no subscription listed as active (queued frames or a notice, even if a flush has emptied it since). */
  idle(): boolean {
    return this.deferred === undefined && this.pendingReplies() === 0 && this.active.length === 0
  }

  hasPending(): boolean {
    if (this.deferred !== undefined || this.pendingReplies() > 0) return true
    for (const sub of this.active) if (sub.queue.size > 0) return true
    return false
  }

  /** Drops the empty subscriptions from `active`. */
  private compactActive(): void {
    const active = this.active
    let kept = 0
    for (let i = 0; i < active.length; i++) {
      const sub = active[i]!
      if (sub.queue.size > 0) active[kept++] = sub
      else sub.listed = false
    }
    active.length = kept
  }

  /**
   * Writes pending frames, in serial order, until the sink holds `highWater`
   * bytes (SOCKET_HIGH_WATER_BYTES, the same for every connection of a hub).
   * Returns what it wrote: one object shared by every connection (no
   * allocation on the fan-out path), valid until the next flush of any.
   */
  flush(highWater: number): FlushResult {
    written.frames = 0
    written.bytes = 0
    written.events = 0
    written.notices = NO_NOTICES
    if (this.closed || !this.hasPending()) return written
    const budget = highWater - this.sink.bufferedAmount()
    if (budget <= 0) return written
    this.compactActive()
    // One frame alone goes out as it is: a cork would batch nothing, and costs a call into the runtime and back.
    if (this.pendingFrames() === 1) this.writePending(budget)
    else {
      corked = this
      corkedBudget = budget
      try {
        this.sink.cork(writeCorked)
      } finally {
        corked = undefined
      }
    }
    if (this.repliesHead === this.replies.length) {
      this.replies = NO_FRAMES
      this.repliesHead = 0
    }
    this.compactActive()
    this.queuedBytes -= written.bytes
    return written
  }

  /** Frames a flush would write with no budget limit, counted up to 2 (SLOW_CONSUMER notices included). */
  private pendingFrames(): number {
    let n = this.pendingReplies()
    for (const sub of this.active) {
      const queue = sub.queue
      n += queue.size + (queue.unreported > 0 ? 1 : 0)
      if (n > 1) return n
    }
    return n
  }

  /** Writes what `flush` found pending, within `budget`; inside the sink's cork (`writeCorked`) unless it is one frame. For `flush` only. */
  writePending(budget: number): void {
    const active = this.active
    if (active.length === 0) this.writeReplies(budget, Infinity)
    else if (active.length === 1 && this.pendingReplies() === 0) this.writeSubscription(active[0]!, budget, Infinity)
    else this.writeMerged(active, budget)
  }

  /** Writes replies with serial below `until`. */
  private writeReplies(budget: number, until: number): number {
    const sink = this.sink
    while (budget > 0 && this.repliesHead < this.replies.length) {
      const frame = this.replies[this.repliesHead]!
      if (frame.serial >= until) break
      this.repliesHead++
      sink.send(frame.text)
      budget -= frame.bytes
      written.frames++
      written.bytes += frame.bytes
      if (frame.event) written.events++
    }
    return budget
  }

  /** Writes one subscription's frames with serial below `until`, preceded by its SLOW_CONSUMER notice if it lost any. */
  private writeSubscription(sub: Subscription, budget: number, until: number): number {
    const sink = this.sink
    const queue = sub.queue
    if (queue.unreported > 0) {
      const { text, notice } = slowConsumerNotice(sub)
      const bytes = Buffer.byteLength(text)
      sink.send(text)
      if (written.notices === NO_NOTICES) written.notices = []
      written.notices.push(notice)
      budget -= bytes
      written.frames++
      written.bytes += bytes
      this.queuedBytes += bytes // not queued before: balances the subtraction of what was written
    }
    // Counted in locals and added once: this loop runs once per delivery.
    let frames = 0
    let bytes = 0
    while (budget > 0) {
      const frame = queue.peek()
      if (frame === undefined || frame.serial >= until) break
      queue.shift()
      sink.send(frame.text)
      budget -= frame.bytes
      frames++
      bytes += frame.bytes
    }
    written.frames += frames
    written.bytes += bytes
    written.events += frames
    return budget
  }

  /** K-way merge by serial across replies and several subscriptions. */
  private writeMerged(active: Subscription[], budget: number): void {
    while (budget > 0) {
      let best: Subscription | undefined
      let bestSerial = Infinity
      let nextSerial = Infinity
      for (const sub of active) {
        const head = sub.queue.peek()
        if (head === undefined) continue
        if (head.serial < bestSerial) {
          nextSerial = bestSerial
          bestSerial = head.serial
          best = sub
        } else if (head.serial < nextSerial) nextSerial = head.serial
      }
      const replyHead = this.replies[this.repliesHead]
      if (replyHead !== undefined && replyHead.serial < bestSerial) {
        budget = this.writeReplies(budget, bestSerial)
        continue
      }
      if (best === undefined) return
      const replySerial = replyHead?.serial ?? Infinity
      budget = this.writeSubscription(best, budget, Math.min(nextSerial, replySerial))
    }
  }
}

/** The SLOW_CONSUMER frame for what `sub` lost since its last notice, and the notice for the hub's report; resets the count. */
function slowConsumerNotice(sub: Subscription): { text: string; notice: Notice } {
  const dropped = sub.takeUnreported()
  const topic = sub.topic.name
  return { text: slowConsumerFrame(topic, dropped, sub.queue.capacity), notice: { topic, dropped } }
}
