import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { PatternSet, compilePattern, patternProblem } from '../../src/auth/patterns'

/** The reference: a pattern as a regular expression, token by token (`*` one non-empty segment, `>` one or more). */
function reference(pattern: string): RegExp {
  const tokens = pattern.split('.')
  const parts = tokens.map((t, i) => {
    if (t === '*') return '[^.]+'
    if (t === '>' && i === tokens.length - 1) return '[^.]+(?:\\.[^.]+)*'
    return t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  })
  return new RegExp(`^${parts.join('\\.')}$`)
}

describe('topic patterns (NATS syntax)', () => {
  const table: [pattern: string, topic: string, matches: boolean][] = [
    ['orders', 'orders', true],
    ['orders', 'orders.eu', false],
    ['orders', 'order', false],
    ['chat.*', 'chat.room1', true],
    ['chat.*', 'chat', false],
    ['chat.*', 'chat.a.b', false],
    ['*', 'a', true],
    ['*', 'a.b', false],
    ['*.b', 'a.b', true],
    ['a.*.c', 'a.x.c', true],
    ['a.*.c', 'a.x.y.c', false],
    ['a.>', 'a', false],
    ['a.>', 'a.b', true],
    ['a.>', 'a.b.c.d', true],
    ['tenant-7.>', 'tenant-7.orders', true],
    ['tenant-7.>', 'tenant-70.orders', false],
    ['>', 'a', true],
    ['>', 'a.b', true],
    ['*.>', 'a', false],
    ['*.>', 'a.b', true],
    // Wildcards are whole tokens only: inside a token they are literal characters.
    ['a*', 'ab', false],
    ['a*', 'a*', true],
    ['a>', 'a>', true],
    // Empty segments are segments: matched literally, never by * or >.
    ['a..b', 'a..b', true],
    ['a.*.b', 'a..b', false],
    ['a.>', 'a.', false],
    ['a.>', 'a..b', false],
    ['*', '', false],
    ['a.*', 'a.', false],
  ]
  for (const [pattern, topic, matches] of table)
    test(`${JSON.stringify(pattern)} ${matches ? 'matches' : 'does not match'} ${JSON.stringify(topic)}`, () => {
      expect(compilePattern(pattern)(topic)).toBe(matches)
      expect(reference(pattern).test(topic)).toBe(matches)
    })

  test('invalid patterns are refused with a reason', () => {
    expect(patternProblem('')).toBeString()
    expect(patternProblem('a.>.b')).toBe(`'>' may only be the last token of a pattern`)
    expect(patternProblem('>.a')).toBeString()
    expect(patternProblem('x'.repeat(401))).toBeString()
    expect(patternProblem('a.>')).toBeUndefined()
    expect(() => compilePattern('a.>.b')).toThrow()
  })

  test('a set allows a topic when any pattern matches; an empty set allows nothing', () => {
    const set = new PatternSet(['orders', 'chat.*', 'tenant-7.>'])
    expect(['orders', 'chat.x', 'tenant-7.a.b'].map((t) => set.allows(t))).toEqual([true, true, true])
    expect(['orders.x', 'chat', 'tenant-7', 'other'].map((t) => set.allows(t))).toEqual([false, false, false, false])
    expect(new PatternSet([]).allows('orders')).toBe(false)
  })

  test('property: the matcher agrees with the reference on random patterns and topics', () => {
    // A small alphabet so that random patterns and topics collide often; '' segments included.
    const segment = fc.constantFrom('', 'a', 'b', 'ab', 'a*', '-', ':x')
    const topic = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => s.join('.'))
    const token = fc.oneof(segment, fc.constant('*'))
    const pattern = fc
      .tuple(fc.array(token, { minLength: 0, maxLength: 4 }), fc.boolean())
      .filter(([tokens, tail]) => tokens.length > 0 || tail)
      .map(([tokens, tail]) => [...tokens, ...(tail ? ['>'] : [])].join('.'))
      .filter((p) => patternProblem(p) === undefined)
    fc.assert(
      fc.property(pattern, topic, (p, t) => {
        expect(compilePattern(p)(t)).toBe(reference(p).test(t))
        expect(new PatternSet([p]).allows(t)).toBe(reference(p).test(t))
      }),
      { numRuns: 5000 },
    )
  })
})
