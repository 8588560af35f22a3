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
  /** The WebSocket upgrade came from an origin not in ALLOWED_ORIGINS. */
  FORBIDDEN: 'FORBIDDEN',
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
  /** Rate-limited for RATE_LIMIT_CLOSE_AFTER_MS without pause. Reconnect with backoff, and send slower. */
  RATE_LIMIT_ABUSE: 4429,
} as const

export const CloseReason = {
  GOING_AWAY: 'server shutting down',
  SLOW_CONSUMER: 'slow consumer: queue overflow',
  RATE_LIMIT_ABUSE: 'rate limit exceeded for too long',
} as const
