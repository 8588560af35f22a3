/**
 * The profiling helpers of bench/ (docs/performance.md, "Profiling with
 * perf"): the JIT-dump reader against a dump JSC itself writes, and the
 * attribution of perf samples to their innermost JavaScript caller.
 */
import { expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { attribute, parseScript } from '../bench/perf-by-js'
import { perfMap, readJitDump } from '../bench/perf-jit-map'

test('reads the JIT dump JSC writes: the process id and the names of the compiled functions', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-jitdump-'))
  try {
    // A function hot enough to be compiled past the interpreter, in rounds: JSC compiles on its own
    // threads and writes the dump as the code is installed, which a process that exits at once can miss.
    const script = 'function heraldProbe(x) { return (x * 31) ^ (x >>> 3) }\nlet s = 0\nfor (let r = 0; r < 6; r++) { for (let i = 0; i < 2e5; i++) s += heraldProbe(i); await Bun.sleep(50) }\nconsole.log(s)'
    const child = Bun.spawn([process.execPath, '-e', script], { env: { ...process.env, BUN_JSC_useJITDump: '1', BUN_JSC_jitDumpDirectory: dir }, stdout: 'ignore', stderr: 'inherit' })
    expect(await child.exited).toBe(0)
    const dumps = readdirSync(dir).filter((f) => f.endsWith('.dump'))
    expect(dumps.length).toBe(1)
    const { pid, code } = readJitDump(readFileSync(join(dir, dumps[0]!)))
    expect(pid).toBe(child.pid)
    const probe = code.find((c) => /^JSC-(Baseline|DFG|FTL): heraldProbe#/.test(c.name))
    expect(probe).toBeDefined()
    expect(probe!.size).toBeGreaterThan(0n)
    expect(perfMap([probe!])).toBe(`${probe!.address.toString(16)} ${probe!.size.toString(16)} ${probe!.name}\n`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 20_000)

test('refuses a file that is not a JIT dump', () => {
  expect(() => readJitDump(new Uint8Array(64))).toThrow('not a jitdump')
})

const sample = (tid: number, time: number, frames: string[]) => `${tid} ${time.toFixed(6)}: \n${frames.map((f) => `\t    ${f}\n`).join('')}\n`
const kernel = '7fff0001 tcp_sendmsg ([kernel.kallsyms])'
const bun = '1a4ac73 [unknown] (/x/node_modules/bun/bin/bun.exe)'
const cast = '7f63b132e7ec JSC-DFG: cast#B7JHdK (/tmp/perf-7.map)'
const flush = '7f63b130de42 JSC-Baseline: flushDirty#ChtcRV (/tmp/perf-7.map)'

test('charges each sample to its innermost JavaScript function and its leaf, inside the load with BETWEEN', () => {
  const script =
    sample(7, 1.0, [bun, bun]) + // start-up: no JS on the stack, before the load
    sample(7, 2.0, [bun, cast, flush]) + // the native publish, called by cast
    sample(7, 2.5, [kernel, bun]) + // the event loop's drain
    sample(7, 3.0, [kernel, bun, cast, flush]) + // a system call under cast
    sample(8, 2.2, [bun, cast]) + // another thread, not asked for
    sample(7, 4.0, [bun]) // after the load
  const all = attribute(parseScript(script), new Set(['7'])).get('7')!
  expect(all.get('total')).toBe(5)
  expect(all.get('cast')).toBe(2)
  expect(all.get('cast / bun')).toBe(1)
  expect(all.get('cast / kernel')).toBe(1)
  expect(all.get('(no js) / bun')).toBe(2)
  expect(all.get('(no js) / kernel')).toBe(1)
  const load = attribute(parseScript(script), new Set(['7']), new Set(['cast'])).get('7')!
  expect(load.get('total')).toBe(3)
  expect(load.get('(no js)')).toBe(1)
  expect(load.get('cast')).toBe(2)
})
