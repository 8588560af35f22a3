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
import { dispatchFrame } from '../protocol/dispatch'

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

export function wsRoute(broker: Broker, log: Logger, liveness: PeerLiveness = new PeerLiveness()) {
  const sessions = new WeakMap<object, Session>()
  const logInternal = (error: unknown, context: Record<string, unknown>) => log.error('ws_internal_error', { ...context, ...errorFields(error) })

  return new Elysia({ name: 'ws-route' }).ws('/ws', {
    detail: { summary: 'Publish/subscribe WebSocket (see docs/protocol.md)', tags: ['websocket'] },
    open(ws) {
      const raw = ws.raw as ServerWebSocket<unknown>
      const session = broker.connect(new BunSocketSink(raw))
      sessions.set(raw, session)
      raw.subscribe(BROADCAST_TOPIC)
      liveness.seen(raw)
      log.debug('ws_open', { session: session.id, remote: raw.remoteAddress })
    },
    message(ws, message) {
      liveness.seen(ws.raw as ServerWebSocket<unknown>)
      const session = sessions.get(ws.raw)
      if (session) dispatchFrame(broker, session, message, logInternal)
    },
    drain(ws) {
      const session = sessions.get(ws.raw)
      if (session) broker.drained(session)
    },
    ping(ws) {
      liveness.seen(rawOf(ws))
    },
    pong(ws) {
      liveness.seen(rawOf(ws))
    },
    close(ws, code, reason) {
      liveness.forget(ws.raw as ServerWebSocket<unknown>)
      const session = sessions.get(ws.raw)
      if (!session) return
      sessions.delete(ws.raw)
      broker.disconnect(session)
      log.debug('ws_close', { session: session.id, code, reason })
    },
  })
}
