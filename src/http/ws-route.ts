/**
 * The /ws route: the only place that knows Bun's socket. It adapts each
 * ServerWebSocket to the broker's Sink and hands every message to the
 * transport-free dispatcher.
 *
 * Elysia makes a new wrapper object per event, so per-connection state is
 * keyed by the underlying Bun socket (`ws.raw`), which is stable.
 */
import type { ServerWebSocket } from 'bun'
import { Elysia } from 'elysia'
import type { Broker, Session, Sink } from '../broker/broker'
import type { Logger } from '../log'
import { errorFields } from '../log'
import { type DispatchObserver, dispatchFrame } from '../protocol/dispatch'

/** Native Bun topic every socket joins, for server-wide broadcasts (heartbeat info frames). */
export const BROADCAST_TOPIC = 'herald:broadcast'

class BunSocketSink implements Sink {
  constructor(private readonly ws: ServerWebSocket<unknown>) {}
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
}

const noopWsObserver: WsObserver = { frameReceived() {}, errorSent() {}, opened() {}, closed() {} }

export function wsRoute(broker: Broker, log: Logger, observer: WsObserver = noopWsObserver) {
  const sessions = new WeakMap<object, Session>()
  const logInternal = (error: unknown, context: Record<string, unknown>) => log.error('ws_internal_error', { ...context, ...errorFields(error) })

  return new Elysia({ name: 'ws-route' }).ws('/ws', {
    detail: { summary: 'Publish/subscribe WebSocket (see docs/protocol.md)', tags: ['websocket'] },
    open(ws) {
      const raw = ws.raw as ServerWebSocket<unknown>
      const session = broker.connect(new BunSocketSink(raw))
      sessions.set(raw, session)
      raw.subscribe(BROADCAST_TOPIC)
      observer.opened()
      log.info('connect', { session: session.id, remote: raw.remoteAddress })
    },
    message(ws, message) {
      const session = sessions.get(ws.raw)
      if (session) dispatchFrame(broker, session, message, logInternal, observer)
    },
    drain(ws) {
      const session = sessions.get(ws.raw)
      if (session) broker.drained(session)
    },
    close(ws, code, reason) {
      const session = sessions.get(ws.raw)
      if (!session) return
      sessions.delete(ws.raw)
      broker.disconnect(session)
      observer.closed(code)
      log.info('disconnect', { session: session.id, code, reason })
    },
  })
}
