#!/usr/bin/env bun
/**
 * herald's benchmark suite: every scenario against herald and against the
 * native reference server (bench/reference-server.ts) in the same run,
 * alternating which goes first, medians of several runs, ratios.
 *
 *   bun run bench                       full suite (several minutes)
 *   bun run bench --quick               small N, short runs (BENCH_QUICK=1 too)
 *   bun run bench --only fanout,latency scenarios whose name starts with these
 *   bun run bench --runs 5              runs per scenario and target (BENCH_RUNS)
 *   bun run bench --warmup 1000         each fan-out run after 1 s of the same load, not measured (BENCH_WARMUP_MS)
 *   bun run bench --only fanout_100_w   the window sweep at N = 100 (fanout_1000_w… at N = 1,000)
 *   bun run bench --only 'fanout_100$'  exactly that scenario (a trailing $ turns off the prefix match)
 *
 * Output (stdout): a progress line per run, the human table, then one JSON
 * line per scenario, starting with {"scenario":…}. Exit code 1 if a scenario
 * failed or lost or duplicated a message.
 */
import { cpus } from 'node:os'
import { type Metrics, type Scenario, conns, fanout, latency, publish, slow, startup, topics } from './scenarios'
import type { Target } from './lib/server-process'

const args = process.argv.slice(2)
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i === -1 ? undefined : (args[i + 1] ?? '')
}
const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1'
const runs = Number(flag('runs') ?? process.env.BENCH_RUNS ?? (quick ? 1 : 3))
const warmup = flag('warmup')
if (warmup !== undefined) process.env.BENCH_WARMUP_MS = warmup // read by the fan-out scenarios at each run
const only = (flag('only') ?? process.env.BENCH_ONLY ?? '').split(',').filter(Boolean)

export function suite(quick: boolean): Scenario[] {
  return quick
    ? [fanout(20, 500), fanout(100, 500), fanout(100, 500, { window: 8, batch: 8 }), topics(50, 5, 50, 2, 500, 2000), latency(200, 50, 600), latency(2000, 50, 600), slow(20, 500), conns(500, 4, 3), publish(500), startup()]
    : [
        fanout(100, 3000),
        fanout(1000, 3000),
        // The window sweep: shallow publishers (1 = wait for every ack) to deep ones; batches of at most 8, as a real publisher.
        ...[100, 1000].flatMap((n) => [1, 8, 64, 1000].map((window) => fanout(n, 3000, { window, batch: Math.min(8, window) }))),
        ...[100, 1000].map((n) => fanout(n, 3000, { window: 64, batch: 8, publishers: 10 })),
        // The durable engine beside the memory one (issue 10: target ≥ 0.8 × memory, ≥ 10,000 acked publishes/s).
        fanout(100, 3000, { engine: 'sqlite' }),
        fanout(1000, 3000, { engine: 'sqlite' }),
        publish(3000, 1000, 'sqlite'),
        topics(1000, 10, 1000, 4, 3000),
        latency(200, 1000, 5000),
        latency(2000, 1000, 5000),
        slow(100, 3000),
        conns(19_000, 10, 7),
        publish(3000),
        startup(),
      ]
}

/** The median (the mean of the two middle values for an even count). */
export const median = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '—'
  if (Math.abs(x) >= 100_000) return `${(x / 1e6).toFixed(3)}M`
  if (Math.abs(x) >= 1000) return x.toFixed(0)
  if (Math.abs(x) >= 10) return x.toFixed(1)
  return x.toFixed(3).replace(/\.?0+$/, '') || '0'
}

export interface ScenarioReport {
  scenario: string
  params: Scenario['params']
  runs: number
  project: Metrics
  reference: Metrics
  ratio: Metrics
  samples: Record<Target, Metrics[]>
}

