/**
 * Who may come in, decided before routing, as plain HTTP before any upgrade:
 * 1. with an API key configured, every route but /health needs `X-API-Key`,
 *    and /ws also accepts `?api_key=` (browsers cannot set headers on a
 *    WebSocket) → 401;
 * 2. /ws from a browser origin not in ALLOWED_ORIGINS → 403 (requests without
 *    Origin come from non-browser clients, which could forge it anyway);
 * 3. /ws during shutdown or at MAX_CONNECTIONS → 503.
 */
import { Elysia } from 'elysia'
import { type Config, allowedOriginSet } from '../config'
import { ErrorCode } from '../errors'
import { PUBLIC_PATHS, keyMatcher } from './auth'
import { errorResponse } from './rest-errors'

export interface AccessState {
  /** False once shutdown has begun. */
  accepting: boolean
  /** Open WebSocket connections, kept by the /ws route. */
  connections: number
}

/** `publicPaths`: reachable without the key (default: /health only; see publicPaths in app.ts). */
export function accessControl(config: Config, state: AccessState, publicPaths: ReadonlySet<string> = PUBLIC_PATHS) {
  const matches = config.apiKey ? keyMatcher(config.apiKey) : undefined
  const origins = allowedOriginSet(config)
  return new Elysia({ name: 'access-control' }).onRequest(({ request }) => {
    const url = new URL(request.url)
    const isWs = url.pathname === '/ws'
    if (matches && !publicPaths.has(url.pathname)) {
      const given = request.headers.get('x-api-key') ?? (isWs ? url.searchParams.get('api_key') : null)
      if (!matches(given)) return errorResponse(ErrorCode.UNAUTHORIZED, 'missing or invalid API key')
    }
    if (!isWs) return
    const origin = request.headers.get('origin')
    if (origins.size > 0 && origin !== null && !origins.has(origin)) return errorResponse(ErrorCode.FORBIDDEN, 'origin not allowed')
    if (!state.accepting) return errorResponse(ErrorCode.UNAVAILABLE, 'server is shutting down')
    if (state.connections >= config.maxConnections) return errorResponse(ErrorCode.UNAVAILABLE, 'connection limit reached')
  })
}
