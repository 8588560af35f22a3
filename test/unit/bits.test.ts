import { describe, expect, test } from 'bun:test'
import { withBit } from '../../src/util/bits'

describe('withBit', () => {
  test('sets and clears one bit, leaving the others as they are', () => {
    expect(withBit(0b0101, 0b0010, true)).toBe(0b0111)
    expect(withBit(0b0111, 0b0010, false)).toBe(0b0101)
    expect(withBit(0b0111, 0b0010, true)).toBe(0b0111)
    expect(withBit(0b0101, 0b0010, false)).toBe(0b0101)
  })
})
