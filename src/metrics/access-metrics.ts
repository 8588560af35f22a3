/**
 * Access metrics: open connections by credential kind and refused upgrades by
 * reason. Plain counters kept by the /ws route (AccessObserver), copied into
 * prom-client at scrape time like the rest of registry.ts. Label values are
 * closed sets, all present from the start.
 */
import { Counter, Gauge, type Registry } from 'prom-client'
import { AUTH_KINDS, type AuthKind } from '../auth/connection-auth'
import { REFUSAL_REASONS, type RefusalReason } from '../http/access-control'

/** What the /ws route reports about access. Implementations only add to counters. */
export interface AccessObserver {
  admitted(kind: AuthKind): void
  released(kind: AuthKind): void
  refused(reason: RefusalReason): void
  /** A connection closed because its token expired. */
  tokenExpired(): void
}

export const noopAccessObserver: AccessObserver = { admitted() {}, released() {}, refused() {}, tokenExpired() {} }

export class AccessMetrics implements AccessObserver {
  readonly open = new Map<AuthKind, number>(AUTH_KINDS.map((k) => [k, 0]))
  readonly refusals = new Map<RefusalReason, number>(REFUSAL_REASONS.map((r) => [r, 0]))
  expired = 0

  admitted(kind: AuthKind): void {
    this.open.set(kind, this.open.get(kind)! + 1)
  }
  released(kind: AuthKind): void {
    this.open.set(kind, this.open.get(kind)! - 1)
  }
  refused(reason: RefusalReason): void {
    this.refusals.set(reason, this.refusals.get(reason)! + 1)
  }
  tokenExpired(): void {
    this.expired++
  }

  register(registry: Registry): void {
    const metrics = this
    new Gauge({
      name: 'herald_connections_by_auth',
      help: 'Open WebSocket connections by credential: auth="none" (no credential configured), "api_key" (the admin key), "token" (a user token).',
      labelNames: ['auth'],
      registers: [registry],
      collect(this: Gauge) {
        for (const [auth, n] of metrics.open) this.set({ auth }, n)
      },
    })
    new Counter({
      name: 'herald_ws_refused_total',
      help: 'WebSocket upgrades refused before the upgrade, by reason: unauthorized (401), forbidden_origin (403), shutting_down and connection_limit (503).',
      labelNames: ['reason'],
      registers: [registry],
      collect(this: Counter) {
        this.reset()
        for (const [reason, n] of metrics.refusals) this.inc({ reason }, n)
      },
    })
    new Counter({
      name: 'herald_token_expired_total',
      help: 'Connections closed with 4401 because their token expired without a refresh.',
      registers: [registry],
      collect(this: Counter) {
        this.reset()
        this.inc(metrics.expired)
      },
    })
  }
}
