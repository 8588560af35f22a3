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
import { ErrorCode } from '../errors'
import type { Logger } from '../log'
import { errorFields } from '../log'
import { dispatchFrame, type InternalErrorLogger } from '../protocol/dispatch'
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

/** A socket's `data`: its session, and the handlers Elysia's websocket dispatcher calls as `ws.data.open(ws)` etc. */
class WsConnection {
  private session: Session | undefined

  constructor(
    private readonly broker: Broker,
    private readonly log: Logger,
    private readonly logInternal: InternalErrorLogger,
  ) {}

  open(ws: Socket): void {
    this.session = this.broker.connect(new BunSocketSink(ws))
    ws.subscribe(BROADCAST_TOPIC)
    this.log.debug('ws_open', { session: this.session.id, remote: ws.remoteAddress })
  }
  message(_ws: Socket, message: string | Buffer): void {
    if (this.session) dispatchFrame(this.broker, this.session, message, this.logInternal)
  }
  drain(): void {
    if (this.session) this.broker.drained(this.session)
  }
  close(_ws: Socket, code: number, reason: string): void {
    const session = this.session
    if (!session) return
    this.session = undefined
    this.broker.disconnect(session)
    this.log.debug('ws_close', { session: session.id, code, reason })
  }
}

export function wsRoute(broker: Broker, log: Logger) {
  const logInternal: InternalErrorLogger = (error, context) => log.error('ws_internal_error', { ...context, ...errorFields(error) })
  return new Elysia({ name: 'ws-route' }).get(
    '/ws',
    ({ request, server }) => {
      if (server?.upgrade(request, { data: new WsConnection(broker, log, logInternal) })) return
      return errorResponse(ErrorCode.BAD_REQUEST, 'expected a WebSocket upgrade')
    },
    { detail: { summary: 'Publish/subscribe WebSocket (see docs/protocol.md)', tags: ['websocket'] } },
  )
}
