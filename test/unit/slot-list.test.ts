import { describe, expect, test } from 'bun:test'
import { SlotList } from '../../src/util/slot-list'

interface Item {
  name: string
  a: number
  b: number
}
const item = (name: string): Item => ({ name, a: -1, b: -1 })
const names = (list: SlotList<'a', Item>) => list.members().map((i) => i.name).sort()

describe('SlotList (a set whose members hold their own index)', () => {
  test('add, has, delete and size behave as a set; adding twice or deleting a non-member changes nothing', () => {
    const list = new SlotList<'a', Item>('a')
    const [x, y, z] = [item('x'), item('y'), item('z')]
    list.add(x)
    list.add(y)
    list.add(x)
    expect(list.size).toBe(2)
    expect(list.has(x) && list.has(y)).toBe(true)
    expect(list.has(z)).toBe(false)
    expect(list.delete(z)).toBe(false)
    expect(list.delete(x)).toBe(true)
    expect(list.delete(x)).toBe(false)
    expect(list.has(x)).toBe(false)
    expect(x.a).toBe(-1)
    expect(names(list)).toEqual(['y'])
  })

  test('a deletion in the middle moves the last member into the hole, which keeps its index right', () => {
    const list = new SlotList<'a', Item>('a')
    const items = ['p', 'q', 'r', 's'].map(item)
    for (const i of items) list.add(i)
    list.delete(items[1]!)
    expect(names(list)).toEqual(['p', 'r', 's'])
    for (const [i, member] of list.members().entries()) expect(member.a).toBe(i)
    // The moved member can still be deleted and found.
    expect(list.delete(items[3]!)).toBe(true)
    expect(names(list)).toEqual(['p', 'r'])
  })

  test('a backwards walk that deletes visits every member once', () => {
    const list = new SlotList<'a', Item>('a')
    const items = Array.from({ length: 50 }, (_, i) => item(`m${i}`))
    for (const i of items) list.add(i)
    const seen: string[] = []
    const members = list.members()
    for (let i = members.length - 1; i >= 0; i--) {
      const m = members[i]!
      seen.push(m.name)
      if (Number(m.name.slice(1)) % 3 === 0) list.delete(m)
    }
    expect(seen.sort()).toEqual(items.map((i) => i.name).sort())
    expect(list.size).toBe(50 - 17)
  })

  test('clear empties the list and leaves every former member free to join again', () => {
    const list = new SlotList<'a', Item>('a')
    const items = ['u', 'v', 'w'].map(item)
    for (const i of items) list.add(i)
    list.clear()
    expect(list.size).toBe(0)
    for (const i of items) {
      expect(list.has(i)).toBe(false)
      expect(i.a).toBe(-1)
    }
    list.add(items[2]!)
    expect(names(list)).toEqual(['w'])
  })

  test('one object can be in two lists that use different fields', () => {
    const one = new SlotList<'a', Item>('a')
    const two = new SlotList<'b', Item>('b')
    const [x, y] = [item('x'), item('y')]
    one.add(x)
    two.add(y)
    two.add(x)
    one.delete(x)
    expect(two.has(x) && two.has(y)).toBe(true)
    expect(one.size).toBe(0)
  })
})
