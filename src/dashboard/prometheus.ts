/** Reads the few totals the overview needs out of /metrics (Prometheus text format 0.0.4). */

/**
 * The sum of every sample of `name` whose labels include all of `labels`. 0 when there is none
 * (a counter that has not been incremented yet may not be exposed at all).
 */
export function sumSamples(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const rest = line.slice(name.length)
    if (rest[0] !== ' ' && rest[0] !== '{') continue // a longer name with the same prefix
    const close = rest[0] === '{' ? rest.indexOf('}') : -1
    const labelText = close === -1 ? '' : rest.slice(1, close)
    if (!Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) continue
    const value = Number(rest.slice(close + 1).trim().split(' ')[0])
    if (Number.isFinite(value)) total += value
  }
  return total
}

/** The counters the overview turns into rates. */
export interface Totals {
  published: number
  delivered: number
  dropped: number
  slowNotices: number
  slowDisconnects: number
}

export function readTotals(text: string): Totals {
  return {
    published: sumSamples(text, 'herald_messages_published_total'),
    delivered: sumSamples(text, 'herald_messages_delivered_total'),
    dropped: sumSamples(text, 'herald_messages_dropped_total'),
    slowNotices: sumSamples(text, 'herald_slow_consumer_total', { action: 'notice' }),
    slowDisconnects: sumSamples(text, 'herald_slow_consumer_total', { action: 'disconnect' }),
  }
}
