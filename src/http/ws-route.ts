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
 * `SocketData` (the hub's sink itself, the hub connection and the dispatch context); Elysia's server-wide websocket
 * handler, which Bun calls for every socket, just forwards each event to
 * `ws.data.open/message/drain/close` with the raw Bun socket.
 * Idle memory per connection: that `data` is also the sink, the dispatch
 * context and the liveness peer, so the route keeps no other object per socket.
 * The access decision (credentials, origin, shutdown, connection limit) is
 * taken here, inside the handler, just before `server.upgrade`: on exactly the
 * requests the router sends to this handler, whatever their path spelling
 * (access-control.ts, wsAccess).
 */
import type { ServerWebSocket } from 'bun'
import { Elysia } from 'elysia'
import type { ConnectionAuth } from '../auth/connection-auth'
import { Credentials } from '../auth/credentials'
import type { Connection } from '../hub/connection'
import type { Sink } from '../hub/sink'
import type { PubSub } from '../pubsub'
import { CloseCode, CloseReason, ErrorCode } from '../errors'
import type { Config } from '../config'
import type { Logger } from '../log'
import { errorFields } from '../log'
import type { FramePermissions } from '../auth/connection-auth'
import { type ClientContext, type DispatchObserver, dispatchFrame, type InternalErrorLogger } from '../protocol/dispatch'
import { InOrder } from '../protocol/in-order'
import { RateLimiter, type RateLimitOptions } from '../protocol/rate-limit'
import { type AccessObserver, noopAccessObserver } from '../metrics/access-metrics'
import { errorFrame } from '../protocol/server-frames'
import { type AccessState, WS_PATH, type WsDecision, wsAccess } from './access-control'
import { type LivePeer, PeerLiveness } from './peer-liveness'
import { errorResponse } from './rest-errors'

/** Native Bun topic every socket joins, for server-wide broadcasts (heartbeat info frames). */
export const BROADCAST_TOPIC = 'herald:broadcast'

/** The runtime topic a herald topic's native fan-out uses (Sink.joinNative): `#` is not allowed in topic names, so no herald topic, and not BROADCAST_TOPIC, can collide with it. */
export function nativeTopic(topic: string): string {
  return `#${topic}`
}

type Socket = ServerWebSocket<SocketData>

/** A close the server decided (BunSocketSink.end); `timer` terminates the socket if the client does not read up to it in time, until it answers. */
interface DecidedClose {
  code: number
  reason: string
  timer: ReturnType<typeof setTimeout> | undefined
}

/**
 * What few connections keep beside their socket's `data`, in one object made
 * only for them (idle memory per connection: SocketData stays at 8 fields,
 * JSC's 80-byte cell): the rate limiter (RATE_LIMIT_PER_SEC > 0), the frame
 * order once a frame waits for the engine (never, with the memory engine),
 * and the client's address from the upgrade until the `connect` log line.
 */
interface SocketExtras {
  limiter: RateLimiter | undefined
  inOrder: InOrder | undefined
  /** Read from the request at the upgrade, not from the socket, which would keep it (Bun caches `remoteAddress` on the socket: ~25 bytes per connection). */
  remote: string | undefined
}

/**
 * Adapts a Bun socket to the hub's Sink. The base of the socket's `data`
 * (SocketData below): one object per connection for both.
 *
 * A close 'after-delivery' (slow consumer, rate-limit abuse) must not cut off
 * what is already on its way: the socket's own buffer and the kernel's can
 * hold megabytes that the client has not read yet, and a close frame sent now
 * would start Bun's close handshake timer while the client is still paused, so
 * it would be dropped without ever seeing why. Instead the sink sends a
 * WebSocket ping behind those bytes and closes when the client's pong comes
 * back: the client has then read everything before it, and gets the close
 * frame at once. A client that does not answer within `closeFlushTimeoutMs`
 * is terminated (1006 on its side). One timer per such close: they are rare.
 */
abstract class BunSocketSink implements Sink {
  /** The socket, from open on (the hub writes only to open connections). */
  socket!: Socket
  /** A close decided by the server and waiting for delivery (or timed out), kept to report its code; its timer until the client answers. One field for the three: idle memory per connection. */
  private decided: DecidedClose | undefined
  /** How long a close 'after-delivery' waits for the client (CLOSE_FLUSH_TIMEOUT_MS). */
  protected abstract get closeFlushTimeoutMs(): number

  send(text: string): number {
    return this.socket.sendText(text)
  }
  cork(fn: () => void): void {
    this.socket.cork(fn)
  }
  bufferedAmount(): number {
    return this.socket.getBufferedAmount()
  }
  joinNative(topic: string): void {
    this.socket.subscribe(nativeTopic(topic))
  }
  leaveNative(topic: string): void {
    // A socket already closed has left every topic (Bun unsubscribes it on close).
    if (this.socket.readyState === 1) this.socket.unsubscribe(nativeTopic(topic))
  }
  end(code: number, reason: string, when: 'now' | 'after-delivery' = 'now'): void {
    if (when === 'now') {
      clearTimeout(this.decided?.timer)
      this.socket.close(code, reason)
      return
    }
    if (this.decided) return
    const ws = this.socket
    const timer = setTimeout(() => ws.terminate(), this.closeFlushTimeoutMs)
    timer.unref?.()
    this.decided = { code, reason, timer }
    ws.ping()
  }
  /** True once the server decided to close this socket: nothing more the client sends is executed. */
  get closing(): boolean {
    return this.decided !== undefined
  }
  /** The client answered a ping: if a close was waiting for delivery, everything before it has been read. */
  protected ponged(): void {
    const decided = this.decided
    if (!decided || decided.timer === undefined) return
    clearTimeout(decided.timer)
    decided.timer = undefined
    this.socket.close(decided.code, decided.reason)
  }
  /**
   * The socket is gone: forgets a waiting close and returns the close the server
   * had decided, if any — what the logs and metrics report, even when the client
   * vanished before it could be delivered.
   */
  protected settle(): DecidedClose | undefined {
    const decided = this.decided
    if (decided) {
      clearTimeout(decided.timer)
      decided.timer = undefined
    }
    return decided
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
  accessObserver: AccessObserver
  /** How long a close 'after-delivery' waits for the client to read what precedes it (CLOSE_FLUSH_TIMEOUT_MS). */
  closeFlushTimeoutMs: number
  maxFramesInFlight: number
}

/**
 * A socket's `data`: the sink the hub writes to (its base class), the context
 * dispatch reads (what every connection shares comes from the route), the
 * peer liveness watches, and the handlers Elysia's websocket dispatcher calls
 * as `ws.data.open(ws)` etc. (hence the sink's `end`, not `close`).
 */
class SocketData extends BunSocketSink implements LivePeer, ClientContext {
  /** The hub's connection, from open on. */
  private session: Connection | undefined
  heardAt = 0
  livenessSlot = -1
  /** Undefined for most connections once open (SocketExtras). */
  private extras: SocketExtras | undefined

  constructor(
    private readonly route: RouteContext,
    private readonly auth: ConnectionAuth,
    /** The client's address, for the `connect` log line, then forgotten. */
    remote: string | undefined,
  ) {
    super()
    const limiter = route.rateLimit && new RateLimiter(route.rateLimit)
    if (limiter !== undefined || remote !== undefined) this.extras = { limiter, inOrder: undefined, remote }
  }

  get limiter(): RateLimiter | undefined {
    return this.extras?.limiter
  }

  protected get closeFlushTimeoutMs(): number {
    return this.route.closeFlushTimeoutMs
  }

  // ClientContext: dispatch runs only between open and close.
  get connection(): Connection {
    return this.session!
  }
  /** Made when a frame first has to wait for the engine (never, with the memory engine): an idle connection holds none. */
  get order(): InOrder {
    const extras = (this.extras ??= { limiter: undefined, inOrder: undefined, remote: undefined })
    return (extras.inOrder ??= new InOrder(this.session!.id, this.route.logInternal))
  }
  get inFlight(): number {
    return this.extras?.inOrder?.inFlight ?? 0
  }
  get pubsub(): PubSub {
    return this.route.pubsub
  }
  get logInternal(): InternalErrorLogger {
    return this.route.logInternal
  }
  get observer(): DispatchObserver {
    return this.route.observer
  }
  get maxInFlight(): number {
    return this.route.maxFramesInFlight
  }
  get permissions(): FramePermissions {
    return this.auth
  }

  open(ws: Socket): void {
    const { pubsub, access, liveness, observer, log, accessObserver } = this.route
    this.socket = ws
    const session = pubsub.connect(this)
    this.session = session
    access.connections++
    ws.subscribe(BROADCAST_TOPIC)
    liveness.add(this)
    observer.opened()
    accessObserver.admitted(this.auth.kind)
    // Only token connections expire (no closure kept for the others: idle memory per connection).
    if (this.auth.kind === 'token') this.auth.whenExpired(() => this.tokenExpired(session))
    const extras = this.extras
    log.info('connect', { session: session.id, remote: extras?.remote, auth: this.auth.kind, sub: this.auth.sub })
    if (extras) {
      extras.remote = undefined
      if (extras.limiter === undefined && extras.inOrder === undefined) this.extras = undefined
    }
  }

  /** The token's exp passed without a refresh: TOKEN_EXPIRED, then close 4401 once it has been delivered. */
  private tokenExpired(session: Connection): void {
    const { pubsub, log, accessObserver } = this.route
    log.info('token_expired', { session: session.id, sub: this.auth.sub })
    accessObserver.tokenExpired()
    pubsub.reply(session, errorFrame(undefined, ErrorCode.TOKEN_EXPIRED, 'token expired: reconnect with a new token'))
    // After the pending flush (queued on this turn), and after delivery, so that the error frame is read first.
    setImmediate(() => this.end(CloseCode.TOKEN_EXPIRED, CloseReason.TOKEN_EXPIRED, 'after-delivery'))
  }

  /** `message` is what Bun received, unparsed: dispatch parses it exactly once. */
  message(ws: Socket, message: string | Buffer): void {
    const { liveness, observer, log } = this.route
    liveness.heard(this)
    observer.messageBytes(typeof message === 'string' ? Buffer.byteLength(message) : message.byteLength)
    const session = this.session
    if (!session || this.closing) return
    // Bun corks the socket while this handler runs: replies written at once join its one write (Hub.enterHandler).
    const { pubsub } = this.route
    pubsub.enterHandler(session)
    let verdict: 'ok' | 'abusive'
    try {
      verdict = dispatchFrame(this, message)
    } finally {
      pubsub.leaveHandler()
    }
    if (verdict === 'abusive') {
      log.warn('rate_limit_close', { session: session.id, sub: this.auth.sub })
      // After the pending flush (queued earlier on the same turn), so the last RATE_LIMITED reply goes out first.
      setImmediate(() => this.end(CloseCode.RATE_LIMIT_ABUSE, CloseReason.RATE_LIMIT_ABUSE, 'after-delivery'))
    }
  }

  drain(): void {
    if (this.session) this.route.pubsub.drained(this.session)
  }

  ping(): void {
    this.route.liveness.heard(this)
  }

  pong(): void {
    this.route.liveness.heard(this)
    this.ponged()
  }

  close(_ws: Socket, closedWith: number, closeReason: string): void {
    let code = closedWith
    let reason = closeReason
    const { pubsub, access, liveness, observer, log, accessObserver } = this.route
    liveness.remove(this)
    this.auth.close()
    const decided = this.settle()
    if (decided) ({ code, reason } = decided)
    // Bun reports a socket's close once; a frame still finishing in the engine reads `connection` after it.
    const session = this.session
    if (!session) return
    access.connections--
    pubsub.disconnect(session)
    observer.closed(code)
    accessObserver.released(this.auth.kind)
    log.info('disconnect', { session: session.id, code, reason, sub: this.auth.sub })
  }
}

/** Access to /ws: the server's credentials, and where refusals and admissions are counted. */
export interface WsAccessDeps {
  credentials: Credentials
  observer?: AccessObserver
}

export interface WsRouteDeps {
  pubsub: PubSub
  log: Logger
  config: Config
  access: AccessState
  observer?: WsObserver
  liveness?: PeerLiveness
  wsAccess?: WsAccessDeps
}

export function wsRoute({ pubsub, log, config, access, observer = noopWsObserver, liveness = new PeerLiveness(), wsAccess: accessDeps }: WsRouteDeps) {
  const route: RouteContext = {
    pubsub,
    log,
    logInternal: (error, context) => log.error('ws_internal_error', { session: context.connection, type: context.type, ...errorFields(error) }),
    access,
    observer,
    liveness,
    rateLimit: config.rateLimitPerSec > 0 ? { perSec: config.rateLimitPerSec, burst: config.rateLimitBurst, closeAfterMs: config.rateLimitCloseAfterMs } : undefined,
    accessObserver: accessDeps?.observer ?? noopAccessObserver,
    closeFlushTimeoutMs: config.closeFlushTimeoutMs,
    maxFramesInFlight: config.maxFramesInFlight,
  }
  const decide = wsAccess(config, access, accessDeps?.credentials ?? new Credentials({ apiKey: config.apiKey, keys: undefined, tokenIssuer: '', tokenAudience: '', tokenMaxBytes: config.tokenMaxBytes }))
  return new Elysia({ name: 'ws-route' }).get(
    WS_PATH,
    ({ request, server }) => {
      const upgrade = (decision: WsDecision): Response | undefined => {
        if ('refused' in decision) {
          route.accessObserver.refused(decision.refused)
          log.debug('ws_refused', { reason: decision.refused, detail: decision.detail })
          return decision.response
        }
        if (server?.upgrade(request, { data: new SocketData(route, decision.auth, server.requestIP(request)?.address) })) return
        decision.auth.close()
        return errorResponse(ErrorCode.BAD_REQUEST, 'expected a WebSocket upgrade')
      }
      const decision = decide(request)
      return decision instanceof Promise ? decision.then(upgrade) : upgrade(decision)
    },
    { detail: { summary: 'Publish/subscribe WebSocket (see docs/protocol.md)', tags: ['websocket'] } },
  )
}
