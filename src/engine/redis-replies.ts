/**
 * What comes back from Redis, read into the engine's terms: a channel
 * message, a history stream entry, an error (a script's own code, or Redis
 * unreachable). Wire formats: redis-scripts.ts.
 */
import { ErrorCode, HeraldError } from '../errors'
import type { Publication } from './engine'

/** One live message as it came off the channel. */
export interface Live {
  seq: number
  epoch: string
  frame: string
}

export function parseLive(message: string): Live | undefined {
  // "p <seq> <epoch> <frame>"
  if (!message.startsWith('p ')) return undefined
  const a = message.indexOf(' ', 2)
  const b = message.indexOf(' ', a + 1)
  if (a === -1 || b === -1) return undefined
  return { seq: Number(message.slice(2, a)), epoch: message.slice(a + 1, b), frame: message.slice(b + 1) }
}

export function toPublication(topic: string, [id, fields]: [string, string[]]): Publication {
  const frame = fields[1] ?? ''
  return { topic, seq: Number(id.slice(0, id.indexOf('-'))), frame, bytes: Buffer.byteLength(frame) }
}

const SCRIPT_CODES = [ErrorCode.TOPIC_NOT_FOUND, ErrorCode.TOPIC_EXISTS, ErrorCode.LIMIT_EXCEEDED] as const

export function toHeraldError(error: unknown, topic: string | undefined, timeoutMs: number): HeraldError {
  if (error instanceof HeraldError) return error
  const message = error instanceof Error ? error.message : String(error)
  for (const code of SCRIPT_CODES) {
    if (!message.startsWith(code)) continue
    if (code === ErrorCode.TOPIC_NOT_FOUND) return new HeraldError(code, `Topic '${topic}' does not exist`)
    if (code === ErrorCode.TOPIC_EXISTS) return new HeraldError(code, `Topic '${topic}' already exists`)
    return new HeraldError(code, message.slice(code.length + 1))
  }
  const why = /timed out/i.test(message) ? `no answer within ${timeoutMs} ms` : 'not reachable'
  return new HeraldError(ErrorCode.UNAVAILABLE, `engine unavailable: Redis ${why}`)
}
