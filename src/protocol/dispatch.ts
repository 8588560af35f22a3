/**
 * Executes one client frame and queues exactly one reply (ack, pong or error)
 * for it, in the order the frames arrived (see in-order.ts), although an
 * asynchronous engine answers publishes and subscribes later.
 * Transport-free: the WebSocket layer passes in what it received, tests can
 * pass anything.
 */
import type { Connection } from '../hub/connection'
import type { PubSub } from '../pubsub'
import { ErrorCode, HeraldError } from '../errors'
import { type Sync, isPromise } from '../util/sync'
import { decodeFrame, requestIdOf, toJsonValue } from './decode-frame'
import type { ClientFrame } from './frames'
import { type Finish, InOrder } from './in-order'
import type { RateLimiter } from './rate-limit'
import { ackFrame, errorFrame, pongFrame } from './server-frames'

export type InternalErrorLogger = (error: unknown, context: { connection: number; type?: string }) => void

/** What dispatch reports, for metrics. Implementations only add to counters. */
export interface DispatchObserver {
  /** A frame arrived: its type, 'invalid' when it did not decode, 'rate_limited' when refused unread. */
  frameReceived(type: ClientFrame['type'] | 'invalid' | 'rate_limited'): void
  /** An error frame was queued for the client of connection `connection`. */
  errorSent(code: ErrorCode, connection: number, message: string): void
}

export const noopDispatchObserver: DispatchObserver = { frameReceived() {}, errorSent() {} }

/** Everything dispatch needs for one client connection; built once per connection. */
export interface ClientContext {
  readonly pubsub: PubSub
  readonly connection: Connection
  readonly logInternal: InternalErrorLogger
  /** Asked once per frame; a refused frame gets RATE_LIMITED and is not executed. */
  readonly limiter?: RateLimiter
  readonly observer: DispatchObserver
  /**
   * Frames that may wait for the engine at once (MAX_FRAMES_IN_FLIGHT). Past
   * it a frame gets RATE_LIMITED unexecuted; at twice it the connection is
   * closed as abusive. Only an asynchronous engine (Redis) ever makes frames wait.
   */
  readonly maxInFlight: number
  readonly order: InOrder
}

export function clientContext(fields: Omit<ClientContext, 'order' | 'observer'> & { observer?: DispatchObserver }): ClientContext {
  return { observer: noopDispatchObserver, ...fields, order: new InOrder((error) => fields.logInternal(error, { connection: fields.connection.id })) }
}

/** Returns 'abusive' when the connection should be closed for sustained abuse (its last reply is queued first). */
export function dispatchFrame(c: ClientContext, received: unknown): 'ok' | 'abusive' {
  const { pubsub, connection, observer, order } = c
  let requestId: string | undefined
  let type: ClientFrame['type'] | undefined
  try {
    // Every frame counts against the rate limit, valid or not.
    const admission = c.limiter?.admit() ?? 'ok'
    if (admission !== 'ok') {
      let json: unknown
      try {
        json = toJsonValue(received)
      } catch {}
      observer.frameReceived('rate_limited')
      refuse(c, requestIdOf(json), 'rate limit exceeded: frame not executed')
      return admission === 'abusive' ? 'abusive' : 'ok'
    }
    const json = toJsonValue(received)
    requestId = requestIdOf(json)
    const frame = decodeFrame(json)
    requestId = frame.request_id
    type = frame.type
    observer.frameReceived(frame.type)
    if (order.inFlight >= c.maxInFlight) {
      refuse(c, requestId, `more than ${c.maxInFlight} frames waiting for their replies (MAX_FRAMES_IN_FLIGHT): frame not executed`)
      return order.inFlight >= 2 * c.maxInFlight ? 'abusive' : 'ok'
    }
    const id = requestId
    switch (frame.type) {
      case 'subscribe': {
        // The ack (with seq and epoch) is queued by the subscribe itself, so that it precedes the replay.
        const request = { topic: frame.topic, clientId: frame.client_id, lastN: frame.last_n ?? 0, requestId: id }
        order.run(() => settle(c, id, 'subscribe', () => pubsub.subscribe(connection, request), noop), true)
        break
      }
      case 'unsubscribe': {
        const topic = frame.topic
        order.run(() => settle(c, id, 'unsubscribe', () => pubsub.unsubscribe(connection, topic), () => pubsub.reply(connection, ackFrame(id, topic))), true)
        break
      }
      case 'publish': {
        const { topic, message } = frame
        if (order.inFlight === 0) {
          // The hot path, written out: with the memory engine a publish answers at once and costs no closure.
          let published
          try {
            published = pubsub.publish(topic, message)
          } catch (error) {
            replyError(c, id, 'publish', error)
            break
          }
          if (!isPromise(published)) pubsub.reply(connection, ackFrame(id, topic, published))
          else order.queue(published.then((p) => () => pubsub.reply(connection, ackFrame(id, topic, p)), (error) => () => replyError(c, id, 'publish', error)))
          break
        }
        order.run(() => settle(c, id, 'publish', () => pubsub.publish(topic, message), (p) => pubsub.reply(connection, ackFrame(id, topic, p))), false)
        break
      }
      case 'ping':
        order.run(() => () => pubsub.reply(connection, pongFrame(id)), false)
        break
    }
  } catch (error) {
    if (type === undefined) observer.frameReceived('invalid')
    const id = requestId
    order.run(() => () => replyError(c, id, type, error), false)
  }
  return 'ok'
}

const noop = () => {}

/** Starts `op`; its finish queues `ok(result)`, or the error reply. */
function settle<T>(c: ClientContext, requestId: string | undefined, type: ClientFrame['type'], op: () => Sync<T>, ok: (value: T) => void): Sync<Finish> {
  let result: Sync<T>
  try {
    result = op()
  } catch (error) {
    return () => replyError(c, requestId, type, error)
  }
  if (!isPromise(result)) {
    const value = result
    return () => ok(value)
  }
  return result.then(
    (value) => () => ok(value),
    (error) => () => replyError(c, requestId, type, error),
  )
}

/** A frame refused unexecuted: RATE_LIMITED, in order with the other replies. */
function refuse(c: ClientContext, requestId: string | undefined, message: string): void {
  c.order.run(() => () => {
    c.observer.errorSent(ErrorCode.RATE_LIMITED, c.connection.id, message)
    c.pubsub.reply(c.connection, errorFrame(requestId, ErrorCode.RATE_LIMITED, message))
  }, false)
}

function replyError(c: ClientContext, requestId: string | undefined, type: string | undefined, error: unknown): void {
  if (error instanceof HeraldError) {
    c.observer.errorSent(error.code, c.connection.id, error.message)
    c.pubsub.reply(c.connection, errorFrame(requestId, error.code, error.message))
    return
  }
  c.logInternal(error, { connection: c.connection.id, type })
  c.observer.errorSent(ErrorCode.INTERNAL, c.connection.id, 'internal error')
  c.pubsub.reply(c.connection, errorFrame(requestId, ErrorCode.INTERNAL, 'internal error'))
}
