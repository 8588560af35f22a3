/**
 * A fixed-capacity FIFO ring. `push` on a full ring evicts and returns the
 * oldest item, so callers can count what they dropped. All operations are
 * O(1) except `last(k)`, which is O(k).
 */
export class Ring<T> {
  private readonly items: (T | undefined)[]
  private head = 0
  private count = 0

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`ring capacity must be a non-negative integer, got ${capacity}`)
    this.items = new Array(capacity)
  }

  get size(): number {
    return this.count
  }

  /** Appends `item`; returns the evicted oldest item when the ring was full, else undefined. A zero-capacity ring keeps nothing. */
  push(item: T): T | undefined {
    if (this.capacity === 0) return item
    if (this.count < this.capacity) {
      this.items[(this.head + this.count) % this.capacity] = item
      this.count++
      return undefined
    }
    const evicted = this.items[this.head]
    this.items[this.head] = item
    this.head = (this.head + 1) % this.capacity
    return evicted
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head]
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) % this.capacity
    this.count--
    return item
  }

  /** The newest `k` items (fewer if the ring holds fewer), oldest first. */
  last(k: number): T[] {
    const n = Math.max(0, Math.min(k, this.count))
    const out = new Array<T>(n)
    const start = this.head + this.count - n
    for (let i = 0; i < n; i++) out[i] = this.items[(start + i) % this.capacity] as T
    return out
  }

  clear(): void {
    this.items.fill(undefined)
    this.head = 0
    this.count = 0
  }
}
