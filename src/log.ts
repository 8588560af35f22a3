/**
 * Structured logs: one JSON object per line on stdout, `{"level","time","event",...fields}`.
 * Secrets never reach a log line: callers pass only what is safe, and
 * `redactConfig` strips the API key from the start-up line.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 }

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void
  info(event: string, fields?: Record<string, unknown>): void
  warn(event: string, fields?: Record<string, unknown>): void
  error(event: string, fields?: Record<string, unknown>): void
}

export function createLogger(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stdout.write(l + '\n')): Logger {
  const at = (lvl: Exclude<LogLevel, 'silent'>) =>
    rank[lvl] < rank[level] ? () => {} : (event: string, fields?: Record<string, unknown>) => write(JSON.stringify({ level: lvl, time: new Date().toISOString(), event, ...fields }))
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

/** An error as log fields: name, message and stack, for the operator's eyes only. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { error: error.name, message: error.message, stack: error.stack }
  return { error: String(error) }
}
