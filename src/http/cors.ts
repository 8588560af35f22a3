/**
 * CORS for the REST API, governed by ALLOWED_ORIGINS (the /ws origin list;
 * empty = any origin):
 * - a preflight (OPTIONS with Origin and Access-Control-Request-Method) from
 *   an allowed origin gets 204 with Access-Control-Allow-Origin echoing it,
 *   the methods and the request headers herald reads; from any other origin
 *   204 with no CORS header, so the browser blocks the real request.
 *   Preflights need no key (browsers cannot attach one); the real request does.
 * - any other request from an allowed origin gets Access-Control-Allow-Origin
 *   on its response, errors included (a page can read its 401).
 * Requests without Origin (same-origin or non-browser) get no CORS header.
 *
 * Not @elysiajs/cors (1.4.2): it adds Access-Control-Allow-Headers and
 * -Methods to every response, for disallowed origins and requests without
 * Origin too, answers disallowed preflights with the full header set but
 * the origin, and allows credentials by default (docs/security.md#cors).
 */
import { Elysia } from 'elysia'
import { type Config, allowedOriginSet } from '../config'

export const CORS_METHODS = 'GET, POST, DELETE'
export const CORS_HEADERS = 'content-type, authorization, x-api-key'
/** Seconds a browser may cache a preflight answer. */
export const CORS_MAX_AGE_SECONDS = 600

export function isPreflight(request: Request): boolean {
  return request.method === 'OPTIONS' && request.headers.has('origin') && request.headers.has('access-control-request-method')
}

export function cors(config: Config) {
  const origins = allowedOriginSet(config)
  const allowed = (origin: string) => origins.size === 0 || origins.has(origin)
  return new Elysia({ name: 'cors' })
    .onRequest(({ request, set }) => {
      const origin = request.headers.get('origin')
      if (isPreflight(request)) {
        const headers: Record<string, string> = { vary: 'Origin' }
        if (allowed(origin!)) {
          headers['access-control-allow-origin'] = origin!
          headers['access-control-allow-methods'] = CORS_METHODS
          headers['access-control-allow-headers'] = CORS_HEADERS
          headers['access-control-max-age'] = String(CORS_MAX_AGE_SECONDS)
        }
        return new Response(null, { status: 204, headers })
      }
      if (origin !== null && allowed(origin)) {
        set.headers['access-control-allow-origin'] = origin
        set.headers.vary = 'Origin'
      }
    })
}
