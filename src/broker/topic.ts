import type { OutboundFrame } from './connection'
import { History, type HistoryBudget, type HistoryLimits } from './history'
import type { Subscription } from './subscription'

/** A topic: its subscribers, its sequence counter, and its history for replay. */
export class Topic {
  /** Sequence number of the last message published; the next gets seq + 1. Starts at 0. */
  seq = 0
  /** Messages dropped from this topic's subscribers' queues, summed. */
  dropped = 0
  /** UTF-8 bytes of event frames published. */
  bytes = 0
  lastPublish: string | null = null
  readonly history: History<OutboundFrame>
  readonly subscribers = new Set<Subscription>()

  constructor(
    readonly name: string,
    limits: HistoryLimits,
    budget: HistoryBudget,
  ) {
    this.history = new History(limits, budget)
  }
}
