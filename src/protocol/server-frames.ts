/**
 * Builders of the server's frames as JSON text. Each frame is serialized once:
 * an event once per publish (shared by every subscriber and the history), a
 * broadcast once per broadcast.
 */
import type { ErrorCode } from '../errors'
import type { Message } from './frames'

export const now = (): string => new Date().toISOString()

export function ackFrame(requestId: string | undefined, topic?: string): string {
  return JSON.stringify({ type: 'ack', request_id: requestId, topic, status: 'ok', ts: now() })
}

export function eventFrame(topic: string, seq: number, message: Message, ts: string = now()): string {
  return JSON.stringify({ type: 'event', topic, seq, message: { id: message.id, payload: message.payload }, ts })
}

export function errorFrame(requestId: string | undefined, code: ErrorCode, message: string, topic?: string): string {
  return JSON.stringify({ type: 'error', request_id: requestId, topic, error: { code, message }, ts: now() })
}

export function pongFrame(requestId: string | undefined): string {
  return JSON.stringify({ type: 'pong', request_id: requestId, ts: now() })
}

export function infoFrame(msg: 'topic_deleted' | 'ping' | 'server_shutdown', topic?: string): string {
  return JSON.stringify({ type: 'info', topic, msg, ts: now() })
}
