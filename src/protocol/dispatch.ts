/**
 * Executes one client frame against the broker and queues exactly one reply
 * (ack, pong or error) for it. Transport-free: the WebSocket layer passes in
 * what it received, tests can pass anything.
 */
import type { Broker, Session } from '../broker/broker'
import { ErrorCode, HeraldError } from '../errors'
import { decodeFrame, requestIdOf, toJsonValue } from './decode-frame'
import type { ClientFrame } from './frames'
import type { RateLimiter } from './rate-limit'
import { ackFrame, errorFrame, pongFrame } from './server-frames'

export type InternalErrorLogger = (error: unknown, context: { session: number; type?: string }) => void

/** What dispatch reports, for metrics. Implementations only add to counters. */
export interface DispatchObserver {
  /** A frame arrived: its type, 'invalid' when it did not decode, 'rate_limited' when refused unread. */
  frameReceived(type: ClientFrame['type'] | 'invalid' | 'rate_limited'): void
  /** An error frame was queued for the client of `session`. */
  errorSent(code: ErrorCode, session: number, message: string): void
}

const noopDispatchObserver: DispatchObserver = { frameReceived() {}, errorSent() {} }

/**
 * `limiter`, when given, is asked once per frame; a refused frame gets
 * RATE_LIMITED and is not executed. Returns 'abusive' when the connection
 * should be closed for sustained abuse (its last reply is queued first).
 */
export function dispatchFrame(
  broker: Broker,
  session: Session,
  received: unknown,
  logInternal: InternalErrorLogger,
  limiter?: RateLimiter,
  observer: DispatchObserver = noopDispatchObserver,
): 'ok' | 'abusive' {
  let requestId: string | undefined
  let type: string | undefined
  try {
    // Every frame counts against the rate limit, valid or not.
    const admission = limiter?.admit() ?? 'ok'
    if (admission !== 'ok') {
      let json: unknown
      try {
        json = toJsonValue(received)
      } catch {}
      observer.frameReceived('rate_limited')
      observer.errorSent(ErrorCode.RATE_LIMITED, session.id, 'rate limit exceeded: frame not executed')
      broker.reply(session, errorFrame(requestIdOf(json), ErrorCode.RATE_LIMITED, 'rate limit exceeded: frame not executed'))
      return admission === 'abusive' ? 'abusive' : 'ok'
    }
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
        break
      case 'unsubscribe':
        broker.unsubscribe(session, frame.topic)
        broker.reply(session, ackFrame(requestId, frame.topic))
        break
      case 'publish':
        broker.publish(frame.topic, frame.message)
        broker.reply(session, ackFrame(requestId, frame.topic))
        break
      case 'ping':
        broker.reply(session, pongFrame(requestId))
        break
    }
  } catch (error) {
    if (type === undefined) observer.frameReceived('invalid')
    if (error instanceof HeraldError) {
      observer.errorSent(error.code, session.id, error.message)
      broker.reply(session, errorFrame(requestId, error.code, error.message))
    } else {
      logInternal(error, { session: session.id, type })
      observer.errorSent(ErrorCode.INTERNAL, session.id, 'internal error')
      broker.reply(session, errorFrame(requestId, ErrorCode.INTERNAL, 'internal error'))
    }
  }
  return 'ok'
}
