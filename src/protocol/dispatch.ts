/**
 * Executes one client frame against the broker and queues exactly one reply
 * (ack, pong or error) for it. Transport-free: the WebSocket layer passes in
 * what it received, tests can pass anything.
 */
import type { Broker, Session } from '../broker/broker'
import { ErrorCode, HeraldError } from '../errors'
import { decodeFrame, requestIdOf, toJsonValue } from './decode-frame'
import type { ClientFrame } from './frames'
import { ackFrame, errorFrame, pongFrame } from './server-frames'

export type InternalErrorLogger = (error: unknown, context: { session: number; type?: string }) => void

/** What dispatch reports, for metrics. Implementations only add to counters. */
export interface DispatchObserver {
  /** A frame arrived: its type, or 'invalid' when it did not decode. */
  frameReceived(type: ClientFrame['type'] | 'invalid'): void
  /** An error frame was queued for the client of `session`. */
  errorSent(code: ErrorCode, session: number, message: string): void
}

const noopDispatchObserver: DispatchObserver = { frameReceived() {}, errorSent() {} }

export function dispatchFrame(
  broker: Broker,
  session: Session,
  received: unknown,
  logInternal: InternalErrorLogger,
  observer: DispatchObserver = noopDispatchObserver,
): void {
  let requestId: string | undefined
  let type: string | undefined
  try {
    const json = toJsonValue(received)
    requestId = requestIdOf(json)
    const frame = decodeFrame(json)
    requestId = frame.request_id
    type = frame.type
    observer.frameReceived(frame.type)
    switch (frame.type) {
      case 'subscribe':
        // The broker queues the ack itself, so that it precedes the replay.
        broker.subscribe(session, { topic: frame.topic, clientId: frame.client_id, lastN: frame.last_n ?? 0, requestId })
        return
      case 'unsubscribe':
        broker.unsubscribe(session, frame.topic)
        broker.reply(session, ackFrame(requestId, frame.topic))
        return
      case 'publish':
        broker.publish(frame.topic, frame.message)
        broker.reply(session, ackFrame(requestId, frame.topic))
        return
      case 'ping':
        broker.reply(session, pongFrame(requestId))
        return
    }
  } catch (error) {
    if (type === undefined) observer.frameReceived('invalid')
    if (error instanceof HeraldError) {
      observer.errorSent(error.code, session.id, error.message)
      broker.reply(session, errorFrame(requestId, error.code, error.message))
      return
    }
    logInternal(error, { session: session.id, type })
    observer.errorSent(ErrorCode.INTERNAL, session.id, 'internal error')
    broker.reply(session, errorFrame(requestId, ErrorCode.INTERNAL, 'internal error'))
  }
}
