/**
 * Executes one client frame and queues exactly one reply (ack, pong or error;
 * a refresh's ack follows its info frames) for it, in the order the frames arrived (see in-order.ts), although an
 * asynchronous engine answers publishes and subscribes later.
 * Transport-free: the WebSocket layer passes in what it received, tests can
 * pass anything.
 */
import { ALLOW_ALL, type FramePermissions } from '../auth/connection-auth'
import type { Connection } from '../hub/connection'
import type { PubSub } from '../pubsub'
import { ErrorCode, HeraldError } from '../errors'
import { type Sync, isPromise } from '../util/sync'
import { decodeFrame, requestIdOf, toJsonValue } from './decode-frame'
import type { ClientFrame } from './frames'
import { type Finish, InOrder } from './in-order'
import type { RateLimiter } from './rate-limit'
import { ackFrame, errorFrame, infoFrame, pongFrame } from './server-frames'

export type InternalErrorLogger = (error: unknown, context: { connection: number; type?: string }) => void

/** What dispatch reports, for metrics. Implementations only add to counters. */
export interface DispatchObserver {
  /** A frame arrived: its type, 'invalid' when it did not decode, 'rate_limited' when refused unread. */
  frameReceived(type: ClientFrame['type'] | 'invalid' | 'rate_limited'): void
  /** An error frame was queued for the client of connection `connection`. */
  errorSent(code: ErrorCode, connection: number, message: string): void
}

export const noopDispatchObserver: DispatchObserver = { frameReceived() {}, errorSent() {} }

/** Everything dispatch needs for one client connection; built once per connection (`clientContext`, or the socket's own data in ws-route.ts). */
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
  /**
   * The connection's credential, asked before every subscribe, unsubscribe
   * and publish (a refusal is FORBIDDEN and nothing happens). A refresh is
   * answered, in order, once its token is verified (asynchronously): frames
   * sent before its ack are still checked against the old token.
   */
  readonly permissions: FramePermissions
  /** The connection's frame order; a context may make it when first asked (an idle connection then holds none). */
  readonly order: InOrder
  /** `order.inFlight`, read without making the order: 0 when it does not exist. */
  readonly inFlight: number
}

export function clientContext(fields: Omit<ClientContext, 'order' | 'inFlight' | 'observer' | 'permissions'> & { observer?: DispatchObserver; permissions?: FramePermissions }): ClientContext {
  const order = new InOrder(fields.connection.id, fields.logInternal)
  return {
    observer: noopDispatchObserver,
    permissions: ALLOW_ALL,
    ...fields,
    order,
    get inFlight() {
      return order.inFlight
    },
  }
}

