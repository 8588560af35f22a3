/**
 * Token expiry for every connection with one timer: a min-heap of deadlines,
 * and a single `setTimeout` armed for the earliest. Re-arming or removing a
 * connection only records its current deadline; stale heap entries are
 * skipped when they surface (lazy deletion), so each operation is O(log n)
 * and there is never more than one timer however many connections hold tokens.
 *
 * Invariant: every tracked item has exactly one heap entry whose `at` equals
 * `deadlines.get(item)`; other entries for it are stale. The heap holds at
 * most one live entry per item plus the stale ones, and is rebuilt when
 * stale entries outnumber live ones (bounded memory under refresh churn).
 */
export class ExpirySweep<T> {
  private readonly heap: Array<{ at: number; item: T }> = []
  private readonly deadlines = new Map<T, number>()
  private timer: ReturnType<typeof setTimeout> | undefined
  private armedFor = Infinity

  /** `onExpire` runs once per item whose deadline passed (and was not moved or removed before). */
  constructor(
    private readonly onExpire: (item: T) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Tracks `item` until `at` (ms since the epoch), replacing any earlier deadline. */
  track(item: T, at: number): void {
    this.deadlines.set(item, at)
    this.push({ at, item })
    if (this.heap.length > 64 && this.heap.length > 2 * this.deadlines.size) this.rebuild()
    this.arm()
  }

  untrack(item: T): void {
    this.deadlines.delete(item)
    if (this.deadlines.size === 0) this.stop()
  }

  /** Items tracked now. */
  get size(): number {
    return this.deadlines.size
  }

  stop(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.armedFor = Infinity
    this.heap.length = 0
    this.deadlines.clear()
  }

  private sweep(): void {
    this.timer = undefined
    this.armedFor = Infinity
    const now = this.now()
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const { at, item } = this.pop()!
      if (this.deadlines.get(item) !== at) continue
      this.deadlines.delete(item)
      this.onExpire(item)
    }
    this.arm()
  }

  private arm(): void {
    while (this.heap.length > 0 && this.deadlines.get(this.heap[0]!.item) !== this.heap[0]!.at) this.pop()
    const next = this.heap[0]?.at
    if (next === undefined || next >= this.armedFor) return
    clearTimeout(this.timer)
    this.armedFor = next
    // setTimeout's delay is capped at 2^31-1 ms (~24.8 days); a later deadline re-arms at the cap.
    this.timer = setTimeout(() => this.sweep(), Math.min(Math.max(0, next - this.now()), 2 ** 31 - 1))
    this.timer.unref?.()
  }

  private rebuild(): void {
    const live = [...this.deadlines].map(([item, at]) => ({ at, item }))
    this.heap.length = 0
    for (const entry of live) this.push(entry)
  }

  private push(entry: { at: number; item: T }): void {
    const h = this.heap
    h.push(entry)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (h[parent]!.at <= h[i]!.at) break
      ;[h[parent], h[i]] = [h[i]!, h[parent]!]
      i = parent
    }
  }

  private pop(): { at: number; item: T } | undefined {
    const h = this.heap
    const top = h[0]
    const last = h.pop()
    if (h.length > 0 && last) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && h[l]!.at < h[m]!.at) m = l
        if (r < h.length && h[r]!.at < h[m]!.at) m = r
        if (m === i) break
        ;[h[m], h[i]] = [h[i]!, h[m]!]
        i = m
      }
    }
    return top
  }
}
