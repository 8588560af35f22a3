/**
 * Every error code and close code the server uses, in one place, with the one
 * mapping from error code to HTTP status. REST routes and the WebSocket layer
 * both use this module; nothing else invents a code.
 */

export const ErrorCode = {
  /** Invalid frame or body: bad JSON, unknown type, missing or ill-typed field. */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The topic named by the request does not exist. */
  TOPIC_NOT_FOUND: 'TOPIC_NOT_FOUND',
  /** POST /topics for a name that already exists. */
  TOPIC_EXISTS: 'TOPIC_EXISTS',
  /** The subscriber's queue overflowed and messages were dropped (or it is being disconnected). */
  SLOW_CONSUMER: 'SLOW_CONSUMER',
  /** Missing or wrong API key. */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** A configured limit was reached (MAX_TOPICS, MAX_SUBSCRIPTIONS_PER_CONNECTION). */
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  /** The connection sends frames faster than RATE_LIMIT_PER_SEC; the frame was not executed. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The WebSocket upgrade came from an origin not in ALLOWED_ORIGINS, or a token does not allow this frame. */
  FORBIDDEN: 'FORBIDDEN',
  /** The connection's token expired without a refresh; the server closes with 4401 next. */
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  /** The server is shutting down (or at MAX_CONNECTIONS) and accepts no new work. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** REST: no route for that method and path. */
  NOT_FOUND: 'NOT_FOUND',
  /** An unexpected failure inside the server; details are logged, never sent. */
  INTERNAL: 'INTERNAL',
} as const

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

const httpStatusByCode: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  TOKEN_EXPIRED: 401,
  FORBIDDEN: 403,
  LIMIT_EXCEEDED: 429,
  RATE_LIMITED: 429,
  TOPIC_NOT_FOUND: 404,
  NOT_FOUND: 404,
  TOPIC_EXISTS: 409,
  SLOW_CONSUMER: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
}

export function httpStatusOf(code: ErrorCode): number {
  return httpStatusByCode[code]
}

/** An expected failure of a request: carries a wire code and a message safe to show the client. */
export class HeraldError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'HeraldError'
  }
}

/**
 * WebSocket close codes. Ranges follow Centrifuge's convention:
 * 4000–4499 the client may reconnect (with backoff); 4500–4999 it should not
 * retry without changing something. Reasons stay under 123 bytes (the
 * protocol's limit for a close reason).
 */
export const CloseCode = {
  /** Normal closure. */
  NORMAL: 1000,
  /** Server shutting down: reconnect to another instance or later. */
  GOING_AWAY: 1001,
  /** A frame larger than MAX_PAYLOAD_BYTES (sent by Bun itself). */
  MESSAGE_TOO_BIG: 1009,
  /** SLOW_CONSUMER_POLICY=disconnect and the subscriber's queue overflowed. Reconnect, then read faster. */
  SLOW_CONSUMER: 4000,
  /** The token's exp passed without a refresh (after a TOKEN_EXPIRED error frame). Reconnect with a new token. */
  TOKEN_EXPIRED: 4401,
  /** Rate-limited for RATE_LIMIT_CLOSE_AFTER_MS without pause. Reconnect with backoff, and send slower. */
  RATE_LIMIT_ABUSE: 4429,
} as const

export const CloseReason = {
  GOING_AWAY: 'server shutting down',
  SLOW_CONSUMER: 'slow consumer: queue overflow',
  RATE_LIMIT_ABUSE: 'rate limit exceeded for too long',
  TOKEN_EXPIRED: 'token expired: reconnect with a new token',
} as const

/**
 * What each code means and where it is sent, for the API documents
 * (docs/asyncapi.json, /openapi) and docs/operations.md. `Record<ErrorCode, …>`
 * makes the compiler insist on an entry for every code.
 */
export const errorCodeInfo: Record<ErrorCode, { description: string; ws: boolean; rest: boolean }> = {
  BAD_REQUEST: { description: 'Invalid frame or body: bad JSON, binary frame, unknown type, missing or ill-typed field.', ws: true, rest: true },
  TOPIC_NOT_FOUND: { description: 'The topic named by the request does not exist.', ws: true, rest: true },
  TOPIC_EXISTS: { description: 'POST /topics for a name that already exists.', ws: false, rest: true },
  SLOW_CONSUMER: {
    description: 'The subscriber’s queue overflowed: the message says how many messages were lost on which topic (drop_oldest), or the connection is about to be closed with 4000 (disconnect).',
    ws: true,
    rest: false,
  },
  UNAUTHORIZED: {
    description: 'Missing or wrong API key or token (REST 401; the WebSocket upgrade is refused with HTTP 401); on /ws, a refresh frame whose token does not verify.',
    ws: true,
    rest: true,
  },
  LIMIT_EXCEEDED: { description: 'A configured limit was reached: MAX_TOPICS (POST /topics, 429) or MAX_SUBSCRIPTIONS_PER_CONNECTION (subscribe).', ws: true, rest: true },
  RATE_LIMITED: { description: 'The connection sends frames faster than RATE_LIMIT_PER_SEC; this frame was not executed.', ws: true, rest: false },
  FORBIDDEN: {
    description:
      'The WebSocket upgrade came from an origin not in ALLOWED_ORIGINS (refused with HTTP 403); on /ws, the connection’s token does not allow this subscribe or publish, its client_id is not the token’s sub, or a refresh token has another sub.',
    ws: true,
    rest: true,
  },
  TOKEN_EXPIRED: { description: 'The connection’s token expired without a refresh; the server closes with 4401 right after. Reconnect with a new token.', ws: true, rest: false },
  UNAVAILABLE: { description: 'The server is shutting down and accepts no new work.', ws: true, rest: true },
  NOT_FOUND: { description: 'REST: no route for that method and path.', ws: false, rest: true },
  INTERNAL: { description: 'An unexpected failure inside the server; details are logged, never sent.', ws: true, rest: true },
}

/** What each close code means and whether the client should reconnect, for the API documents. */
export const closeCodeInfo: Record<keyof typeof CloseCode, { description: string; reconnect: boolean }> = {
  NORMAL: { description: 'Normal closure.', reconnect: false },
  GOING_AWAY: { description: 'The server is shutting down (after an info server_shutdown frame). Reconnect, to another instance or later.', reconnect: true },
  MESSAGE_TOO_BIG: { description: 'A frame larger than MAX_PAYLOAD_BYTES (sent by Bun itself). Send smaller frames.', reconnect: false },
  SLOW_CONSUMER: { description: 'SLOW_CONSUMER_POLICY=disconnect and the subscriber’s queue overflowed (after a SLOW_CONSUMER error frame). Reconnect with backoff, then read faster.', reconnect: true },
  TOKEN_EXPIRED: { description: 'The token’s exp passed without a refresh frame (after a TOKEN_EXPIRED error frame). Reconnect with a new token.', reconnect: true },
  RATE_LIMIT_ABUSE: { description: 'Rate-limited for RATE_LIMIT_CLOSE_AFTER_MS without a pause (after RATE_LIMITED error frames). Reconnect with backoff, and send slower.', reconnect: true },
}
