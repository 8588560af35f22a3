/**
 * NATS-style subject patterns on `.`-separated topic names:
 * - `*` matches exactly one segment (`chat.*` matches `chat.room1`, not `chat` nor `chat.a.b`);
 * - `>` matches one or more trailing segments and only as the last token (`tenant-7.>`
 *   matches `tenant-7.a` and `tenant-7.a.b`, not `tenant-7`);
 * - anything else matches a segment literally (`orders`; `a*b` is a literal, as in NATS).
 *
 * Segments are compared as whole tokens: an empty segment (`a..b`, a leading or
 * trailing `.`) is a segment like any other, matched literally, never by `*`
 * or `>` — so a pattern never grants a name whose structure it did not spell.
 * A pattern with `>` anywhere but last is invalid (token validation refuses it).
 */

/** One compiled pattern: a test on a topic name. */
export type TopicMatcher = (topic: string) => boolean

/** Why a pattern is invalid, or undefined when it is valid. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'a pattern must not be empty'
  if (pattern.length > 400) return 'a pattern is at most 400 characters'
  const tokens = pattern.split('.')
  const full = tokens.indexOf('>')
  if (full !== -1 && full !== tokens.length - 1) return `'>' may only be the last token of a pattern`
  return undefined
}

export function compilePattern(pattern: string): TopicMatcher {
  const problem = patternProblem(pattern)
  if (problem) throw new Error(problem)
  if (!pattern.includes('*') && !pattern.includes('>')) return (topic) => topic === pattern
  const tokens = pattern.split('.')
  const tail = tokens[tokens.length - 1] === '>'
  const fixed = tail ? tokens.slice(0, -1) : tokens
  return (topic) => {
    const parts = topic.split('.')
    if (tail ? parts.length <= fixed.length : parts.length !== fixed.length) return false
    for (let i = 0; i < fixed.length; i++) {
      const t = fixed[i]!
      const p = parts[i]!
      if (t === '*' ? p === '' : t !== p) return false
    }
    // `>` needs at least one non-empty trailing segment structure: each trailing segment must be non-empty.
    if (tail) for (let i = fixed.length; i < parts.length; i++) if (parts[i] === '') return false
    return true
  }
}

/** A set of patterns: a topic is allowed when any pattern matches. An empty set allows nothing. */
export class PatternSet {
  private readonly literals = new Set<string>()
  private readonly wildcards: TopicMatcher[] = []

  constructor(readonly patterns: readonly string[]) {
    for (const p of patterns) {
      if (!p.includes('*') && !p.includes('>')) this.literals.add(p)
      else this.wildcards.push(compilePattern(p))
    }
  }

  allows(topic: string): boolean {
    if (this.literals.has(topic)) return true
    for (const m of this.wildcards) if (m(topic)) return true
    return false
  }
}
