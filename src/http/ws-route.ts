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

/** Elysia hands ping/pong handlers the Bun socket itself, and other handlers its wrapper. */
const rawOf = (ws: { raw?: unknown }) => (ws.raw ?? ws) as ServerWebSocket<unknown>

export function wsRoute(
  broker: Broker,
  log: Logger,
  config: Config,
  access: AccessState,
  observer: WsObserver = noopWsObserver,
  liveness: PeerLiveness = new PeerLiveness(),
) {
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
      liveness.seen(raw)
      observer.opened()
      log.info('connect', { session: session.id, remote: raw.remoteAddress })
    },
    message(ws, message) {
      liveness.seen(ws.raw as ServerWebSocket<unknown>)
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
    ping(ws) {
      liveness.seen(rawOf(ws))
    },
    pong(ws) {
      liveness.seen(rawOf(ws))
    },
    close(ws, code, reason) {
      liveness.forget(ws.raw as ServerWebSocket<unknown>)
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
