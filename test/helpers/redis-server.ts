/**
 * A real `redis-server` for one test file (or bench run): started on a free
 * port in its own temp dir, so that a test may SIGKILL it, restart it on the
 * same port and dir (with its AOF, when `appendOnly`, or empty), pause it
 * (SIGSTOP, to make it unreachable without closing sockets), and clean it up
 * with `await using`. It never touches a Redis it did not start.
 *
 * With `REDIS_URL` set, `startRedis` uses that server instead and cannot kill,
 * restart or pause it (`ownProcess` false): fault tests skip there. Tests keep
 * apart from each other and from anything else on a shared Redis by a unique
 * `REDIS_PREFIX` (`uniquePrefix`), never by flushing.
 */
import { type Subprocess, spawn } from 'bun'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findProgram } from './external'
import { within } from './wait'

export interface RedisServerOptions {
  /** `--appendonly yes --appendfsync always`: a restart after SIGKILL keeps every acknowledged write. Default false (no persistence at all). */
  appendOnly?: boolean
  /** How long to wait for "Ready to accept connections". Default 10 s. */
  ms?: number
}

export interface TestRedis {
  readonly url: string
  readonly port: number
  /** False when REDIS_URL points at a server this helper did not start: kill, restart, pause and resume then throw. */
  readonly ownProcess: boolean
  /** The redis-server's pid (for CPU figures); undefined with REDIS_URL. */
  pid(): number | undefined
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>
  /** Starts again on the same port and dir (after kill). With appendOnly the data comes back from the AOF; without, it is gone. */
  restart(): Promise<void>
  /** SIGSTOP: the port still accepts TCP connections (the kernel does), but nothing answers. */
  pause(): void
  /** SIGCONT after pause. */
  resume(): void
  /** SIGKILL and remove the dir without waiting: for a process 'exit' handler. */
  killNow(): void
  [Symbol.asyncDispose](): Promise<void>
}

export const REDIS_SERVER = findProgram('redis-server')
/** True when Redis tests can run: a redis-server binary to start, or REDIS_URL. */
export const redisAvailable = REDIS_SERVER !== undefined || Boolean(process.env.REDIS_URL)
export const REDIS_HOW_TO = 'install redis-server (apt-get install redis-server) or set REDIS_URL'

let prefixCounter = 0
/** A REDIS_PREFIX no other test (or earlier run) uses: tests on one Redis stay apart without flushing anything. */
export function uniquePrefix(label = 't'): string {
  return `herald-test:${label}:${process.pid}:${Date.now().toString(36)}:${++prefixCounter}`
}

/** A TCP port free on 127.0.0.1 right now (closed again before redis-server binds it). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export async function startRedis(options: RedisServerOptions = {}): Promise<TestRedis> {
  const external = process.env.REDIS_URL
  if (external) return externalRedis(external)
  if (!REDIS_SERVER) throw new Error(`redis-server not found: ${REDIS_HOW_TO}`)
  const dir = mkdtempSync(join(tmpdir(), 'herald-redis-'))
  const port = await freePort()
  const args = [
    REDIS_SERVER,
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--daemonize', 'no',
    '--protected-mode', 'no',
    '--save', '',
    '--appendonly', options.appendOnly ? 'yes' : 'no',
    '--appendfsync', 'always',
    '--loglevel', 'notice',
  ]
  const ms = options.ms ?? 10_000
  let proc = await launch(args, ms)
  let paused = false
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    ownProcess: true,
    pid: () => proc.pid,
    async kill() {
      if (paused) proc.kill('SIGCONT')
      paused = false
      proc.kill('SIGKILL')
      await proc.exited
    },
    async restart() {
      if (proc.exitCode === null && proc.signalCode === null) throw new Error('restart() needs kill() first')
      proc = await launch(args, ms)
    },
    pause() {
      paused = true
      proc.kill('SIGSTOP')
    },
    resume() {
      paused = false
      proc.kill('SIGCONT')
    },
    killNow() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
    async [Symbol.asyncDispose]() {
      if (proc.exitCode === null && proc.signalCode === null) {
        if (paused) proc.kill('SIGCONT')
        proc.kill('SIGKILL')
        await proc.exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Spawns redis-server and waits until it logs that it accepts connections. */
async function launch(args: string[], ms: number): Promise<Subprocess<'ignore', 'pipe', 'pipe'>> {
  const proc = spawn(args, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  let output = ''
  const ready = (async () => {
    const decoder = new TextDecoder()
    for await (const chunk of proc.stdout) {
      output += decoder.decode(chunk, { stream: true })
      if (output.includes('Ready to accept connections')) return
    }
    throw new Error(`redis-server exited before it was ready: ${output.slice(-2000)}`)
  })()
  try {
    await within(ready, ms, 'redis-server to be ready')
  } catch (error) {
    proc.kill('SIGKILL')
    throw error
  }
  // Keep draining stdout so that a chatty server never blocks on a full pipe.
  void (async () => {
    for await (const _ of proc.stdout);
  })()
  return proc
}

function externalRedis(url: string): TestRedis {
  const refuse = () => {
    throw new Error('REDIS_URL is set: this Redis was not started by the tests and is never killed, restarted or paused')
  }
  return {
    url,
    port: Number(new URL(url).port || 6379),
    ownProcess: false,
    pid: () => undefined,
    kill: async () => refuse(),
    restart: async () => refuse(),
    pause: refuse,
    resume: refuse,
    killNow() {},
    async [Symbol.asyncDispose]() {},
  }
}
