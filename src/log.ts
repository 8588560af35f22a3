/**
 * Structured logs with pino: one JSON object per line on stdout,
 * `{"level":"info","time":"2026-…Z",...fields,"event":"name"}`, or a
 * human-readable line per event when LOG_FORMAT=pretty (the default when stdout
 * is a terminal). The rest of the code sees only `Logger` (an event name plus
 * fields), so the library stays replaceable.
 *
 * Why pino: levels that cost nothing when disabled, redaction, and a fast
 * synchronous writer. It runs under Bun and inside a `bun build --compile`
 * binary as long as no transport (worker thread) is used, so pretty printing
 * runs in-process (pino-pretty's formatter) and JSON goes straight to fd 1.
 *
 * Secrets: callers pass only what is safe (the start-up line goes through
 * `redactConfig`), and as a second line of defence pino censors the fields
 * that could carry a key, at the top level and one level down (REDACT_PATHS).
 */
import pino, { type DestinationStream } from 'pino'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'
export type LogFormat = 'auto' | 'json' | 'pretty'

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void
  info(event: string, fields?: Record<string, unknown>): void
  warn(event: string, fields?: Record<string, unknown>): void
  error(event: string, fields?: Record<string, unknown>): void
}

/** Field names censored in every log line, at the top level and one level down. */
const SECRET_FIELDS = ['apiKey', 'api_key', 'API_KEY', 'x-api-key', 'authorization', 'token', 'tokenHmacSecret', 'TOKEN_HMAC_SECRET']
const REDACT_PATHS = SECRET_FIELDS.flatMap((f) => [`["${f}"]`, `*["${f}"]`])

export interface LoggerOptions {
  format?: LogFormat
  /** Receives each line without its newline; default: stdout. For tests. */
  write?: (line: string) => void
}

export function createLogger(level: LogLevel = 'info', options: LoggerOptions = {}): Logger {
  const format = options.format ?? 'auto'
  const tty = !options.write && process.stdout.isTTY === true
  const stdout = options.write ? undefined : pino.destination({ dest: 1, sync: true })
  const writeLine = options.write ?? ((line: string) => stdout!.write(line + '\n'))
  let destination: DestinationStream
  if (format === 'pretty' || (format === 'auto' && tty)) {
    // pino-pretty's formatter called in-process: no worker thread, no stream plumbing (works in the compiled binary).
    // Loaded only when used: it is a large module, and start-up time matters (docs/performance.md).
    const { prettyFactory } = require('pino-pretty') as typeof import('pino-pretty')
    const prettify = prettyFactory({ messageKey: 'event', colorize: tty, translateTime: 'SYS:HH:MM:ss.l', singleLine: true })
    destination = { write: (chunk: string) => writeLine(prettify(chunk).trimEnd()) }
  } else {
    destination = stdout ?? { write: (chunk: string) => writeLine(chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk) }
  }
  const p = pino(
    {
      level,
      messageKey: 'event',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  )
  return {
    debug: (event, fields) => p.debug(fields ?? {}, event),
    info: (event, fields) => p.info(fields ?? {}, event),
    warn: (event, fields) => p.warn(fields ?? {}, event),
    error: (event, fields) => p.error(fields ?? {}, event),
  }
}

/** The effective config for the start-up line: every option but the secrets, which show only as `apiKeySet` and `tokenHmacSecretSet`. */
export function redactConfig<C extends { apiKey: string; tokenHmacSecret?: string; redisUrl?: string }>(
  config: C,
): Omit<C, 'apiKey' | 'tokenHmacSecret'> & { apiKeySet: boolean; tokenHmacSecretSet: boolean } {
  const { apiKey, tokenHmacSecret, ...rest } = config
  const redacted = { ...rest, apiKeySet: apiKey !== '', tokenHmacSecretSet: (tokenHmacSecret ?? '') !== '' }
  // REDIS_URL may carry a password (redis://user:password@host): only whether it does is logged.
  if (typeof rest.redisUrl === 'string') (redacted as { redisUrl?: string }).redisUrl = redactUrlPassword(rest.redisUrl)
  return redacted
}

/** `redis://user:secret@host:6379/0` → `redis://user:[redacted]@host:6379/0`; a URL without a password unchanged. */
export function redactUrlPassword(url: string): string {
  try {
    const u = new URL(url)
    if (u.password === '') return url
    u.password = 'redacted'
    return u.href.replace(':redacted@', ':[redacted]@')
  } catch {
    return '[unparsable URL]'
  }
}

/** An error as log fields: name, message and stack, for the operator's eyes only. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { error: error.name, message: error.message, stack: error.stack }
  return { error: String(error) }
}
