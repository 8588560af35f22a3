/**
 * One topic subscription of a HeraldClient. It outlives connections: after a
 * reconnect the client subscribes again from the position of the last event
 * this subscription delivered (`since_seq` + `epoch`), and `subscribed` says
 * whether the server confirmed that nothing was missed (`recovered`).
 *
 * Invariant: with a known epoch, `event` is emitted at most once per seq and
 * in increasing seq order (a replayed event at or below the position is
 * dropped). Without an epoch (a server that does not send one) no position can
 * be trusted across a restart, so nothing is dropped and every resubscribe
 * reports `recovered: false`.
 */
import { deferred } from './deferred'
import { Emitter } from './emitter'
import { HeraldError } from './errors'
import type { IncomingAck, IncomingEvent, OutgoingFrame } from './wire'

export interface SubscribeOptions {
  /** Replay up to this many past messages on the first subscribe (never again after a reconnect). */
  lastN?: number
  /** Resume after this seq (with `epoch`): the server replays what came after it, or says `recovered: false`. */
  sinceSeq?: number
  /** The topic's epoch that `sinceSeq` belongs to; required with `sinceSeq`. */
  epoch?: string
  /** Also receive `presence` events: a client_id's first subscription to the topic started or its last ended. */
  presence?: boolean
}

/** Where a subscription stands in its topic's stream: the last seq delivered, in `epoch`. */
export interface StreamPosition {
  seq: number
  epoch: string
}

export interface SubscribedInfo {
  /** True when this subscribe came after a reconnect. */
  resubscribed: boolean
  /** True when the subscribe asked to resume (`since_seq` sent): after a reconnect, or `sinceSeq` given. */
  wasRecovering: boolean
  /** True only when the server confirmed that every message after the position follows (no gap, no duplicate). */
  recovered: boolean
  /** After a reconnect or with `sinceSeq`, when not `recovered`: messages lost, or null when unknown (absent on a first plain subscribe). */
  missed?: number | null
  /** The topic's latest seq when the subscription started (from the ack; undefined if the server does not send it). */
  seq: number | undefined
  epoch: string | undefined
}

export interface SlowConsumerInfo {
  /** Messages dropped by the server's drop-oldest queue for this subscription, when it says. */
  dropped: number | undefined
  message: string
}

export interface PresenceInfo {
  msg: 'join' | 'leave'
  client_id: string
}

export type SubscriptionState = 'pending' | 'subscribed' | 'unsubscribed'

export interface SubscriptionEvents {
  event: IncomingEvent
  subscribed: SubscribedInfo
  slow_consumer: SlowConsumerInfo
  /** The topic was deleted on the server; the subscription has ended. */
  deleted: { topic: string }
  /** The server ended the subscription (e.g. a refreshed token no longer allows it). */
  unsubscribed: { topic: string; reason?: string }
  presence: PresenceInfo
  /** The subscribe was refused (TOPIC_NOT_FOUND, FORBIDDEN, …) or timed out; a refused one has ended. */
  error: HeraldError
}

/** What a subscription needs from its client. */
export interface SubscriptionHost {
  unsubscribe(sub: Subscription): Promise<void>
}

export class Subscription extends Emitter<SubscriptionEvents> {
  private currentState: SubscriptionState = 'pending'
  private pos: StreamPosition | undefined
  private first = true
  private sentSince: number | undefined
  private readyResolvers = deferred<SubscribedInfo>()
  /** Resolves with the first `subscribed`; rejects if the first subscribe is refused. */
  readonly ready: Promise<SubscribedInfo> = this.readyResolvers.promise

  constructor(
    readonly topic: string,
    readonly options: SubscribeOptions,
    private readonly host: SubscriptionHost,
  ) {
    super()
    if (options.sinceSeq !== undefined) this.pos = { seq: options.sinceSeq, epoch: options.epoch! }
    // A caller that only listens to events must not get an unhandled rejection.
    this.ready.catch(() => {})
  }

  get state(): SubscriptionState {
    return this.currentState
  }

  /** The position of the last event delivered (or given as `sinceSeq`), when the server gave an epoch. */
  position(): StreamPosition | undefined {
    return this.pos && { ...this.pos }
  }

  unsubscribe(): Promise<void> {
    if (this.currentState === 'unsubscribed') return Promise.resolve()
    this.end()
    return this.host.unsubscribe(this)
  }

  // --- called by HeraldClient -------------------------------------------------

  /** @internal The subscribe frame for the next (re)subscribe. */
  subscribeFrame(clientId: string): OutgoingFrame {
    const frame: OutgoingFrame = { type: 'subscribe', topic: this.topic, client_id: clientId }
    this.sentSince = this.pos?.seq
    if (this.pos) Object.assign(frame, { since_seq: this.pos.seq, epoch: this.pos.epoch })
    else if (this.first && this.options.lastN) Object.assign(frame, { last_n: this.options.lastN })
    if (this.options.presence) Object.assign(frame, { presence: true })
    return frame
  }

  /** @internal The ack of the frame from subscribeFrame(). */
  acked(ack: IncomingAck): void {
    if (this.currentState === 'unsubscribed') return
    const wasRecovering = this.sentSince !== undefined
    // Never claim a recovery the server did not confirm: an ack without `recovered` is a failed one.
    const recovered = wasRecovering && ack.recovered === true
    const info: SubscribedInfo = { resubscribed: !this.first, wasRecovering, recovered, seq: ack.seq, epoch: ack.epoch }
    if ((wasRecovering || !this.first) && !recovered) info.missed = typeof ack.missed === 'number' ? ack.missed : null
    const lastNReplay = this.first && !wasRecovering && (this.options.lastN ?? 0) > 0
    if (ack.epoch === undefined) this.pos = undefined
    else if (recovered) this.pos = { seq: this.sentSince!, epoch: ack.epoch }
    // A last_n replay of events ≤ ack.seq follows: accept them all.
    else if (lastNReplay) this.pos = { seq: 0, epoch: ack.epoch }
    else this.pos = { seq: ack.seq ?? 0, epoch: ack.epoch }
    this.first = false
    this.currentState = 'subscribed'
    this.emit('subscribed', info)
    this.readyResolvers.resolve(info)
  }

  /** @internal */
  event(frame: IncomingEvent): void {
    if (this.currentState === 'unsubscribed') return
    if (this.pos) {
      if (frame.seq <= this.pos.seq) return // already delivered (a replay overlapping what was seen)
      this.pos.seq = frame.seq
    }
    this.emit('event', frame)
  }

  /** @internal The subscribe was refused or timed out. */
  failed(error: HeraldError, final: boolean): void {
    this.readyResolvers.reject(error)
    if (final) this.end()
    this.emit('error', error)
  }

  /** @internal The connection is gone: the next one subscribes again. */
  disconnected(): void {
    if (this.currentState === 'subscribed') this.currentState = 'pending'
  }

  /** @internal */
  slowConsumer(info: SlowConsumerInfo): void {
    this.emit('slow_consumer', info)
  }

  /** @internal */
  presence(info: PresenceInfo): void {
    this.emit('presence', info)
  }

  /** @internal The server ended it (deleted topic, narrowed token). */
  endedByServer(kind: 'deleted' | 'unsubscribed', reason?: string): void {
    this.end()
    if (kind === 'deleted') this.emit('deleted', { topic: this.topic })
    else this.emit('unsubscribed', { topic: this.topic, reason })
  }

  /** @internal */
  end(): void {
    this.currentState = 'unsubscribed'
    this.readyResolvers.reject(new HeraldError('CLOSED', `subscription to '${this.topic}' ended`, { topic: this.topic }))
  }
}
