/**
 * Executes one client frame against the broker and queues exactly one reply
 * (ack, pong or error) for it. Transport-free: the WebSocket layer passes in
 * what it received, tests can pass anything.
 */
import { ALLOW_ALL, type FramePermissions } from '../auth/connection-auth'
import type { Broker, Session } from '../broker/broker'
import { ErrorCode, HeraldError } from '../errors'
import { decodeFrame, requestIdOf, toJsonValue } from './decode-frame'
import type { ClientFrame } from './frames'
import type { RateLimiter } from './rate-limit'
import { ackFrame, errorFrame, infoFrame, pongFrame } from './server-frames'

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
 * `permissions` (the connection's credential) is asked before every
 * subscribe, unsubscribe and publish; a refusal is FORBIDDEN and nothing
 * happens. A refresh is answered when its token is verified (asynchronously):
 * frames sent before its ack are still checked against the old token.
 */
export function dispatchFrame(
  broker: Broker,
  session: Session,
  received: unknown,
  logInternal: InternalErrorLogger,
  limiter?: RateLimiter,
  observer: DispatchObserver = noopDispatchObserver,
  permissions: FramePermissions = ALLOW_ALL,
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
    const json = withDefaultClientId(toJsonValue(received), permissions.defaultClientId)
    requestId = requestIdOf(json)
    const frame = decodeFrame(json)
    requestId = frame.request_id
    type = frame.type
    observer.frameReceived(frame.type)
    switch (frame.type) {
      case 'subscribe':
        permissions.assertClientId(frame.client_id)
        permissions.assertSubscribe(frame.topic)
        // The broker queues the ack itself, so that it precedes the replay.
        broker.subscribe(session, { topic: frame.topic, clientId: frame.client_id, lastN: frame.last_n ?? 0, requestId })
        permissions.subscribed(frame.topic)
        break
      case 'unsubscribe':
        permissions.assertClientId(frame.client_id)
        broker.unsubscribe(session, frame.topic)
        permissions.unsubscribed(frame.topic)
        broker.reply(session, ackFrame(requestId, frame.topic))
        break
      case 'publish':
        permissions.assertPublish(frame.topic)
        broker.publish(frame.topic, frame.message)
        broker.reply(session, ackFrame(requestId, frame.topic))
        break
      case 'ping':
        broker.reply(session, pongFrame(requestId))
        break
      case 'refresh':
        refresh(broker, session, permissions, frame.token, requestId, { logInternal, observer })
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

/** A subscribe or unsubscribe without client_id acts as the token's sub (validation then sees it as given). */
function withDefaultClientId(json: unknown, clientId: string | undefined): unknown {
  if (clientId === undefined || typeof json !== 'object' || json === null || Array.isArray(json)) return json
  const frame = json as { type?: unknown; client_id?: unknown }
  if ((frame.type === 'subscribe' || frame.type === 'unsubscribe') && frame.client_id === undefined) return { ...frame, client_id: clientId }
  return json
}

/**
 * Replaces the connection's token; then ends each subscription the new token
 * no longer allows (info `unsubscribed` with a reason), then acks. A refused
 * refresh gets an error and leaves the old token in place (it still expires).
 */
function refresh(
  broker: Broker,
  session: Session,
  permissions: FramePermissions,
  token: string,
  requestId: string | undefined,
  { logInternal, observer }: { logInternal: InternalErrorLogger; observer: DispatchObserver },
): void {
  permissions.refresh(token).then(
    (ended) => {
      for (const topic of ended) {
        try {
          broker.unsubscribe(session, topic)
        } catch (error) {
          // The topic was deleted meanwhile: its subscribers already got topic_deleted.
          if (!(error instanceof HeraldError)) throw error
          continue
        }
        broker.reply(session, infoFrame('unsubscribed', topic, 'the refreshed token does not allow this topic'))
      }
      broker.reply(session, ackFrame(requestId))
    },
    (error) => {
      if (error instanceof HeraldError) {
        observer.errorSent(error.code, session.id, error.message)
        broker.reply(session, errorFrame(requestId, error.code, error.message))
      } else {
        logInternal(error, { session: session.id, type: 'refresh' })
        broker.reply(session, errorFrame(requestId, ErrorCode.INTERNAL, 'internal error'))
      }
    },
  ).catch((error) => logInternal(error, { session: session.id, type: 'refresh' }))
}
