/**
 * A set whose members keep their own place in it: each member has a number
 * field, named by the list, holding its index in a dense array (-1 while it is
 * in no such list). Adding and removing are O(1) (a removal moves the last
 * member into the hole), and a walk is a walk over an array.
 *
 * Why not a Set: for one entry per connection, a JavaScriptCore Set costs
 * ~140 bytes a member (measured at 19,000 members, table and slack included);
 * this costs one array slot and one field, 16 bytes (docs/performance.md,
 * "Idle memory per connection").
 *
 * Order is not kept. A walk that removes members must go backwards over
 * `members()` (the member moved into a hole was already visited) or over a copy.
 */
export class SlotList<K extends string, T extends Record<K, number>> {
  private readonly items: T[] = []

  /** `key`: the member's field that holds its index here. */
  constructor(private readonly key: K) {}

  get size(): number {
    return this.items.length
  }

  has(item: T): boolean {
    const i = item[this.key]
    return i >= 0 && this.items[i] === item
  }

  add(item: T): void {
    if (this.has(item)) return
    ;(item as Record<K, number>)[this.key] = this.items.length
    this.items.push(item)
  }

  /** Removes `item`; returns false when it was not a member. */
  delete(item: T): boolean {
    if (!this.has(item)) return false
    const i = item[this.key]
    const last = this.items.pop()!
    if (last !== item) {
      this.items[i] = last
      ;(last as Record<K, number>)[this.key] = i
    }
    ;(item as Record<K, number>)[this.key] = -1
    return true
  }

  /** Removes every member. */
  clear(): void {
    for (const item of this.items) (item as Record<K, number>)[this.key] = -1
    this.items.length = 0
  }

  /** The members, live (not a copy): valid until the next add or delete. */
  members(): readonly T[] {
    return this.items
  }
}
