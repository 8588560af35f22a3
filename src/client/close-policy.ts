/**
 * What the client does when its socket closes, decided from the server's own
 * close-code table (`CloseCode` and `closeCodeInfo` in src/errors.ts, which
 * also feeds docs/protocol.md and the AsyncAPI document): one source, so the
 * server cannot add a code that the SDK misreads. src/errors.ts has no imports,
 * so it is safe in a browser bundle.
 */
import { CloseCode, closeCodeInfo } from '../errors'

export type CloseAction =
  /** Reconnect at once: 1001, the server is shutting down (another instance, or the same one restarted, takes over). */
  | 'reconnect_now'
  /** Reconnect after the backoff delay. */
  | 'reconnect'
  /** Do not retry: reconnecting unchanged would fail the same way. */
  | 'stop'

const nameByCode = new Map<number, keyof typeof CloseCode>(Object.entries(CloseCode).map(([name, code]) => [code, name as keyof typeof CloseCode]))

/**
 * Codes the server never sends itself but a peer or proxy may (RFC 6455
 * §7.4.1): protocol errors that a reconnect would repeat. 1007 is sent by Bun
 * for invalid UTF-8 (docs/protocol.md).
 */
const PROTOCOL_ERRORS = new Set([1002, 1003, 1007, 1008, 1010])

export function closeAction(code: number): CloseAction {
  if (code === CloseCode.GOING_AWAY) return 'reconnect_now'
  const name = nameByCode.get(code)
  if (name !== undefined) return closeCodeInfo[name].reconnect ? 'reconnect' : 'stop'
  if (PROTOCOL_ERRORS.has(code)) return 'stop'
  // The protocol's ranges: 4000–4499 may reconnect, 4500–4999 must not retry unchanged.
  if (code >= 4500 && code <= 4999) return 'stop'
  // 1006 (connection lost, no close frame), 1011–1014, 4000–4499, anything else.
  return 'reconnect'
}
