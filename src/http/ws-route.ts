/**
 * The /ws route: the only place that knows Bun's socket. It adapts each
 * ServerWebSocket to the hub's Sink and hands every message to the
 * transport-free dispatcher.
 *
 * The route upgrades the request itself instead of using Elysia's `.ws()`
 * (see docs/performance.md). Elysia's `.ws()` stores a copy of the whole
 * request context plus a dozen closures in every socket's `data` (about 9 KiB
 * per idle connection), wraps the socket in a new object for every event, and
 * parses every message through an async path. Here `data` is one small
 * `SocketData` (the hub connection, its sink and its dispatch context); Elysia's server-wide websocket
 * handler, which Bun calls for every socket, just forwards each event to
 * `ws.data.open/message/drain/close` with the raw Bun socket.
 * Auth and the shutdown refusal still run before routing (access-control).
 */
import type { ServerWebSocket } from 'bun'
import { Elysia } from 'elysia'
import type { Connection } from '../hub/connection'
import type { Sink } from '../hub/sink'
import type { PubSub } from '../pubsub'
import { CloseCode, CloseReason, ErrorCode } from '../errors'
import type { Config } from '../config'
import type { Logger } from '../log'
import { errorFields } from '../log'
import { type ClientContext, type DispatchObserver, clientContext, dispatchFrame, type InternalErrorLogger } from '../protocol/dispatch'
import { RateLimiter, type RateLimitOptions } from '../protocol/rate-limit'
import type { AccessState } from './access-control'
import { type LivePeer, PeerLiveness } from './peer-liveness'
import { errorResponse } from './rest-errors'

/** Native Bun topic every socket joins, for server-wide broadcasts (heartbeat info frames). */
export const BROADCAST_TOPIC = 'herald:broadcast'

type Socket = ServerWebSocket<SocketData>

class BunSocketSink implements Sink {
  constructor(private readonly ws: Socket) {}
  send(text: string): number {
    return this.ws.sendText(text)
  }
  cork(fn: () => void): void {
    this.ws.cork(fn)
  }
  bufferedAmount(): number {
    return this.ws.getBufferedAmount()
  }
  close(code: number, reason: string): void {
    this.ws.close(code, reason)
  }
}

/** What the route reports, for metrics. Implementations only add to counters. */
export interface WsObserver extends DispatchObserver {
  opened(): void
  closed(code: number): void
  /** Bytes of one received message, as received. */
  messageBytes(bytes: number): void
}

const noopWsObserver: WsObserver = { frameReceived() {}, errorSent() {}, opened() {}, closed() {}, messageBytes() {} }

/** What every connection of one route shares. */
interface RouteContext {
  pubsub: PubSub
  log: Logger
  logInternal: InternalErrorLogger
  access: AccessState
  observer: WsObserver
  liveness: PeerLiveness
  /** Undefined when RATE_LIMIT_PER_SEC is 0 (off). */
  rateLimit: RateLimitOptions | undefined
  maxFramesInFlight: number
}

/** A socket's `data`: its hub connection, and the handlers Elysia's websocket dispatcher calls as `ws.data.open(ws)` etc. */
class SocketData implements LivePeer {
  private client: ClientContext | undefined
  private readonly limiter: RateLimiter | undefined
  heardAt = 0
  socket!: Socket

  constructor(private readonly route: RouteContext) {
    this.limiter = route.rateLimit && new RateLimiter(route.rateLimit)
  }

  open(ws: Socket): void {
    const { pubsub, access, liveness, observer, log, logInternal, maxFramesInFlight } = this.route
    const connection = pubsub.connect(new BunSocketSink(ws))
    this.client = clientContext({ pubsub, connection, logInternal, limiter: this.limiter, observer, maxInFlight: maxFramesInFlight })
    this.socket = ws
    access.connections++
    ws.subscribe(BROADCAST_TOPIC)
    liveness.add(this)
    observer.opened()
    log.info('connect', { session: connection.id, remote: ws.remoteAddress })
  }

  /** `message` is what Bun received, unparsed: dispatch parses it exactly once. */
  message(ws: Socket, message: string | Buffer): void {
    const { liveness, observer, log } = this.route
    liveness.heard(this)
    observer.messageBytes(typeof message === 'string' ? Buffer.byteLength(message) : message.byteLength)
    const client = this.client
    if (!client) return
    if (dispatchFrame(client, message) === 'abusive') {
      log.warn('rate_limit_close', { session: client.connection.id })
      // After the pending flush (queued earlier on the same turn), so the last RATE_LIMITED reply goes out first.
      setImmediate(() => ws.close(CloseCode.RATE_LIMIT_ABUSE, CloseReason.RATE_LIMIT_ABUSE))
    }
  }

  drain(): void {
    if (this.client) this.route.pubsub.drained(this.client.connection)
  }

  ping(): void {
    this.route.liveness.heard(this)
  }

  pong(): void {
    this.route.liveness.heard(this)
  }

  close(_ws: Socket, code: number, reason: string): void {
    const { pubsub, access, liveness, observer, log } = this.route
    liveness.remove(this)
    const client = this.client
    if (!client) return
    this.client = undefined
    access.connections--
    pubsub.disconnect(client.connection)
    observer.closed(code)
    log.info('disconnect', { session: client.connection.id, code, reason })
  }
}

export interface WsRouteDeps {
  pubsub: PubSub
  log: Logger
  config: Config
  access: AccessState
  observer?: WsObserver
  liveness?: PeerLiveness
}

export function wsRoute({ pubsub, log, config, access, observer = noopWsObserver, liveness = new PeerLiveness() }: WsRouteDeps) {
  const route: RouteContext = {
    pubsub,
    log,
    logInternal: (error, context) => log.error('ws_internal_error', { session: context.connection, type: context.type, ...errorFields(error) }),
    access,
    observer,
    liveness,
    rateLimit: config.rateLimitPerSec > 0 ? { perSec: config.rateLimitPerSec, burst: config.rateLimitBurst, closeAfterMs: config.rateLimitCloseAfterMs } : undefined,
    maxFramesInFlight: config.maxFramesInFlight,
  }
  return new Elysia({ name: 'ws-route' }).get(
    '/ws',
    ({ request, server }) => {
      if (server?.upgrade(request, { data: new SocketData(route) })) return
      return errorResponse(ErrorCode.BAD_REQUEST, 'expected a WebSocket upgrade')
    },
    { detail: { summary: 'Publish/subscribe WebSocket (see docs/protocol.md)', tags: ['websocket'] } },
  )
}
