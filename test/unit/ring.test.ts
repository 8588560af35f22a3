import { describe, expect, test } from 'bun:test'
import { Ring } from '../../src/util/ring'

describe('Ring', () => {
  test('push keeps items in FIFO order until full', () => {
    const ring = new Ring<number>(3)
    expect(ring.size).toBe(0)
    expect(ring.peek()).toBeUndefined()
    expect(ring.push(1)).toBeUndefined()
    expect(ring.push(2)).toBeUndefined()
    expect(ring.push(3)).toBeUndefined()
    expect(ring.size).toBe(3)
    expect(ring.peek()).toBe(1)
    expect(ring.last(3)).toEqual([1, 2, 3])
  })

  test('push on a full ring evicts and returns the oldest', () => {
    const ring = new Ring<number>(3)
    for (const i of [1, 2, 3]) ring.push(i)
    expect(ring.push(4)).toBe(1)
    expect(ring.push(5)).toBe(2)
    expect(ring.size).toBe(3)
    expect(ring.last(3)).toEqual([3, 4, 5])
    expect(ring.peek()).toBe(3)
  })

  test('last(k) gives the newest k oldest first, capped at size, empty for k <= 0', () => {
    const ring = new Ring<number>(5)
    for (let i = 1; i <= 8; i++) ring.push(i) // wraps around: holds 4..8
    expect(ring.last(2)).toEqual([7, 8])
    expect(ring.last(5)).toEqual([4, 5, 6, 7, 8])
    expect(ring.last(100)).toEqual([4, 5, 6, 7, 8])
    expect(ring.last(0)).toEqual([])
    expect(ring.last(-3)).toEqual([])
  })

  test('shift removes the oldest; interleaved with push across the wrap point', () => {
    const ring = new Ring<number>(3)
    ring.push(1)
    ring.push(2)
    expect(ring.shift()).toBe(1)
    ring.push(3)
    ring.push(4) // wraps: slots hold 4, 2, 3
    expect(ring.size).toBe(3)
    expect(ring.last(3)).toEqual([2, 3, 4])
    expect(ring.shift()).toBe(2)
    expect(ring.shift()).toBe(3)
    expect(ring.shift()).toBe(4)
    expect(ring.shift()).toBeUndefined()
    expect(ring.size).toBe(0)
    ring.push(5)
    expect(ring.last(1)).toEqual([5])
  })

  test('capacity 0 keeps nothing: push returns the item itself as evicted', () => {
    const ring = new Ring<string>(0)
    expect(ring.push('a')).toBe('a')
    expect(ring.size).toBe(0)
    expect(ring.peek()).toBeUndefined()
    expect(ring.shift()).toBeUndefined()
    expect(ring.last(5)).toEqual([])
  })

  test('clear empties the ring and it is reusable', () => {
    const ring = new Ring<number>(2)
    ring.push(1)
    ring.push(2)
    ring.push(3)
    ring.clear()
    expect(ring.size).toBe(0)
    expect(ring.last(2)).toEqual([])
    ring.push(9)
    expect(ring.last(2)).toEqual([9])
  })

  test('rejects a negative or fractional capacity', () => {
    expect(() => new Ring(-1)).toThrow(RangeError)
    expect(() => new Ring(1.5)).toThrow(RangeError)
  })
})
