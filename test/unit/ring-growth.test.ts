import { describe, expect, test } from 'bun:test'
import { Ring } from '../../src/util/ring'

/** The ring grows its storage on demand (docs/performance.md); it must behave exactly like a bounded drop-oldest FIFO. */
describe('Ring with on-demand storage', () => {
  test('matches a plain array model under random push/shift/last/clear', () => {
    let seed = 42
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n)
    for (const capacity of [0, 1, 3, 4, 5, 8, 100]) {
      const ring = new Ring<number>(capacity)
      let model: number[] = []
      let next = 0
      for (let step = 0; step < 5000; step++) {
        const op = rand(10)
        if (op < 6) {
          const v = next++
          const evicted = ring.push(v)
          if (capacity === 0) expect(evicted).toBe(v)
          else if (model.length === capacity) expect(evicted).toBe(model.shift()!)
          else expect(evicted).toBeUndefined()
          if (capacity > 0) model.push(v)
        } else if (op < 9) expect(ring.shift()).toBe(model.shift())
        else if (rand(20) === 0) {
          ring.clear()
          model = []
        }
        expect(ring.size).toBe(model.length)
        expect(ring.peek()).toBe(model[0])
        const k = rand(capacity + 2)
        expect(ring.last(k)).toEqual(model.slice(Math.max(0, model.length - k)))
      }
    }
  })
})
