/**
 * Who may come in, decided before routing: during shutdown the WebSocket
 * upgrade gets 503; with an API key configured, every route but /health needs
 * `X-API-Key`, and /ws also accepts `?api_key=` (browsers cannot set headers
 * on a WebSocket). Refusals happen before the upgrade, as plain HTTP.
 */
import { Elysia } from 'elysia'
import { ErrorCode } from '../errors'
import { PUBLIC_PATHS, keyMatcher } from './auth'
import { errorResponse } from './rest-errors'

export interface AccessState {
  /** False once shutdown has begun. */
  accepting: boolean
}

/** `publicPaths`: reachable without the key (default: /health only). */
export function accessControl(apiKey: string, state: AccessState, publicPaths: ReadonlySet<string> = PUBLIC_PATHS) {
  const matches = apiKey ? keyMatcher(apiKey) : undefined
  return new Elysia({ name: 'access-control' }).onRequest(({ request }) => {
    const url = new URL(request.url)
    const isWs = url.pathname === '/ws'
    if (isWs && !state.accepting) return errorResponse(ErrorCode.UNAVAILABLE, 'server is shutting down')
    if (!matches || publicPaths.has(url.pathname)) return
    const given = request.headers.get('x-api-key') ?? (isWs ? url.searchParams.get('api_key') : null)
    if (!matches(given)) return errorResponse(ErrorCode.UNAUTHORIZED, 'missing or invalid API key')
  })
}
