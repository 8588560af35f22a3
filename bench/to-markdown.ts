#!/usr/bin/env bun
/**
 * Turns the JSON lines of a bench run into the markdown table of
 * docs/performance.md:  bun run bench > run.txt; bun bench/to-markdown.ts < run.txt
 */
import { suite } from './run'

const specs = new Map([...suite(false), ...suite(true)].map((s) => [s.name, s.metrics]))
const fmt = (x: number | undefined) => {
  if (x === undefined || x === null || !Number.isFinite(x)) return '—'
  if (Math.abs(x) >= 100_000) return `${(x / 1e6).toFixed(2)} M`
  if (Math.abs(x) >= 100) return x.toFixed(0)
  if (Math.abs(x) >= 10) return x.toFixed(1)
  return String(Math.round(x * 1000) / 1000)
}

const lines = (await new Response(Bun.stdin.stream()).text()).split('\n').filter((l) => l.startsWith('{"scenario"'))
const out = ['| scenario | metric | herald | reference | herald/ref |', '|---|---|--:|--:|--:|']
for (const line of lines) {
  const rep = JSON.parse(line) as { scenario: string; project: Record<string, number>; reference: Record<string, number>; ratio: Record<string, number> }
  for (const m of specs.get(rep.scenario) ?? []) {
    const ratio = m.key === 'lost' ? '' : fmt(rep.ratio[m.key])
    out.push(`| ${rep.scenario} | ${m.label} | ${fmt(rep.project[m.key])} | ${fmt(rep.reference[m.key])} | ${ratio} |`)
  }
}
console.log(out.join('\n'))
