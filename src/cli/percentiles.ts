/** Latency percentiles by sorting the samples (nearest rank): exact for what was sampled. */
export interface Percentiles {
  count: number
  min: number | null
  p50: number | null
  p90: number | null
  p99: number | null
  p99_9: number | null
  max: number | null
}

export function percentiles(samples: Float64Array): Percentiles {
  const sorted = Float64Array.from(samples).sort()
  const n = sorted.length
  const at = (q: number) => (n === 0 ? null : round(sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!))
  return { count: n, min: n ? round(sorted[0]!) : null, p50: at(0.5), p90: at(0.9), p99: at(0.99), p99_9: at(0.999), max: n ? round(sorted[n - 1]!) : null }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000
}
