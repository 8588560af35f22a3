/**
 * One client connection's outbound side: its subscriptions' bounded queues,
 * its replies, and the flush that moves them to the sink.
 *
 * Invariants:
 * - Every frame carries a broker-wide `serial`; a flush writes pending frames
 *   in serial order across all of the connection's queues, so a connection
 *   sees messages in publish order, and a subscribe's ack comes before its
 *   replay, which comes before its live events.
 * - A flush writes at most `highWater - sink.bufferedAmount()` bytes, counted
 *   by the flush itself: bytes written inside `cork` do not show in the
 *   sink's buffered amount until the cork ends. What does not fit stays in the
 *   queues, where drop-oldest applies.
 */
import { ErrorCode } from '../errors'
import { errorFrame } from '../protocol/server-frames'
import type { Session, Sink } from './broker'
import type { Subscription } from './subscription'

/** A frame serialized once and shared by every queue and the history that holds it. */
export interface OutboundFrame {
  readonly text: string
  /** UTF-8 length of `text`. */
  readonly bytes: number
  /** Broker-wide publish order. */
  readonly serial: number
  /** An event frame (counted as a delivered message), not a reply or notice. */
  readonly event: boolean
  /** performance.now() when an event was published (0 for other frames), for the oldest-queued-age metric. */
  readonly at: number
}

export class ClientConnection implements Session {
  readonly subscriptions = new Map<string, Subscription>()
  /** Replies and replayed history, FIFO, consumed from `controlHead`. */
  private control: OutboundFrame[] = []
  private controlHead = 0
  /** In the broker's list of connections to flush on the next tick. */
  scheduled = false
  /** The sink is backed up; waiting for drain before the next flush. */
  stalled = false
  closed = false
  /** Frames, bytes and event frames written by the last flush, for the broker's observer. */
  written = 0
  writtenBytes = 0
  writtenEvents = 0
  /** SLOW_CONSUMER notices queued or written since the broker last looked; it reports and clears them. */
  readonly notices: Array<{ topic: string; dropped: number }> = []

  constructor(
    readonly id: number,
    readonly sink: Sink,
    private readonly highWater: number,
  ) {}

  pushControl(frame: OutboundFrame): void {
    this.control.push(frame)
  }

  /**
   * Ends a subscription (unsubscribe, topic deleted) without losing what was
   * published before the end: its queued frames, and its SLOW_CONSUMER notice
   * if it lost any, move into the reply queue, merged by serial, so they go out
   * before the ack or info frame that the caller queues next.
   */
  retire(sub: Subscription): void {
    this.subscriptions.delete(sub.topic.name)
    const moved: OutboundFrame[] = []
    if (sub.lost > 0) {
      const text = slowConsumerNotice(sub)
      moved.push({ text, bytes: Buffer.byteLength(text), serial: sub.queue.peek()?.serial ?? 0, event: false, at: 0 })
    }
    for (let frame = sub.queue.shift(); frame !== undefined; frame = sub.queue.shift()) moved.push(frame)
    if (moved.length === 0) return
    const pending = this.control.slice(this.controlHead)
    const merged: OutboundFrame[] = []
    let i = 0
    let j = 0
    while (i < pending.length && j < moved.length) merged.push(moved[j]!.serial < pending[i]!.serial ? moved[j++]! : pending[i++]!)
    while (i < pending.length) merged.push(pending[i++]!)
    while (j < moved.length) merged.push(moved[j++]!)
    this.control = merged
    this.controlHead = 0
  }

  pendingReplies(): number {
    return this.control.length - this.controlHead
  }

  hasPending(): boolean {
    if (this.pendingReplies() > 0) return true
    for (const sub of this.subscriptions.values()) if (sub.queue.size > 0) return true
    return false
  }

  /** Writes pending frames, in serial order, until the sink's high-water mark. */
  flush(): void {
    this.written = 0
    this.writtenBytes = 0
    this.writtenEvents = 0
    if (this.closed) return
    let budget = this.highWater - this.sink.bufferedAmount()
    if (budget <= 0) return
    const active: Subscription[] = []
    for (const sub of this.subscriptions.values()) if (sub.queue.size > 0) active.push(sub)
    this.sink.cork(() => {
      if (active.length === 0) budget = this.writeControl(budget, Infinity)
      else if (active.length === 1 && this.pendingReplies() === 0) budget = this.writeSubscription(active[0]!, budget, Infinity)
      else this.writeMerged(active, budget)
    })
    if (this.controlHead === this.control.length) {
      this.control = []
      this.controlHead = 0
    }
  }

  /** Writes replies with serial below `until`. */
  private writeControl(budget: number, until: number): number {
    const sink = this.sink
    while (budget > 0 && this.controlHead < this.control.length) {
      const frame = this.control[this.controlHead]!
      if (frame.serial >= until) break
      this.controlHead++
      sink.send(frame.text)
      budget -= frame.bytes
      this.written++
      this.writtenBytes += frame.bytes
      if (frame.event) this.writtenEvents++
    }
    return budget
  }

  /** Writes one subscription's frames with serial below `until`, preceded by its SLOW_CONSUMER notice if it lost any. */
  private writeSubscription(sub: Subscription, budget: number, until: number): number {
    const sink = this.sink
    const queue = sub.queue
    if (sub.lost > 0) {
      const notice = slowConsumerNotice(sub)
      sink.send(notice)
      budget -= notice.length
      this.written++
      this.writtenBytes += notice.length
    }
    while (budget > 0) {
      const frame = queue.peek()
      if (frame === undefined || frame.serial >= until) break
      queue.shift()
      sink.send(frame.text)
      budget -= frame.bytes
      this.written++
      this.writtenBytes += frame.bytes
      this.writtenEvents++
    }
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
      const controlHead = this.control[this.controlHead]
      if (controlHead !== undefined && controlHead.serial < bestSerial) {
        budget = this.writeControl(budget, bestSerial)
        continue
      }
      if (best === undefined) return
      const controlSerial = controlHead?.serial ?? Infinity
      budget = this.writeSubscription(best, budget, Math.min(nextSerial, controlSerial))
    }
  }
}

function slowConsumerNotice(sub: Subscription): string {
  const lost = sub.lost
  sub.lost = 0
  sub.connection.notices.push({ topic: sub.topic.name, dropped: lost })
  return errorFrame(
    undefined,
    ErrorCode.SLOW_CONSUMER,
    `dropped ${lost} oldest message(s) on topic '${sub.topic.name}': subscriber too slow (queue size ${sub.queue.capacity})`,
    sub.topic.name,
  )
}
