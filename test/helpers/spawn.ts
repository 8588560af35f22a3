/**
 * Runs herald as a child process (`bun run src/index.ts`, or a compiled
 * binary) with environment variables, and waits for its `listening` log line,
 * which carries the port (PORT=0 picks a free one). `await using` kills it if
 * the test did not stop it.
 */
import { type Subprocess, spawn } from 'bun'
import { join } from 'node:path'
import { within } from './wait'

export const ROOT = join(import.meta.dir, '..', '..')
/** `bun run src/index.ts`: the server (or a subcommand) from source. */
export const ENTRY_COMMAND = [process.execPath, 'run', join(ROOT, 'src', 'index.ts')]

export interface ChildServer {
  readonly proc: Subprocess<'ignore', 'pipe', 'pipe'>
  readonly port: number
  readonly http: string
  readonly ws: string
  /** Every stdout line so far (structured JSON logs). */
  readonly lines: string[]
  /** stderr, accumulated. */
  stderr(): string
  readonly exited: Promise<number>
  [Symbol.asyncDispose](): Promise<void>
}

export interface SpawnOptions {
  env?: Record<string, string>
  args?: string[]
  /** The command to run instead of `bun run src/index.ts` (e.g. a compiled binary). */
  command?: string[]
  ms?: number
}

export async function spawnServer(options: SpawnOptions = {}): Promise<ChildServer> {
  const command = options.command ?? [process.execPath, 'run', join(ROOT, 'src', 'index.ts')]
  const proc = spawn([...command, ...(options.args ?? [])], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', HOST: '127.0.0.1', ...options.env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const lines: string[] = []
  let err = ''
  let onLine: (() => void) | undefined
  void (async () => {
    const decoder = new TextDecoder()
    let pending = ''
    for await (const chunk of proc.stdout) {
      pending += decoder.decode(chunk, { stream: true })
      const parts = pending.split('\n')
      pending = parts.pop()!
      lines.push(...parts)
      onLine?.()
    }
    onLine?.()
  })()
  void (async () => {
    const decoder = new TextDecoder()
    for await (const chunk of proc.stderr) err += decoder.decode(chunk, { stream: true })
  })()

  const port = await within(
    (async () => {
      for (;;) {
        for (const line of lines) {
          try {
            const entry = JSON.parse(line)
            if (entry.event === 'listening') return entry.port as number
          } catch {}
        }
        if (proc.exitCode !== null) throw new Error(`herald exited with ${proc.exitCode} before listening: ${err}`)
        await new Promise<void>((r) => {
          onLine = r
          setTimeout(r, 50) // also notices an exit without output
        })
      }
    })(),
    options.ms ?? 10_000,
    'the child server to log "listening"',
  ).catch((error) => {
    proc.kill('SIGKILL')
    throw error
  })

  return {
    proc,
    port,
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}/ws`,
    lines,
    stderr: () => err,
    exited: proc.exited,
    async [Symbol.asyncDispose]() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL')
        await proc.exited
      }
    },
  }
}

/** Runs a command to completion and returns its exit code and output. */
export async function runToEnd(command: string[], env: Record<string, string> = {}, ms = 10_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = spawn(command, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  try {
    const [code, stdout, stderr] = await within(Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]), ms, command.join(' '))
    return { code, stdout, stderr }
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL')
  }
}