/** Returns 'abusive' when the connection should be closed for sustained abuse (its last reply is queued first). */
export function dispatchFrame(c: ClientContext, received: unknown): 'ok' | 'abusive' {
  const { pubsub, connection, observer, permissions } = c
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
    const json = withDefaultClientId(toJsonValue(received), permissions.defaultClientId)
    requestId = requestIdOf(json)
    const frame = decodeFrame(json, typeof received === 'string' ? received.length : Infinity)
    requestId = frame.request_id
    type = frame.type
    observer.frameReceived(frame.type)
    if (c.inFlight >= c.maxInFlight) {
      refuse(c, requestId, `more than ${c.maxInFlight} frames waiting for their replies (MAX_FRAMES_IN_FLIGHT): frame not executed`)
      return c.inFlight >= 2 * c.maxInFlight ? 'abusive' : 'ok'
    }
    const id = requestId
    switch (frame.type) {
      case 'subscribe': {
        // The ack (with seq and epoch) is queued by the subscribe itself, so that it precedes the replay.
        const resume = frame.since_seq !== undefined ? { sinceSeq: frame.since_seq, epoch: frame.epoch! } : undefined
        const request = { topic: frame.topic, clientId: frame.client_id, lastN: frame.last_n ?? 0, resume, presence: frame.presence === true, requestId: id }
        const subscribe = () => {
          permissions.assertClientId(request.clientId)
          permissions.assertSubscribe(request.topic)
          return pubsub.subscribe(connection, request)
        }
        inOrder(c, () => settle(c, id, 'subscribe', subscribe, () => permissions.subscribed(request.topic)), true)
        break
      }
      case 'unsubscribe': {
        const { topic, client_id } = frame
        const unsubscribe = () => {
          permissions.assertClientId(client_id)
          return pubsub.unsubscribe(connection, topic)
        }
        const acked = () => {
          permissions.unsubscribed(topic)
          pubsub.reply(connection, ackFrame(id, topic))
        }
        inOrder(c, () => settle(c, id, 'unsubscribe', unsubscribe, acked), true)
        break
      }
      case 'publish': {
        const { topic, message } = frame
        if (c.inFlight === 0) {
          // The hot path, written out: with the memory engine a publish answers at once and costs no closure.
          let published
          try {
            permissions.assertPublish(topic)
            published = pubsub.publish(topic, message)
          } catch (error) {
            replyError(c, id, 'publish', error)
            break
          }
          if (!isPromise(published)) pubsub.reply(connection, ackFrame(id, topic, published))
          else c.order.queue(published.then((p) => () => pubsub.reply(connection, ackFrame(id, topic, p)), (error) => () => replyError(c, id, 'publish', error)))
          break
        }
        const publish = () => {
          permissions.assertPublish(topic)
          return pubsub.publish(topic, message)
        }
        inOrder(c, () => settle(c, id, 'publish', publish, (p) => pubsub.reply(connection, ackFrame(id, topic, p))), false)
        break
      }
      case 'ping':
        inOrder(c, () => () => pubsub.reply(connection, pongFrame(id)), false)
        break
      case 'refresh': {
        const token = frame.token
        // Started at once (a second refresh meanwhile gets BAD_REQUEST), answered in order.
        inOrder(c, () => settle(c, id, 'refresh', () => refresh(c, token), (ended) => {
          for (const topic of ended) pubsub.reply(connection, infoFrame('unsubscribed', topic, 'the refreshed token does not allow this topic'))
          pubsub.reply(connection, ackFrame(id))
        }), false)
        break
      }
    }
  } catch (error) {
    if (type === undefined) observer.frameReceived('invalid')
    const id = requestId
    inOrder(c, () => () => replyError(c, id, type, error), false)
  }
  return 'ok'
}

/**
 * `c.order.run(start, exclusive)`, with InOrder's own fast path taken here:
 * while no frame waits and `start` answers at once (always, with the memory
 * engine), the finish runs without asking for the order, so a context that
 * makes its order lazily (ws-route.ts) makes it only when a frame must wait.
 */
function inOrder(c: ClientContext, start: () => Sync<Finish>, exclusive: boolean): void {
  if (c.inFlight !== 0) return c.order.run(start, exclusive)
  const finish = start()
  if (!isPromise(finish)) return finish()
  c.order.queue(finish)
}

/** A subscribe or unsubscribe without client_id acts as the token's sub (validation then sees it as given). */
function withDefaultClientId(json: unknown, clientId: string | undefined): unknown {
  if (clientId === undefined || typeof json !== 'object' || json === null || Array.isArray(json)) return json
  const frame = json as { type?: unknown; client_id?: unknown }
  if ((frame.type === 'subscribe' || frame.type === 'unsubscribe') && frame.client_id === undefined) return { ...frame, client_id: clientId }
  return json
}

/**
 * Replaces the connection's token, then ends each subscription the new token
 * no longer allows. Resolves with the topics ended (the finish sends an info
 * `unsubscribed` for each, then the ack). A refused refresh rejects and leaves
 * the old token in place (it still expires).
 */
async function refresh(c: ClientContext, token: string): Promise<string[]> {
  const ended: string[] = []
  for (const topic of await c.permissions.refresh(token)) {
    try {
      await c.pubsub.unsubscribe(c.connection, topic)
    } catch (error) {
      // The topic was deleted meanwhile: its subscribers already got topic_deleted.
      if (!(error instanceof HeraldError)) throw error
      continue
    }
    ended.push(topic)
  }
  return ended
}

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
  inOrder(c, () => () => {
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
