import type { Publication } from '../engine/engine'
import { withBit } from '../util/bits'
import { Ring } from '../util/ring'
import type { Connection, OutboundFrame } from './connection'
import type { LocalTopic } from './local-topic'

/** What a pending subscription holds (Subscription.held): an unbounded FIFO and its UTF-8 bytes. */
export class Held extends Ring<Publication> {
  bytes = 0
  constructor() {
    super(Number.MAX_SAFE_INTEGER)
  }
}

/** Bits of `Subscription.flags` (four booleans in one field: idle memory per connection). */
const NATIVE = 1
const LISTED = 2
const PENDING = 4
const PRESENCE = 8

/** What a subscription's queue allows of it: every read, and `shift` (a no-op on an empty queue). Pushes go through `Subscription.ownQueue`. */
export type QueueView = Readonly<Pick<SubscriptionQueue, 'size' | 'capacity' | 'peek' | 'shift' | 'unreported'>>

/**
 * A subscription's bounded drop-oldest queue of frames not yet written to the
 * socket, and what it dropped since the last SLOW_CONSUMER notice (a drop
 * happens only in a queue that holds frames, so only in a queue of its own).
 */
export class SubscriptionQueue extends Ring<OutboundFrame> {
  /** Messages dropped in the current overflow episode, not yet reported to the client (SLOW_CONSUMER notice). */
  unreported = 0

  constructor(
    capacity: number,
    /** The hub's one empty queue, which every subscription reads until its first frame: never pushed to. */
    readonly shared = false,
  ) {
    super(capacity)
  }
}

/**
 * One connection's subscription to one topic (key: connection + topic). The
 * connection owns its queue's byte accounting (`Connection.offer`).
 *
 * Idle memory per connection: 8 fields (JSC's 80-byte cell; 9 to 12 take
 * 112 bytes). A subscription that never had a frame queued (the usual idle
 * subscriber: acks and replays go to the connection's replies, and a turn
 * cast natively queues nothing) reads the hub's shared empty queue and owns
 * none; the first frame queued on it gives it one of its own
 * (`ownQueue`, 64 bytes and its slots), kept from then on.
 *
 * A new subscription starts `pending`: the engine is still reading its
 * position and replay (an asynchronous engine takes a round trip). Live
 * publications that arrive meanwhile wait in `held` (nothing dropped: the
 * subscriber is not slow, the engine is; bounded by the connection's byte
 * budget, MAX_QUEUED_BYTES_PER_CONNECTION); `Hub.activate` queues the ack and
 * the replay, then those of them newer than the replay.
 */
export class Subscription {
  /** Its queue: the hub's shared empty one (`SubscriptionQueue.shared`) until `ownQueue`. */
  private ring: SubscriptionQueue
  /** Its index in its topic's active subscribers (LocalTopic.subscribers), -1 while not active there. */
  topicSlot = -1
  /** NATIVE | LISTED | PENDING | PRESENCE: the accessors below. A new subscription is pending. */
  private flags = PENDING
  /** Publications that arrived while pending, oldest first; undefined when none did. */
  held: Held | undefined
  /** The client_id presence counts this subscription under while it is active and its topic's counts are kept (src/presence.ts); undefined otherwise. */
  counted: string | undefined

  constructor(
    readonly connection: Connection,
    readonly topic: LocalTopic,
    /** The client's label for this subscription; a re-subscribe may change it. */
    public clientId: string,
    /** The hub's shared empty queue (its capacity is QUEUE_SIZE). */
    emptyQueue: SubscriptionQueue,
  ) {
    this.ring = emptyQueue
  }

  /** Its sink joined the topic natively (Sink.joinNative): the native fan-out reaches it. */
  get native(): boolean {
    return (this.flags & NATIVE) !== 0
  }
  set native(on: boolean) {
    this.flags = withBit(this.flags, NATIVE, on)
  }
  /** In its connection's list of subscriptions that may hold queued frames (Connection.active). */
  get listed(): boolean {
    return (this.flags & LISTED) !== 0
  }
  set listed(on: boolean) {
    this.flags = withBit(this.flags, LISTED, on)
  }
  get pending(): boolean {
    return (this.flags & PENDING) !== 0
  }
  set pending(on: boolean) {
    this.flags = withBit(this.flags, PENDING, on)
  }
  /** The subscribe asked for presence events (join/leave of client_ids on the topic). */
  get presence(): boolean {
    return (this.flags & PRESENCE) !== 0
  }
  set presence(on: boolean) {
    this.flags = withBit(this.flags, PRESENCE, on)
  }

  /** Its bounded drop-oldest queue, to read (and shift). */
  get queue(): QueueView {
    return this.ring
  }

  /** Its queue, to push to or count a drop in: its own, made on the first call. */
  ownQueue(): SubscriptionQueue {
    const ring = this.ring
    if (!ring.shared) return ring
    return (this.ring = new SubscriptionQueue(ring.capacity))
  }

  /** Messages dropped and not yet reported (SLOW_CONSUMER notice). */
  get unreported(): number {
    return this.ring.unreported
  }

  /** The count of `unreported`, reset to 0: its notice is being written. */
  takeUnreported(): number {
    const ring = this.ring
    const dropped = ring.unreported
    if (dropped > 0) ring.unreported = 0
    return dropped
  }
}
