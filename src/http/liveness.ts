/**
 * Dead-peer detection for /ws. Bun's idleTimeout cannot do it on its own here:
 * every frame the server sends resets Bun's idle timer, and the heartbeat info
 * frame goes to every socket each interval, so a peer that vanished without a
 * FIN (a half-open socket) was never timed out and kept its subscriptions.
 * Instead, each heartbeat pings every socket, and one that has sent nothing
 * (no frame, no pong) for longer than `maxSilentMs` is terminated; its close
 * handler then releases its subscriptions.
 */
import type { ServerWebSocket } from 'bun'

export class Liveness {
  /** When each open socket was last heard from (performance.now()). */
  private readonly lastHeard = new Map<ServerWebSocket<unknown>, number>()

  heard(ws: ServerWebSocket<unknown>): void {
    this.lastHeard.set(ws, performance.now())
  }

  forget(ws: ServerWebSocket<unknown>): void {
    this.lastHeard.delete(ws)
  }

  /** Terminates the sockets silent for longer than `maxSilentMs` and pings the others. Returns how many were terminated. */
  sweep(maxSilentMs: number): number {
    const now = performance.now()
    let terminated = 0
    for (const [ws, at] of this.lastHeard) {
      if (now - at <= maxSilentMs) {
        ws.ping()
        continue
      }
      this.lastHeard.delete(ws)
      ws.terminate()
      terminated++
    }
    return terminated
  }
}
