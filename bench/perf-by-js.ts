/**
 * Attributes a perf call-graph recording to JavaScript functions: each
 * sample of the given threads goes to the innermost JIT-compiled JS frame on
 * its stack (named through bench/perf-jit-map.ts), split by where the sample
 * itself landed: the kernel, Bun's native code, JIT code, libc. So a native
 * call (`server.publish`, `getBufferedAmount`, a system call) is charged to
 * the JS function that made it, and what ran with no JS on the stack (Bun's
 * event loop: reading frames, draining sockets) is "(no js)". For comparing
 * herald's main thread with the reference's in one recording (issue 11,
 * "Ninth pass" in docs/performance.md).
 *
 *   perf script -i /tmp/perf.data -F tid,time,ip,sym,dso > /tmp/perf.txt
 *   bun bench/perf-by-js.ts /tmp/perf.txt <tid> [<tid> …]     # a server's main thread: its pid
 *   BETWEEN=cast,message bun bench/perf-by-js.ts /tmp/perf.txt <tid> …
 *
 * BETWEEN: count a thread's samples only from its first to its last sample
 * charged to one of these functions (the load: herald's `cast`, the
 * reference's `message`), leaving out start-up (module loading, which is
 * native work with no JS frame) and the set-up of the connections. Needs the
 * `time` field.
 *
 * Bun's binary has no symbols, so its native code is one class; frame
 * pointers hold through it, so the JS callers above it are found.
 */
import { readFileSync } from 'node:fs'

export type Leaf = 'kernel' | 'bun' | 'jit' | 'libc' | 'other'

/** One sample's frames, innermost first: [symbol, object]. */
type Frame = [symbol: string, object: string]

const JS_FRAME = /^JSC-(?:FTL|DFG|Baseline|LLInt|FTLForOSREntry): (.*?)(?:#\w+)?$/

export function leafOf([, object]: Frame): Leaf {
  if (object.includes('kernel')) return 'kernel'
  if (object.includes('bun')) return 'bun'
  if (object.startsWith('/tmp/perf-')) return 'jit'
  if (object.includes('libc')) return 'libc'
  return 'other'
}

/** The innermost JavaScript function on the stack, its tier and hash dropped; "(no js)" when none. */
export function innermostJs(frames: Frame[]): string {
  for (const [symbol] of frames) {
    const m = JS_FRAME.exec(symbol)
    if (m) return m[1] || '(anonymous)'
  }
  return '(no js)'
}

interface Sample {
  tid: string
  /** Seconds, when perf script printed the time. */
  time: number
  frames: Frame[]
}

/** The samples of `perf script -F tid[,time],ip,sym,dso` output. */
export function parseScript(script: string): Sample[] {
  const samples: Sample[] = []
  let sample: Sample | undefined
  for (const line of script.split('\n')) {
    if (line.trim() === '') {
      if (sample && sample.frames.length > 0) samples.push(sample)
      sample = undefined
    } else if (!/^\s/.test(line)) {
      // "16192 12345.678901: " or "16192 "
      const [tid, time] = line.trim().split(/\s+/)
      sample = { tid: tid!, time: time ? Number.parseFloat(time) : NaN, frames: [] }
    } else if (sample) {
      // "\t    7f63b132e7ec JSC-Baseline: cast#B7JHdK (/tmp/perf-13034.map)"
      const m = /^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$/.exec(line)
      if (m) sample.frames.push([m[1]!, m[2]!])
    }
  }
  if (sample && sample.frames.length > 0) samples.push(sample)
  return samples
}

/** Counts per thread: `total`, then `function` and `function / leaf`; with `between`, only inside each thread's load (BETWEEN above). */
export function attribute(samples: Sample[], tids: Set<string>, between?: Set<string>): Map<string, Map<string, number>> {
  const window = new Map<string, [number, number]>()
  if (between)
    for (const s of samples) {
      if (!tids.has(s.tid) || !between.has(innermostJs(s.frames))) continue
      const w = window.get(s.tid)
      window.set(s.tid, w ? [Math.min(w[0], s.time), Math.max(w[1], s.time)] : [s.time, s.time])
    }
  const counts = new Map<string, Map<string, number>>([...tids].map((t) => [t, new Map()]))
  const add = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + 1)
  for (const s of samples) {
    const m = counts.get(s.tid)
    if (!m) continue
    if (between) {
      const w = window.get(s.tid)
      if (!w || s.time < w[0] || s.time > w[1]) continue
    }
    const fn = innermostJs(s.frames)
    add(m, 'total')
    add(m, fn)
    add(m, `${fn} / ${leafOf(s.frames[0]!)}`)
  }
  return counts
}

if (import.meta.main) {
  const [file, ...tids] = process.argv.slice(2)
  if (!file || tids.length === 0) {
    console.error('usage: [BETWEEN=fn,fn] bun bench/perf-by-js.ts <perf script -F tid,time,ip,sym,dso output> <tid> [<tid> …]')
    process.exit(2)
  }
  const between = process.env.BETWEEN ? new Set(process.env.BETWEEN.split(',')) : undefined
  const counts = attribute(parseScript(readFileSync(file, 'utf8')), new Set(tids), between)
  const keys = new Set<string>()
  for (const m of counts.values()) for (const k of m.keys()) keys.add(k)
  const rows = [...keys].sort((a, b) => Math.max(...tids.map((t) => counts.get(t)!.get(b) ?? 0)) - Math.max(...tids.map((t) => counts.get(t)!.get(a) ?? 0)))
  console.log(['samples'.padEnd(60), ...tids.map((t) => t.padStart(9))].join(''))
  for (const k of rows.slice(0, Number(process.env.ROWS ?? 40))) console.log([k.slice(0, 59).padEnd(60), ...tids.map((t) => String(counts.get(t)!.get(k) ?? 0).padStart(9))].join(''))
}
