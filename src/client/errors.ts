/**
 * The SDK's one error type. `code` is the wire code of an `error` frame
 * (`TOPIC_NOT_FOUND`, `BAD_REQUEST`, … — see docs/protocol.md) or one of the
 * client-side codes below, which never appear on the wire.
 */
import type { ErrorCode } from '../errors'

export const ClientErrorCode = {
  /** No reply within the request timeout (`requestTimeoutMs`), or no connection within it. */
  TIMEOUT: 'TIMEOUT',
  /** The connection was lost while the request was in flight: it may or may not have been executed. */
  DISCONNECTED: 'DISCONNECTED',
  /** The client was closed (`client.close()`, or a close code that says not to retry). */
  CLOSED: 'CLOSED',
  /** The first connection attempt failed (`connect()` without `waitForFirstConnect`). */
  CONNECT_FAILED: 'CONNECT_FAILED',
  /** Invalid arguments, refused before anything was sent. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
} as const
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode]

/** A wire code this SDK knows, a client-side code, or a wire code added by a newer server. */
export type HeraldErrorCode = ErrorCode | ClientErrorCode | (string & {})

export class HeraldError extends Error {
  override name = 'HeraldError'
  constructor(
    readonly code: HeraldErrorCode,
    message: string,
    /** Extra context: the topic of the request, the close code of a lost connection. */
    readonly details: { topic?: string; closeCode?: number; closeReason?: string } = {},
  ) {
    super(message)
  }
}