export async function runScenario(s: Scenario, runs: number, log: (line: string) => void = () => {}): Promise<ScenarioReport> {
  const samples: Record<Target, Metrics[]> = { project: [], reference: [] }
  for (let r = 0; r < runs; r++) {
    const order: Target[] = r % 2 === 0 ? ['project', 'reference'] : ['reference', 'project']
    for (const target of order) {
      const t = performance.now()
      const m = await s.run(target)
      samples[target].push(m)
      log(`  ${s.name} run ${r + 1}/${runs} ${target.padEnd(9)} ${((performance.now() - t) / 1000).toFixed(1)}s ${JSON.stringify(m)}`)
    }
  }
  const keys = [...new Set([...samples.project, ...samples.reference].flatMap((m) => Object.keys(m)))]
  const med = (target: Target) => Object.fromEntries(keys.map((k) => [k, median(samples[target].map((m) => m[k]!))]))
  const project = { ...med('project') }
  const reference = { ...med('reference') }
  if (s.derive) {
    Object.assign(project, s.derive(project))
    Object.assign(reference, s.derive(reference))
    keys.push(...Object.keys(s.derive(project)).filter((k) => !keys.includes(k)))
  }
  // Loss is summed over runs, never a median: one lost message anywhere shows.
  for (const k of ['lost', 'extra'])
    for (const t of ['project', 'reference'] as const) {
      const sum = samples[t].reduce((a, m) => a + (m[k] ?? 0), 0)
      ;(t === 'project' ? project : reference)[k] = sum
    }
  // The ratio of each run's herald and reference results (run back to back, so under similar background
  // load), then the median of those ratios: steadier on a shared machine than a ratio of medians.
  const paired = (k: string) => median(samples.project.map((m, r) => m[k]! / samples.reference[r]![k]!))
  const ratio = Object.fromEntries(keys.map((k) => [k, Math.round(paired(k) * 1000) / 1000]))
  if (s.derive) for (const k of Object.keys(s.derive(project))) ratio[k] = Math.round((project[k]! / reference[k]!) * 1000) / 1000
  return { scenario: s.name, params: s.params, runs, project, reference, ratio, samples }
}

function table(reports: ScenarioReport[], scenarios: Scenario[]): string {
  const rows: string[][] = [['scenario', 'metric', 'herald', 'reference', 'herald/ref (paired)']]
  for (const rep of reports) {
    const spec = scenarios.find((s) => s.name === rep.scenario)!
    for (const m of spec.metrics) {
      const ratio = m.key === 'lost' || rep.reference[m.key] === 0 ? '' : fmt(rep.ratio[m.key])
      rows.push([rep.scenario, m.label, fmt(rep.project[m.key]), fmt(rep.reference[m.key]), ratio])
    }
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  return rows.map((r, i) => r.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ') + (i === 0 ? '\n' + widths.map((w) => '-'.repeat(w)).join('  ') : '')).join('\n')
}

if (import.meta.main) {
  const all = suite(quick)
  // --only NAME matches every scenario whose name starts with NAME; NAME$ matches exactly that one.
  const chosen = only.length ? all.filter((s) => only.some((o) => (o.endsWith('$') ? s.name === o.slice(0, -1) : s.name.startsWith(o)))) : all
  const started = performance.now()
  console.log(`# herald bench: ${quick ? 'quick' : 'full'}, ${runs} run(s) per target, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, bun ${Bun.version}`)
  const reports: ScenarioReport[] = []
  for (const s of chosen) {
    console.log(`# ${s.name} ${JSON.stringify(s.params)}`)
    try {
      reports.push(await runScenario(s, runs, console.log))
    } catch (error) {
      console.log(`# ${s.name} FAILED: ${error instanceof Error ? error.stack : String(error)}`)
      process.exitCode = 1
    }
  }
  console.log('\n' + table(reports, chosen) + '\n')
  for (const rep of reports) {
    const { samples, ...line } = rep
    console.log(JSON.stringify({ ...line, samples }))
  }
  const lossy = reports.filter((r) => r.project.lost || r.project.extra || r.reference.extra)
  if (lossy.length) {
    console.log(`# LOSS OR DUPLICATES in: ${lossy.map((r) => r.scenario).join(', ')}`)
    process.exitCode = 1
  }
  console.log(`# done in ${((performance.now() - started) / 1000).toFixed(0)} s`)
  process.exit()
}
