/**
 * Polls the server's public endpoints every POLL_MS (/health, /stats, /metrics, in parallel) and
 * keeps the rates of the last WINDOW_MS for the chart. One monitor serves every view, so the chart
 * keeps its history while the operator looks at a topic.
 */
import { type ApiError, type Health, type TopicStats, api } from './api'
import { credential } from './credential'
import { type Totals, readTotals } from './prometheus'

/** At most 2 s between updates is the requirement; 1 s keeps the rates smooth at little cost. */
export const POLL_MS = 1000
export const WINDOW_MS = 5 * 60_000
/** Shortest interval a rate is computed over. */
const MIN_RATE_INTERVAL_S = 0.5

export interface Snapshot {
  at: number
  health: Health
  /** Null with a user token: /stats needs the API key, and a token opens no REST route. */
  stats: Record<string, TopicStats> | null
  /** Null when /metrics could not be read. */
  totals: Totals | null
}

export interface Rates {
  t: number
  published: number
  delivered: number
  dropped: number
  slowNotices: number
}

export type MonitorUpdate = { ok: true; snapshot: Snapshot; rates: readonly Rates[] } | { ok: false; error: ApiError }

export class Monitor {
  private readonly rates: Rates[] = []
  private previous?: Snapshot
  private timer?: ReturnType<typeof setTimeout>
  private readonly listeners = new Set<(u: MonitorUpdate) => void>()
  last?: MonitorUpdate

  /** Calls `fn` on every update (and at once with the last one); returns the unsubscribe function. */
  subscribe(fn: (u: MonitorUpdate) => void): () => void {
    this.listeners.add(fn)
    if (this.last) fn(this.last)
    return () => this.listeners.delete(fn)
  }

  start(): void {
    this.stop()
    const tick = async () => {
      await this.poll()
      this.timer = setTimeout(tick, POLL_MS)
    }
    void tick()
  }

  stop(): void {
    clearTimeout(this.timer)
  }

  /** One round now (also after an action, so the page shows its effect without waiting a period). */
  async poll(): Promise<void> {
    let update: MonitorUpdate
    try {
      // With a token only the public routes: /health always, /metrics when METRICS_PUBLIC (else null).
      const stats = credential.isToken() ? Promise.resolve(null) : api.stats()
      const [health, topics, metrics] = await Promise.all([api.health(), stats, api.metrics().catch(() => null)])
      const snapshot: Snapshot = { at: Date.now(), health, stats: topics, totals: metrics === null ? null : readTotals(metrics) }
      this.addRates(snapshot)
      update = { ok: true, snapshot, rates: this.rates }
    } catch (error) {
      update = { ok: false, error: error as ApiError }
    }
    this.last = update
    for (const fn of this.listeners) fn(update)
  }

  private addRates(s: Snapshot) {
    const p = this.previous
    const dt = p ? (s.at - p.at) / 1000 : 0
    // A poll right after another (an action asked for one) would turn one message into a spike: it is
    // measured against the same earlier snapshot at the next regular poll instead.
    if (p && dt < MIN_RATE_INTERVAL_S) return
    this.previous = s
    if (!p?.totals || !s.totals) return
    // A counter that went down means the server restarted: that interval has no rate.
    const rate = (a: number, b: number) => (b >= a ? (b - a) / dt : 0)
    this.rates.push({
      t: s.at,
      published: rate(p.totals.published, s.totals.published),
      delivered: rate(p.totals.delivered, s.totals.delivered),
      dropped: rate(p.totals.dropped, s.totals.dropped),
      slowNotices: rate(p.totals.slowNotices, s.totals.slowNotices),
    })
    while (this.rates.length > 0 && this.rates[0]!.t < s.at - WINDOW_MS) this.rates.shift()
  }
}
