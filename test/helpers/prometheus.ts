/** Scrapes a Prometheus text exposition and reads samples by name and labels. Enough of the format for herald's own output. */
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line)
    if (!m) throw new Error(`unparsable metrics line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c))
    samples.push({ name: m[1]!, labels, value: Number(m[3]) })
  }
  return samples
}

export interface Scrape {
  readonly samples: Sample[]
  /** The value of the one sample with this name whose labels include `labels`; throws if there is none. */
  value(name: string, labels?: Record<string, string>): number
  /** The sum over every sample with this name whose labels include `labels` (0 if none). */
  sum(name: string, labels?: Record<string, string>): number
}

export async function scrape(baseUrl: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const res = await fetch(`${baseUrl}/metrics`, { headers })
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${await res.text()}`)
  const samples = parsePrometheus(await res.text())
  const matching = (name: string, labels: Record<string, string>) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  return {
    samples,
    value(name, labels = {}) {
      const found = matching(name, labels)
      if (found.length !== 1) throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${found.length}`)
      return found[0]!.value
    },
    sum: (name, labels = {}) => matching(name, labels).reduce((a, s) => a + s.value, 0),
  }
}
