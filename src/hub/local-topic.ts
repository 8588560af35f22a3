import { SlotList } from '../util/slot-list'
import type { OutboundFrame } from './connection'
import type { Subscription } from './subscription'

/**
 * A topic as this instance's hub sees it: the local subscriptions to it. It
 * exists while at least one connection here subscribes (or is subscribing);
 * the topic itself (seq, history, whether it exists) lives in the engine.
 */
export class LocalTopic {
  /**
   * Active subscriptions: live publications go to their queues. A SlotList,
   * not a Set (one entry per subscriber is ~140 bytes in a Set): walks are
   * over an array, in no particular order; a walk during which a subscriber
   * may be evicted walks a copy (Hub.deliverLocal, Hub.topicGone).
   */
  readonly subscribers = new SlotList<'topicSlot', Subscription>('topicSlot')
  /** Subscriptions whose subscribe is still being answered by the engine: publications are held for them. */
  readonly pending = new Set<Subscription>()
  /** Messages dropped from this instance's subscribers' queues, summed (kept after the topic empties, until it is deleted). */
  dropped = 0
  /** The highest seq the engine has handed to this hub for the topic. */
  lastSeq = 0
  /** Callers of `Hub.delivered` waiting for lastSeq to reach a seq. */
  waiters: Array<{ seq: number; resolve: () => void }> = []

  /** Active subscriptions whose sink joined the topic natively; the native fan-out needs all of them to. */
  nativeCount = 0
  /** This turn's events are deferred for the native fan-out (Hub.defer): they are in `turn`, not in the subscribers' queues. */
  deferred = false
  /** The deferred events, oldest first. */
  turn: OutboundFrame[] = []
  /** UTF-8 bytes of `turn`. */
  turnBytes = 0
  /** What `turn` may hold in bytes while deferred: the cast's byte cap or the least room below SOCKET_HIGH_WATER_BYTES any subscriber's socket had at the defer, the smaller. */
  turnRoom = 0
  /** Hub turn from which `defer` may be tried again, and the wait after the next failure (turns, doubling up to 64). */
  retryTurn = 0
  retryAfter = 1
  /** The hub turn of the topic's latest event, how many events the topic had in that turn, and how many of its turns in a row before it had one (Hub.shallow). */
  eventTurn = -1
  turnEvents = 0
  loneTurns = 0

  constructor(readonly name: string) {}

  get size(): number {
    return this.subscribers.size + this.pending.size
  }
}
