/**
 * Builders of the server's frames as JSON text. Each frame is serialized once:
 * an event once per publish (shared by every subscriber and the history), a
 * broadcast once per broadcast.
 */
import type { ErrorCode } from '../errors'
import type { Message } from './frames'

/**
 * The current time as ISO-8601 UTC, computed at most once per millisecond:
 * Date#toISOString was 17% of the server's CPU in the publish benchmark, and
 * frames built within one millisecond share the same `ts` anyway.
 */
let lastMs = -1
let lastIso = ''
export function now(): string {
  const ms = Date.now()
  if (ms !== lastMs) {
    lastMs = ms
    lastIso = new Date(ms).toISOString()
  }
  return lastIso
}

/** `position`: the topic's seq and epoch, on the ack of a subscribe (latest seq when it started) and of a publish (the message's seq). */
/** `position`: the topic's seq and epoch; on the ack of a resume, also whether it was recovered (and, if not, what was missed). */
export function ackFrame(
  requestId: string | undefined,
  topic?: string,
  position?: { seq: number; epoch: string; recovered?: boolean; missed?: number | null },
): string {
  const recovery = position?.recovered === undefined ? {} : position.recovered ? { recovered: true } : { recovered: false, missed: position.missed ?? null }
  return JSON.stringify({ type: 'ack', request_id: requestId, topic, status: 'ok', seq: position?.seq, epoch: position?.epoch, ...recovery, ts: now() })
}

export function eventFrame(topic: string, seq: number, message: Message, ts: string = now()): string {
  return JSON.stringify({ type: 'event', topic, seq, message: { id: message.id, payload: message.payload }, ts })
}

/**
 * An event frame in two halves around its seq, for an engine that learns the
 * seq only where the message is stored (the Redis publish script joins
 * `before + seq + after`). The same JSON text as `eventFrame` (a test checks it).
 */
export function eventFrameParts(topic: string, message: Message, ts: string): [before: string, after: string] {
  return [`{"type":"event","topic":${JSON.stringify(topic)},"seq":`, `,"message":${JSON.stringify({ id: message.id, payload: message.payload })},"ts":"${ts}"}`]
}

export function errorFrame(requestId: string | undefined, code: ErrorCode, message: string, topic?: string): string {
  return JSON.stringify({ type: 'error', request_id: requestId, topic, error: { code, message }, ts: now() })
}

/** The SLOW_CONSUMER notice of a drop-oldest episode: the count as a field (`dropped`) and in the sentence. */
export function slowConsumerFrame(topic: string, dropped: number, queueSize: number): string {
  const message = `dropped ${dropped} oldest message(s) on topic '${topic}': subscriber too slow (queue size ${queueSize})`
  return JSON.stringify({ type: 'error', topic, error: { code: 'SLOW_CONSUMER', message, dropped }, ts: now() })
}

export function pongFrame(requestId: string | undefined): string {
  return JSON.stringify({ type: 'pong', request_id: requestId, ts: now() })
}

export function infoFrame(msg: 'topic_deleted' | 'ping' | 'server_shutdown' | 'unsubscribed', topic?: string, reason?: string): string {
  return JSON.stringify({ type: 'info', topic, msg, reason, ts: now() })
}

/** A presence event for a subscription that asked for them: `clientId`'s first subscription to `topic` started (join) or its last ended (leave). */
export function presenceFrame(topic: string, msg: 'join' | 'leave', clientId: string): string {
  return JSON.stringify({ type: 'info', topic, msg, client_id: clientId, ts: now() })
}
