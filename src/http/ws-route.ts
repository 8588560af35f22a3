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
import type { Config } from '../config'
import { CloseCode, CloseReason } from '../errors'
import type { Logger } from '../log'
import { errorFields } from '../log'
import { type DispatchObserver, dispatchFrame } from '../protocol/dispatch'
import { RateLimiter } from '../protocol/rate-limit'
import type { AccessState } from './access-control'

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

interface ConnectionState {
  session: Session
  /** Undefined when RATE_LIMIT_PER_SEC is 0 (off). */
  limiter: RateLimiter | undefined
}

export function wsRoute(broker: Broker, log: Logger, config: Config, access: AccessState, observer: WsObserver = noopWsObserver) {
  const connections = new WeakMap<object, ConnectionState>()
  const logInternal = (error: unknown, context: Record<string, unknown>) => log.error('ws_internal_error', { ...context, ...errorFields(error) })
  const rateLimit =
    config.rateLimitPerSec > 0 ? { perSec: config.rateLimitPerSec, burst: config.rateLimitBurst, closeAfterMs: config.rateLimitCloseAfterMs } : undefined

  return new Elysia({ name: 'ws-route' }).ws('/ws', {
    detail: { summary: 'Publish/subscribe WebSocket (see docs/protocol.md)', tags: ['websocket'] },
    open(ws) {
      const raw = ws.raw as ServerWebSocket<unknown>
      const session = broker.connect(new BunSocketSink(raw))
      connections.set(raw, { session, limiter: rateLimit && new RateLimiter(rateLimit) })
      access.connections++
      raw.subscribe(BROADCAST_TOPIC)
      observer.opened()
      log.info('connect', { session: session.id, remote: raw.remoteAddress })
    },
    message(ws, message) {
      const state = connections.get(ws.raw)
      if (!state) return
      if (dispatchFrame(broker, state.session, message, logInternal, state.limiter, observer) === 'abusive') {
        log.warn('rate_limit_close', { session: state.session.id })
        // After the pending flush (queued earlier on the same turn), so the last RATE_LIMITED reply goes out first.
        const raw = ws.raw as ServerWebSocket<unknown>
        setImmediate(() => raw.close(CloseCode.RATE_LIMIT_ABUSE, CloseReason.RATE_LIMIT_ABUSE))
      }
    },
    drain(ws) {
      const state = connections.get(ws.raw)
      if (state) broker.drained(state.session)
    },
    close(ws, code, reason) {
      const state = connections.get(ws.raw)
      if (!state) return
      const session = state.session
      connections.delete(ws.raw)
      access.connections--
      broker.disconnect(session)
      observer.closed(code)
      log.info('disconnect', { session: session.id, code, reason })
    },
  })
}
