/**
 * The /ws route: the only place that knows Bun's socket. It adapts each
 * ServerWebSocket to the broker's Sink and hands every message to the
 * transport-free dispatcher.
 *
 * The route upgrades the request itself instead of using Elysia's `.ws()`
 * (see docs/performance.md). Elysia's `.ws()` stores a copy of the whole
 * request context plus a dozen closures in every socket's `data` (about 9 KiB
 * per idle connection), wraps the socket in a new object for every event, and
 * parses every message through an async path. Here `data` is one small
 * `WsConnection` (the session and its sink); Elysia's server-wide websocket
 * handler, which Bun calls for every socket, just forwards each event to
 * `ws.data.open/message/drain/close` with the raw Bun socket.
 * Auth and the shutdown refusal still run before routing (access-control).
 */
import type { ServerWebSocket } from 'bun'
import { Elysia } from 'elysia'
import type { Broker, Session, Sink } from '../broker/broker'
import { CloseCode, CloseReason, ErrorCode } from '../errors'
import type { Config } from '../config'
import type { Logger } from '../log'
import { errorFields } from '../log'
import { type DispatchObserver, dispatchFrame, type InternalErrorLogger } from '../protocol/dispatch'
import { RateLimiter, type RateLimitOptions } from '../protocol/rate-limit'
import type { AccessState } from './access-control'
import { errorResponse } from './rest-errors'

/** Native Bun topic every socket joins, for server-wide broadcasts (heartbeat info frames). */
export const BROADCAST_TOPIC = 'herald:broadcast'

type Socket = ServerWebSocket<WsConnection>

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

/**
 * Dead-peer detection. Bun's idle timeout cannot do it here: every frame the
 * server SENDS resets it, and the heartbeat's info frames go out more often
 * than the timeout, so a peer that never answers would stay open forever. So
 * each socket's last sign of life (open, message, ping or pong received) is
 * kept here; each heartbeat `sweep` pings every socket and terminates the ones
 * silent for longer than `maxSilentMs`.
 */
export class PeerLiveness {
  private readonly lastSeen = new Map<ServerWebSocket<unknown>, number>()
  seen(ws: ServerWebSocket<unknown>): void {
    this.lastSeen.set(ws, performance.now())
  }
  forget(ws: ServerWebSocket<unknown>): void {
    this.lastSeen.delete(ws)
  }
  /** Terminates sockets silent for more than `maxSilentMs` (their close handler releases them); pings the rest. */
  sweep(maxSilentMs: number): void {
    const now = performance.now()
    for (const [ws, seen] of this.lastSeen) {
      if (now - seen > maxSilentMs) {
        this.lastSeen.delete(ws)
        ws.terminate()
      } else ws.ping()
    }
  }
}

/** What every connection of one route shares. */
interface RouteContext {
  broker: Broker
  log: Logger
  logInternal: InternalErrorLogger
  access: AccessState
  observer: WsObserver
  liveness: PeerLiveness
  /** Undefined when RATE_LIMIT_PER_SEC is 0 (off). */
  rateLimit: RateLimitOptions | undefined
}

/** A socket's `data`: its session, and the handlers Elysia's websocket dispatcher calls as `ws.data.open(ws)` etc. */
class WsConnection {
  private session: Session | undefined
  private readonly limiter: RateLimiter | undefined

  constructor(private readonly route: RouteContext) {
    this.limiter = route.rateLimit && new RateLimiter(route.rateLimit)
  }

  open(ws: Socket): void {
    const { broker, access, liveness, observer, log } = this.route
    this.session = broker.connect(new BunSocketSink(ws))
    access.connections++
    ws.subscribe(BROADCAST_TOPIC)
    liveness.seen(ws)
    observer.opened()
    log.info('connect', { session: this.session.id, remote: ws.remoteAddress })
  }

  /** `message` is what Bun received, unparsed: dispatch parses it exactly once. */
  message(ws: Socket, message: string | Buffer): void {
    const { broker, liveness, observer, log, logInternal } = this.route
    liveness.seen(ws)
    observer.messageBytes(typeof message === 'string' ? Buffer.byteLength(message) : message.byteLength)
    if (!this.session) return
    if (dispatchFrame(broker, this.session, message, logInternal, this.limiter, observer) === 'abusive') {
      log.warn('rate_limit_close', { session: this.session.id })
      // After the pending flush (queued earlier on the same turn), so the last RATE_LIMITED reply goes out first.
      setImmediate(() => ws.close(CloseCode.RATE_LIMIT_ABUSE, CloseReason.RATE_LIMIT_ABUSE))
    }
  }

  drain(): void {
    if (this.session) this.route.broker.drained(this.session)
  }

  ping(ws: Socket): void {
    this.route.liveness.seen(ws)
  }

  pong(ws: Socket): void {
    this.route.liveness.seen(ws)
  }

  close(ws: Socket, code: number, reason: string): void {
    const { broker, access, liveness, observer, log } = this.route
    liveness.forget(ws)
    const session = this.session
    if (!session) return
    this.session = undefined
    access.connections--
    broker.disconnect(session)
    observer.closed(code)
    log.info('disconnect', { session: session.id, code, reason })
  }
}

export function wsRoute(
  broker: Broker,
  log: Logger,
  config: Config,
  access: AccessState,
  observer: WsObserver = noopWsObserver,
  liveness: PeerLiveness = new PeerLiveness(),
) {
  const route: RouteContext = {
    broker,
    log,
    logInternal: (error, context) => log.error('ws_internal_error', { ...context, ...errorFields(error) }),
    access,
    observer,
    liveness,
    rateLimit: config.rateLimitPerSec > 0 ? { perSec: config.rateLimitPerSec, burst: config.rateLimitBurst, closeAfterMs: config.rateLimitCloseAfterMs } : undefined,
  }
  return new Elysia({ name: 'ws-route' }).get(
    '/ws',
    ({ request, server }) => {
      if (server?.upgrade(request, { data: new WsConnection(route) })) return
      return errorResponse(ErrorCode.BAD_REQUEST, 'expected a WebSocket upgrade')
    },
    { detail: { summary: 'Publish/subscribe WebSocket (see docs/protocol.md)', tags: ['websocket'] } },
  )
}
