/**
 * Starts the server under test in a process of its own (herald, or the native
 * reference), waits for its `{"event":"listening","port":N}` line, and reads
 * its CPU time and RSS from /proc.
 */
import type { Subprocess } from 'bun'
import { resolve } from 'node:path'
import { readdirSync, readFileSync } from 'node:fs'

export type Target = 'project' | 'reference'
export const ROOT = resolve(import.meta.dir, '../..')
const BUN = process.execPath

export interface ServerHandle {
  readonly target: Target
  readonly port: number
  readonly pid: number
  readonly http: string
  /** POST /topics for each name (201 expected). */
  createTopics(names: string[]): Promise<void>
  stop(): Promise<void>
}

/** Environment for herald in a benchmark: no heartbeat frames during a run (they would be counted as events). */
export const PROJECT_ENV = { HEARTBEAT_INTERVAL_MS: '3600000', LOG_LEVEL: 'info', HOST: '127.0.0.1', SHUTDOWN_GRACE_MS: '200' }

/** BENCH_PROFILE=<dir>: run the servers under `bun --cpu-prof --cpu-prof-md` and stop them with SIGTERM so the profile is written. */
const PROFILE_DIR = process.env.BENCH_PROFILE

/**
 * BENCH_PROJECT_SERVER=<script>: run that script in herald's place (for instance
 * bench/js-floor-server.ts, the floor of a fan-out written in JavaScript); the
 * reference stays the native one.
 */
const PROJECT_SERVER = process.env.BENCH_PROJECT_SERVER

export function commandFor(target: Target): string[] {
  const prof = PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-md', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${target}-${Date.now()}.cpuprofile`] : []
  const project = PROJECT_SERVER ? resolve(PROJECT_SERVER) : resolve(ROOT, 'src/index.ts')
  return target === 'project' ? [BUN, ...prof, 'run', project] : [BUN, ...prof, 'run', resolve(ROOT, 'bench/reference-server.ts')]
}

/** Reads stdout until the "listening" log line; returns its port. */
export async function waitListening(proc: Subprocess<'ignore', 'pipe', 'inherit'>, ms: number): Promise<number> {
  const reader = proc.stdout.getReader()
  const decoder = new TextDecoder()
  let text = ''
  const deadline = performance.now() + ms
  try {
    while (performance.now() < deadline) {
      const timeout = Bun.sleep(Math.max(1, deadline - performance.now())).then(() => ({ done: true, value: undefined, timedOut: true }))
      const chunk = (await Promise.race([reader.read(), timeout])) as { done: boolean; value?: Uint8Array; timedOut?: boolean }
      if (chunk.timedOut) break
      if (chunk.done) throw new Error(`server exited before listening: ${text.slice(-500)}`)
      text += decoder.decode(chunk.value, { stream: true })
      for (const line of text.split('\n')) {
        if (!line.includes('"listening"')) continue
        const port = (JSON.parse(line) as { port?: number }).port
        if (typeof port === 'number') return port
      }
    }
  } finally {
    reader.releaseLock()
  }
  throw new Error(`server did not log "listening" within ${ms} ms: ${text.slice(-500)}`)
}

/** Drains a child's stdout so it never blocks on a full pipe. */
function drain(proc: Subprocess<'ignore', 'pipe', 'inherit'>): void {
  void (async () => {
    try {
      for await (const _ of proc.stdout) {
      }
    } catch {}
  })()
}

export async function startServer(target: Target, env: Record<string, string> = {}): Promise<ServerHandle> {
  const proc = Bun.spawn(commandFor(target), {
    cwd: ROOT,
    env: { ...process.env, ...PROJECT_ENV, PORT: '0', ...env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'inherit',
  })
  let port: number
  try {
    port = await waitListening(proc, 15_000)
  } catch (e) {
    proc.kill('SIGKILL')
    throw e
  }
  drain(proc)
  const host = env.HOST ?? PROJECT_ENV.HOST
  const http = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`
  return {
    target,
    port,
    pid: proc.pid,
    http,
    async createTopics(names) {
      const batch = 50
      for (let i = 0; i < names.length; i += batch)
        await Promise.all(
          names.slice(i, i + batch).map(async (name) => {
            const res = await fetch(`${http}/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) })
            await res.arrayBuffer()
            if (res.status !== 201) throw new Error(`POST /topics ${name}: ${res.status}`)
          }),
        )
    },
    async stop() {
      if (PROFILE_DIR) {
        proc.kill('SIGTERM')
        if (await Promise.race([proc.exited.then(() => true), Bun.sleep(5000).then(() => false)])) return
      }
      proc.kill('SIGKILL')
      await Promise.race([proc.exited, Bun.sleep(5000)])
    },
  }
}

