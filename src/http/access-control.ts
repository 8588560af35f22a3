/**
 * Who may come in. Two doors, each decided where the router has already
 * chosen the handler, so that no path spelling can reach a handler past a
 * check that looked at another path (issue 8: `/ws/`, `/ws\`, `/ws/.`).
 *
 * REST (`restAccess`): with API_KEY set, every route but the public ones
 * needs `X-API-Key` → 401. The admitting decision is taken per matched route
 * (`route` is the route's template, e.g. `/topics/:name`, whatever the
 * request's spelling), in a transform hook, before validation. An onRequest
 * front refuses early — before body parsing, and for paths no route matches —
 * every request without the key whose normalized path is not public; it can
 * only refuse, never admit. User tokens never open REST (admin routes need
 * the key). CORS preflights pass both (browsers cannot attach a credential).
 *
 * /ws (`wsAccess`): decided inside the /ws handler, immediately before
 * `server.upgrade`, on exactly the requests that reach it:
 * 1. credentials (Credentials.forUpgrade) → 401;
 * 2. a browser Origin not in ALLOWED_ORIGINS → 403 (requests without Origin come
 *    from non-browser clients, which could forge it anyway);
 * 3. shutting down or at MAX_CONNECTIONS → 503.
 */
import { Elysia } from 'elysia'
import type { ConnectionAuth } from '../auth/connection-auth'
import type { CredentialRefusal, Credentials } from '../auth/credentials'
import { type Config, allowedOriginSet } from '../config'
import { ErrorCode, HeraldError } from '../errors'
import { keyMatcher } from './auth'
import { isPreflight } from './cors'
import { errorResponse } from './rest-errors'

/** The one route that /ws access applies to; REST access skips it. */
export const WS_PATH = '/ws'

export interface AccessState {
  /** False once shutdown has begun. */
  accepting: boolean
  /** Open WebSocket connections, kept by the /ws route. */
  connections: number
}

/** Why an upgrade was refused: the label of herald_ws_refused_total. */
export type RefusalReason = 'unauthorized' | 'forbidden_origin' | 'shutting_down' | 'connection_limit'
export const REFUSAL_REASONS: readonly RefusalReason[] = ['unauthorized', 'forbidden_origin', 'shutting_down', 'connection_limit']

const UNAUTHORIZED_MESSAGE = 'missing or invalid API key'
/** Same body whatever was wrong with the credential (missing key, wrong key, any token failure). */
const WS_UNAUTHORIZED_MESSAGE = 'missing or invalid credential (API key or token)'

/**
 * The one REST route a user token may use, with the permission each method
 * needs: publish over HTTP needs the token's `publish` patterns to match the
 * topic, reading its history its `subscribe` patterns. Every other REST route
 * is the admin's (API_KEY).
 */
export const TOKEN_ROUTE = '/topics/:name/messages'
const TOKEN_PERMISSION: Record<string, 'publish' | 'subscribe'> = { POST: 'publish', GET: 'subscribe' }

/** `publicRoutes`: route templates reachable without the key (see publicPaths in app.ts). `credentials`: for user tokens on TOKEN_ROUTE. */
export function restAccess(config: Config, publicRoutes: ReadonlySet<string>, credentials?: Credentials) {
  const matches = config.apiKey ? keyMatcher(config.apiKey) : undefined
  const plugin = new Elysia({ name: 'rest-access' })
  if (!matches) return plugin
  const tokens = credentials?.tokensEnabled ? credentials : undefined
  return plugin
    .onRequest(({ request }) => {
      if (isPreflight(request)) return
      const path = new URL(request.url).pathname
      if (path === WS_PATH || publicRoutes.has(path)) return
      // A bearer token is judged on the matched route (below): only TOKEN_ROUTE accepts one.
      if (tokens?.hasBearer(request) && request.headers.get('x-api-key') === null) return
      if (!matches(request.headers.get('x-api-key'))) return errorResponse(ErrorCode.UNAUTHORIZED, UNAUTHORIZED_MESSAGE)
    })
    .onTransform({ as: 'global' }, async ({ request, route, params }) => {
      if (route === WS_PATH || publicRoutes.has(route) || isPreflight(request)) return
      const key = request.headers.get('x-api-key')
      if (key === null && tokens && route === TOKEN_ROUTE && TOKEN_PERMISSION[request.method]) {
        const token = await tokens.bearerToken(request)
        if (!token) throw new HeraldError(ErrorCode.UNAUTHORIZED, UNAUTHORIZED_MESSAGE)
        const topic = (params as { name?: string }).name ?? ''
        const permission = TOKEN_PERMISSION[request.method]!
        if (!token[permission].allows(topic))
          throw new HeraldError(ErrorCode.FORBIDDEN, `the token does not allow ${permission === 'publish' ? 'publishing on' : 'subscribing to'} '${topic}'`)
        return
      }
      // Thrown, not returned: a transform hook cannot answer; rest-errors turns it into the 401 body.
      if (!matches(key)) throw new HeraldError(ErrorCode.UNAUTHORIZED, UNAUTHORIZED_MESSAGE)
    })
}

export type WsDecision = { auth: ConnectionAuth } | { refused: RefusalReason; detail?: CredentialRefusal; response: Response }

/** The /ws decision, called by the /ws handler just before it upgrades; a promise only while a token is verified. */
export function wsAccess(config: Config, state: AccessState, credentials: Credentials): (request: Request) => WsDecision | Promise<WsDecision> {
  const origins = allowedOriginSet(config)
  const unauthorized = config.apiKey && !credentials.tokensEnabled ? UNAUTHORIZED_MESSAGE : WS_UNAUTHORIZED_MESSAGE
  // Synchronous from here to the upgrade: the shutdown flag and the connection count cannot change in between.
  const judge = (request: Request, auth: ConnectionAuth | CredentialRefusal): WsDecision => {
    if (typeof auth === 'string') return { refused: 'unauthorized', detail: auth, response: errorResponse(ErrorCode.UNAUTHORIZED, unauthorized) }
    const refuse = (refused: RefusalReason, code: ErrorCode, message: string): WsDecision => {
      auth.close()
      return { refused, response: errorResponse(code, message) }
    }
    const origin = request.headers.get('origin')
    if (origins.size > 0 && origin !== null && !origins.has(origin)) return refuse('forbidden_origin', ErrorCode.FORBIDDEN, 'origin not allowed')
    if (!state.accepting) return refuse('shutting_down', ErrorCode.UNAVAILABLE, 'server is shutting down')
    if (state.connections >= config.maxConnections) return refuse('connection_limit', ErrorCode.UNAVAILABLE, 'connection limit reached')
    return { auth }
  }
  return (request) => {
    const auth = credentials.forUpgrade(request)
    return auth instanceof Promise ? auth.then((a) => judge(request, a)) : judge(request, auth)
  }
}
