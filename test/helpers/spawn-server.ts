/**
 * Runs herald as a separate process (`bun run src/index.ts`) on port 0, for
 * what only a real process shows: signals, exit codes, what reaches stdout
 * and stderr. Resolves once the server logged its `listening` line.
 * `await using` kills it (SIGKILL) at the end of the scope if it is still running.
 */
import { join } from 'node:path'
import { within } from './wait'

export interface SpawnedServer {
  readonly proc: Bun.Subprocess<'ignore', 'pipe', 'pipe'>
  readonly port: number
  readonly http: string
  readonly ws: string
  /** Everything written to stdout and stderr so far. */
  stdout(): string
  stderr(): string
  /** Sends `signal` and waits for the exit code. */
  stop(signal?: NodeJS.Signals, ms?: number): Promise<number>
  [Symbol.asyncDispose](): Promise<void>
}

const ROOT = join(import.meta.dir, '..', '..')

export async function spawnServer(env: Record<string, string> = {}, ms = 10_000): Promise<SpawnedServer> {
  const proc = Bun.spawn([process.execPath, 'run', 'src/index.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  let out = ''
  let err = ''
  let wake: (() => void) | undefined
  const pump = async (stream: ReadableStream<Uint8Array>, append: (s: string) => void) => {
    const decoder = new TextDecoder()
    for await (const chunk of stream) {
      append(decoder.decode(chunk, { stream: true }))
      wake?.()
    }
  }
  const pumped = Promise.all([pump(proc.stdout, (s) => (out += s)), pump(proc.stderr, (s) => (err += s))])
  proc.exited.then(() => wake?.())

  const port = await within(
    (async () => {
      for (;;) {
        for (const line of out.split('\n')) {
          if (!line.startsWith('{')) continue
          const entry = JSON.parse(line)
          if (entry.event === 'listening') return entry.port as number
        }
        if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}: ${err}${out}`)
        await new Promise<void>((r) => (wake = r))
      }
    })(),
    ms,
    'the spawned server to listen',
  ).catch((error) => {
    proc.kill('SIGKILL')
    throw error
  })

  return {
    proc,
    port,
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}/ws`,
    stdout: () => out,
    stderr: () => err,
    async stop(signal = 'SIGTERM', wait = 10_000) {
      proc.kill(signal)
      const code = await within(proc.exited, wait, `the server to exit after ${signal}`)
      await within(pumped, 2000, 'the server output to end')
      return code
    },
    async [Symbol.asyncDispose]() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      await within(proc.exited, 5000, 'the killed server to exit').catch(() => {})
    },
  }
}
