/**
 * A bounded FIFO ring. `push` on a full ring evicts and returns the oldest
 * item, so callers can count what they dropped. All operations are O(1)
 * (amortized for push) except `last(k)`, which is O(k).
 *
 * Storage is allocated on the first push and grows on demand, doubling from a
 * few slots up to `capacity`: most subscription queues stay empty or nearly
 * so, and a queue preallocated to its capacity (100 slots by default) would
 * cost ~800 bytes per idle subscriber; an empty ring holds no array at all.
 */
const INITIAL_SLOTS = 4
/**
 * The storage of every ring never pushed to (or cleared): shared by all of them and never written,
 * because a push into a ring with no slot grows first. Not frozen: a frozen array is another kind
 * of array to JSC, and the loads of `items` on the hot path would see two.
 */
const NO_SLOTS: never[] = []

export class Ring<T> {
  private items: (T | undefined)[]
  private head = 0
  private count = 0

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`ring capacity must be a non-negative integer, got ${capacity}`)
    this.items = NO_SLOTS
  }

  get size(): number {
    return this.count
  }

  /** Appends `item`; returns the evicted oldest item when the ring was full, else undefined. A zero-capacity ring keeps nothing. */
  push(item: T): T | undefined {
    if (this.capacity === 0) return item
    let slots = this.items.length
    if (this.count < this.capacity) {
      if (this.count === slots) slots = this.grow()
      const i = this.head + this.count
      this.items[i < slots ? i : i - slots] = item
      this.count++
      return undefined
    }
    const evicted = this.items[this.head]
    this.items[this.head] = item
    this.head = this.head + 1 === slots ? 0 : this.head + 1
    return evicted
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head]
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = this.head + 1 === this.items.length ? 0 : this.head + 1
    this.count--
    return item
  }

  /** The newest `k` items (fewer if the ring holds fewer), oldest first. */
  last(k: number): T[] {
    const n = Math.max(0, Math.min(k, this.count))
    const slots = this.items.length
    const out = new Array<T>(n)
    const start = this.head + this.count - n
    for (let i = 0; i < n; i++) out[i] = this.items[(start + i) % slots] as T
    return out
  }

  clear(): void {
    this.items = NO_SLOTS
    this.head = 0
    this.count = 0
  }

  /** Doubles the storage (up to capacity), unrolling the ring so that head is 0. Returns the new slot count. */
  private grow(): number {
    const old = this.items
    const slots = Math.min(this.capacity, Math.max(INITIAL_SLOTS, old.length * 2))
    const items = new Array<T | undefined>(slots)
    for (let i = 0; i < this.count; i++) items[i] = old[(this.head + i) % old.length]
    this.items = items
    this.head = 0
    return slots
  }
}
