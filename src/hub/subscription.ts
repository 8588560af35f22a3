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

/**
 * One connection's subscription to one topic (key: connection + topic), with
 * its bounded drop-oldest queue of frames not yet written to the socket. The
 * connection owns the queue's byte accounting (`Connection.offer`). The
 * subscription is its own queue (it extends the ring): one object per
 * subscription, not two (idle memory per connection, docs/performance.md).
 *
 * A new subscription starts `pending`: the engine is still reading its
 * position and replay (an asynchronous engine takes a round trip). Live
 * publications that arrive meanwhile wait in `held` (nothing dropped: the
 * subscriber is not slow, the engine is; bounded by the connection's byte
 * budget, MAX_QUEUED_BYTES_PER_CONNECTION); `Hub.activate` queues the ack and
 * the replay, then those of them newer than the replay.
 */
export class Subscription extends Ring<OutboundFrame> {
  /** Its index in its topic's active subscribers (LocalTopic.subscribers), -1 while not active there. */
  topicSlot = -1
  /** NATIVE | LISTED | PENDING | PRESENCE: the accessors below. A new subscription is pending. */
  private flags = PENDING
  /** Messages dropped in the current overflow episode, not yet reported to the client (SLOW_CONSUMER notice). */
  unreported = 0
  /** Publications that arrived while pending, oldest first; undefined when none did. */
  held: Held | undefined
  /** The client_id presence counts this subscription under while it is active and its topic's counts are kept (src/presence.ts); undefined otherwise. */
  counted: string | undefined

  constructor(
    readonly connection: Connection,
    readonly topic: LocalTopic,
    /** The client's label for this subscription; a re-subscribe may change it. */
    public clientId: string,
    queueSize: number,
  ) {
    super(queueSize)
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

  /** Its bounded drop-oldest queue: the subscription itself. */
  get queue(): Ring<OutboundFrame> {
    return this
  }
}
