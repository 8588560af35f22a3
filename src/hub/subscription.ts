import type { Publication } from '../engine/engine'
import { Ring } from '../util/ring'
import type { Connection, OutboundFrame } from './connection'
import type { LocalTopic } from './local-topic'

/**
 * One connection's subscription to one topic (key: connection + topic), with
 * its bounded drop-oldest queue of frames not yet written to the socket. The
 * connection owns the queue's byte accounting (`Connection.offer`).
 *
 * A new subscription starts `pending`: the engine is still reading its
 * position and replay (an asynchronous engine takes a round trip). Live
 * publications that arrive meanwhile wait in `held` (nothing dropped: the
 * subscriber is not slow, the engine is; bounded by the connection's byte
 * budget, MAX_QUEUED_BYTES_PER_CONNECTION); `Hub.activate` queues the ack and
 * the replay, then those of them newer than the replay.
 */
export class Subscription {
  readonly queue: Ring<OutboundFrame>
  /** Its index in its topic's active subscribers (LocalTopic.subscribers), -1 while not active there. */
  topicSlot = -1
  /** Its sink joined the topic natively (Sink.joinNative): the native fan-out reaches it. */
  native = false
  /** In its connection's list of subscriptions that may hold queued frames (Connection.active). */
  listed = false
  /** Messages dropped in the current overflow episode, not yet reported to the client (SLOW_CONSUMER notice). */
  unreported = 0
  pending = true
  /** Publications that arrived while pending, oldest first. */
  held: Ring<Publication> | undefined
  /** UTF-8 bytes of `held`. */
  heldBytes = 0
  /** The subscribe asked for presence events (join/leave of client_ids on the topic). */
  presence = false
  /** The client_id presence counts this subscription under while it is active (src/presence.ts); undefined when not counted. */
  counted: string | undefined

  constructor(
    readonly connection: Connection,
    readonly topic: LocalTopic,
    /** The client's label for this subscription; a re-subscribe may change it. */
    public clientId: string,
    queueSize: number,
  ) {
    this.queue = new Ring(queueSize)
  }
}
