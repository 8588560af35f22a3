/**
 * Decodes one incoming /ws message into a validated client frame, or throws a
 * HeraldError BAD_REQUEST whose message says what is wrong.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { ErrorCode, HeraldError } from '../errors'
import { type ClientFrame, MAX_REQUEST_ID_LENGTH, PingFrame, PublishFrame, RefreshFrame, SubscribeFrame, UnsubscribeFrame } from './frames'
import { describeValueError } from './validation'

const checkers = {
  subscribe: TypeCompiler.Compile(SubscribeFrame),
  unsubscribe: TypeCompiler.Compile(UnsubscribeFrame),
  publish: TypeCompiler.Compile(PublishFrame),
  ping: TypeCompiler.Compile(PingFrame),
  refresh: TypeCompiler.Compile(RefreshFrame),
} as const
const TYPES = Object.keys(checkers).join(', ')

const bad = (message: string) => new HeraldError(ErrorCode.BAD_REQUEST, message)

/**
 * Deepest nesting of objects and arrays accepted in a frame. JSON.parse takes
 * any depth, but serializing the event (JSON.stringify recurses) overflows the
 * stack at some tens of thousands of levels, which surfaced as INTERNAL after
 * the topic's seq had already been taken. Nothing legitimate comes near this.
 */
export const MAX_FRAME_DEPTH = 1000

/** True when `value` nests objects/arrays more than `max` levels deep. Iterative: no recursion on hostile input. */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]]
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [v, depth] = item
    if (typeof v !== 'object' || v === null) continue
    if (depth > max) return true
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1])
  }
  return false
}

/** The request_id of a message, if it has a valid one (a string of at most MAX_REQUEST_ID_LENGTH), even when the rest of it is invalid. */
export function requestIdOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const id = (value as { request_id?: unknown }).request_id
  return typeof id === 'string' && id.length <= MAX_REQUEST_ID_LENGTH ? id : undefined
}

/**
 * `value` is what the transport received: a string (text that is not JSON, or
 * not yet parsed), an already-parsed JSON value, or bytes (a binary frame).
 */
export function toJsonValue(value: unknown): unknown {
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) throw bad('binary frames are not supported: send JSON text frames')
  if (typeof value !== 'string') return value
  try {
    return JSON.parse(value)
  } catch {
    throw bad('invalid JSON')
  }
}

/** The combinations of last_n, since_seq and epoch that a subscribe may not have. */
function checkResume(frame: SubscribeFrame): void {
  if (frame.since_seq !== undefined && frame.last_n !== undefined) throw bad('give last_n or since_seq (with epoch), not both')
  if (frame.since_seq !== undefined && frame.epoch === undefined) throw bad('since_seq needs the epoch it counts in')
  if (frame.epoch !== undefined && frame.since_seq === undefined) throw bad('epoch goes with since_seq')
}

/**
 * Validates a JSON value (see toJsonValue) as a client frame. `textLength`:
 * the length of the text it was parsed from, if it was. Each level of nesting
 * opens with a bracket, so a text of at most MAX_FRAME_DEPTH characters
 * cannot nest deeper, and the walk over the value (about 3 % of a publish's
 * CPU) is skipped for it.
 */
export function decodeFrame(json: unknown, textLength = Infinity): ClientFrame {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('frame must be a JSON object')
  if (textLength > MAX_FRAME_DEPTH && nestsDeeperThan(json, MAX_FRAME_DEPTH)) throw bad(`frame nests deeper than ${MAX_FRAME_DEPTH} levels`)
  const type = (json as { type?: unknown }).type
  if (type === undefined) throw bad(`type is required: one of ${TYPES}`)
  if (typeof type !== 'string' || !Object.hasOwn(checkers, type)) throw bad(`unknown type ${JSON.stringify(type).slice(0, 64)}: expected one of ${TYPES}`)
  const requestId = (json as { request_id?: unknown }).request_id
  if (typeof requestId === 'string' && requestId.length > MAX_REQUEST_ID_LENGTH)
    throw bad(`request_id is longer than ${MAX_REQUEST_ID_LENGTH} characters`)
  const checker = checkers[type as keyof typeof checkers]
  if (!checker.Check(json)) throw bad(describeValueError(checker.Errors(json).First()))
  if (type === 'subscribe') checkResume(json as SubscribeFrame)
  return json as ClientFrame
}
