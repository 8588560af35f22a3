/**
 * What every client subcommand shares: the argument parser, the common flags
 * (--url, --api-key, --token and their HERALD_* variables), the two error
 * kinds that map to exit codes, and the REST and SDK connections built from
 * the flags.
 *
 * Exit codes: 0 ok, 1 the server refused or could not be reached (message
 * printed), 2 bad usage (message and usage printed).
 */
import { HeraldClient, type HeraldClientOptions } from '../client'

export const EXIT_OK = 0
export const EXIT_SERVER = 1
export const EXIT_USAGE = 2

/** Bad usage: exit 2 with the message and the command's usage. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** The server refused or was unreachable: exit 1 with the message. */
export class ServerError extends Error {
  override name = 'ServerError'
}

export type FlagKind = 'string' | 'int' | 'number' | 'boolean'
export type FlagSpec = Record<string, FlagKind>
type FlagValue<K extends FlagKind> = K extends 'string' ? string : K extends 'boolean' ? boolean : number
export type Flags<S extends FlagSpec> = { [N in keyof S]?: FlagValue<S[N]> }

export const COMMON_FLAGS = { url: 'string', 'api-key': 'string', token: 'string', help: 'boolean' } as const satisfies FlagSpec

export const COMMON_USAGE = `Common flags:
  --url URL        the server (default http://127.0.0.1:8080, env HERALD_URL)
  --api-key KEY    the API key (env HERALD_API_KEY)
  --token TOKEN    a user token (env HERALD_TOKEN)
Exit codes: 0 ok, 1 server error, 2 bad usage.`

export interface Parsed<S extends FlagSpec> {
  flags: Flags<S & typeof COMMON_FLAGS>
  positionals: string[]
}

/** `--name value`, `--name=value`, boolean `--name`; anything not starting with `--` is positional. */
export function parseArgs<S extends FlagSpec>(argv: readonly string[], spec: S): Parsed<S> {
  const all: FlagSpec = { ...COMMON_FLAGS, ...spec }
  const flags: Record<string, unknown> = {}
  const positionals: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '-h') {
      flags.help = true
      continue
    }
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg)
      continue
    }
    const eq = arg.indexOf('=')
    const name = arg.slice(2, eq === -1 ? undefined : eq)
    const kind = all[name]
    if (!kind) throw new UsageError(`unknown flag '--${name}'`)
    if (kind === 'boolean') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`)
      flags[name] = true
      continue
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1)
    if (value === undefined) throw new UsageError(`--${name} needs a value`)
    flags[name] = kind === 'string' ? value : parseNumber(name, value, kind)
  }
  return { flags: flags as Parsed<S>['flags'], positionals }
}

function parseNumber(name: string, text: string, kind: 'int' | 'number'): number {
  const value = Number(text)
  const ok = text.trim() !== '' && Number.isFinite(value) && value >= 0 && (kind === 'number' || Number.isInteger(value))
  if (!ok) throw new UsageError(`--${name} must be a ${kind === 'int' ? 'non-negative integer' : 'non-negative number'}, not '${text}'`)
  return value
}

export interface Connection {
  url: string
  apiKey?: string
  token?: string
}

/** The server and credentials: flags win over HERALD_URL, HERALD_API_KEY, HERALD_TOKEN. */
export function connectionOf(flags: Flags<typeof COMMON_FLAGS>, env: Record<string, string | undefined>): Connection {
  const url = flags.url ?? env.HERALD_URL ?? 'http://127.0.0.1:8080'
  try {
    const protocol = new URL(url).protocol
    if (!['http:', 'https:', 'ws:', 'wss:'].includes(protocol)) throw new Error()
  } catch {
    throw new UsageError(`--url '${url}' is not an http(s) or ws(s) URL`)
  }
  return { url, apiKey: flags['api-key'] ?? (env.HERALD_API_KEY || undefined), token: flags.token ?? (env.HERALD_TOKEN || undefined) }
}

/** The REST base (http/https) of a --url given in any of the four schemes. */
function restBase(url: string): string {
  const parsed = new URL(url)
  parsed.protocol = parsed.protocol === 'wss:' || parsed.protocol === 'https:' ? 'https:' : 'http:'
  if (parsed.pathname.endsWith('/ws')) parsed.pathname = parsed.pathname.slice(0, -3)
  return parsed.toString().replace(/\/$/, '')
}

/** A REST call; a non-2xx reply or an unreachable server throws ServerError with the server's message. */
export async function restCall(conn: Connection, method: string, path: string, body?: unknown): Promise<any> {
  const headers: Record<string, string> = {}
  if (conn.apiKey) headers['x-api-key'] = conn.apiKey
  if (conn.token) headers.authorization = `Bearer ${conn.token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const url = restBase(conn.url) + path
  let res: Response
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000) })
  } catch (error) {
    throw new ServerError(`cannot reach ${url}: ${(error as Error).message}`)
  }
  const text = await res.text()
  let json: any
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  if (!res.ok) {
    const detail = json?.error ? `${json.error.code}: ${json.error.message}` : text.slice(0, 200)
    throw new ServerError(`${method} ${path}: HTTP ${res.status} ${detail}`)
  }
  return json
}

/** An SDK client for the connection; `options` adds to (and may override) the defaults here. */
export function clientOf(conn: Connection, options: HeraldClientOptions = {}): HeraldClient {
  return new HeraldClient(conn.url, { apiKey: conn.apiKey, token: conn.token, ...options })
}

/**
 * Writes a line to stdout, waiting when the pipe is full (a slow reader slows
 * the command, never grows its memory). A reader that went away (`| head -1`:
 * EPIPE) ends the command with status 0, as Unix tools do.
 */
export async function writeLine(line: string): Promise<void> {
  let ok: boolean
  try {
    ok = process.stdout.write(line + '\n')
  } catch (error) {
    if ((error as { code?: string }).code === 'EPIPE') process.exit(EXIT_OK)
    throw error
  }
  if (!ok) await new Promise<void>((resolve) => process.stdout.once('drain', resolve))
}

/** The asynchronous form of the same EPIPE (installed once by runCommand). */
export function exitOnClosedStdout(): void {
  process.stdout.on('error', (error: { code?: string }) => {
    if (error.code === 'EPIPE') process.exit(EXIT_OK)
  })
}