/** CPU seconds (user + system) of a process, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  return statLine(readFileSync(`/proc/${pid}/stat`, 'utf8')).seconds
}
const CLK_TCK = 100

/** A /proc stat line (a process's or a thread's): its name and its CPU seconds (user + system). */
function statLine(stat: string): { name: string; seconds: number } {
  // The name sits in parentheses and may hold spaces; the fields after it start at field 3 (state).
  const close = stat.lastIndexOf(')')
  const fields = stat.slice(close + 2).split(' ')
  // utime is field 14, stime field 15.
  return { name: stat.slice(stat.indexOf('(') + 1, close), seconds: (Number(fields[11]) + Number(fields[12])) / CLK_TCK }
}

/** Resident set size in bytes, from /proc/<pid>/status (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = /VmRSS:\s+(\d+) kB/.exec(status)
  return m ? Number(m[1]) * 1024 : NaN
}

/**
 * The server's RSS once it has stopped falling: sampled every `everyMs` until
 * a sample is within 0.5 % of the one before, at most `maxMs`. A server that
 * has just made thousands of connections still holds pages of the garbage
 * their set-up made; its allocator returns them within a second or two (seen
 * on both servers: "Fifth pass" in docs/performance.md).
 */
export async function settledRssBytes(pid: number, maxMs = 6000, everyMs = 500): Promise<number> {
  let last = rssBytes(pid)
  for (let waited = 0; waited < maxMs; waited += everyMs) {
    await Bun.sleep(everyMs)
    const now = rssBytes(pid)
    if (Math.abs(now - last) <= last * 0.005) return now
    last = now
  }
  return last
}

/**
 * CPU seconds (user + system) of a process's threads whose name starts with
 * `prefix`, from /proc/<pid>/task/<tid>/stat (JSC names its compiler threads
 * "JITWorker"). A thread that exits between two readings takes its share with
 * it: read it only for long-lived threads.
 */
export function threadCpuSeconds(pid: number, prefix: string): number {
  let seconds = 0
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return NaN
  }
  for (const tid of tids) {
    let stat: string
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
    } catch {
      continue // the thread ended since the listing
    }
    const thread = statLine(stat)
    if (thread.name.startsWith(prefix)) seconds += thread.seconds
  }
  return seconds
}

/** The name prefix of JSC's JIT compiler threads. */
const JIT_THREADS = 'JITWorker'

/**
 * Measures CPU% of the server and of this load generator over an interval,
 * and the part of the server's that its JIT compiler threads took
 * (`serverJitCpu`: compiling the hot code, most of it in a fresh server's
 * first seconds; docs/performance.md, "Eighth pass").
 */
export class CpuMeter {
  private readonly t0 = performance.now()
  private readonly server0: number
  private readonly jit0: number
  private readonly self0 = process.cpuUsage()
  constructor(private readonly pid: number) {
    this.server0 = cpuSeconds(pid)
    this.jit0 = threadCpuSeconds(pid, JIT_THREADS)
  }
  read(): { serverCpu: number; serverJitCpu: number; loadgenCpu: number; seconds: number } {
    const seconds = (performance.now() - this.t0) / 1000
    const self = process.cpuUsage(this.self0)
    return {
      serverCpu: round((100 * (cpuSeconds(this.pid) - this.server0)) / seconds, 1),
      serverJitCpu: round((100 * (threadCpuSeconds(this.pid, JIT_THREADS) - this.jit0)) / seconds, 1),
      loadgenCpu: round((100 * (self.user + self.system)) / 1e6 / seconds, 1),
      seconds,
    }
  }
}

export const round = (x: number, digits = 0) => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}
