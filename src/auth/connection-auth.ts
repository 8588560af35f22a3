/**
 * One connection's credential and what it allows, consulted by dispatch
 * through `FramePermissions`. Three kinds:
 * - `none`: no credential configured; everything allowed, as before tokens;
 * - `api_key`: the admin key; everything allowed;
 * - `token`: a user token; subscribe and publish only where its patterns
 *   match, `client_id` is its `sub`, and it expires (ExpirySweep) unless
 *   refreshed with a token for the same `sub`.
 */
import { ErrorCode, HeraldError } from '../errors'
import type { ExpirySweep } from './expiry-sweep'
import type { TokenVerifier, VerifiedToken } from './tokens'

export type AuthKind = 'none' | 'api_key' | 'token'
export const AUTH_KINDS: readonly AuthKind[] = ['none', 'api_key', 'token']

/** What dispatch asks of a connection's credential. The assert* checks throw HeraldError and change nothing. */
export interface FramePermissions {
  /** The client_id a subscribe or unsubscribe without one acts as: the token's `sub`; undefined without a token (client_id is then required). */
  readonly defaultClientId: string | undefined
  /** Throws FORBIDDEN when a token connection names another client_id than its `sub` (a user cannot pose as another). */
  assertClientId(clientId: string): void
  /** Throws FORBIDDEN when the credential may not subscribe to `topic`. */
  assertSubscribe(topic: string): void
  /** Throws FORBIDDEN when the credential may not publish on `topic`. */
  assertPublish(topic: string): void
  /** Bookkeeping of this connection's subscriptions, for refresh. */
  subscribed(topic: string): void
  unsubscribed(topic: string): void
  /**
   * Replaces the token (same `sub` required). Resolves with the topics whose
   * subscriptions the new token no longer allows (the caller ends them).
   * Rejects with HeraldError UNAUTHORIZED (invalid token) or FORBIDDEN (another `sub`, or no token to refresh).
   */
  refresh(token: string): Promise<string[]>
}

export interface TokenContext {
  verifier: TokenVerifier
  sweep: ExpirySweep<ConnectionAuth>
}

export class ConnectionAuth implements FramePermissions {
  /** Topics subscribed under the token, for refresh; only token connections keep it (idle memory per connection matters). */
  private topics: Set<string> | undefined
  private closed = false
  private expired = false
  private refreshing = false
  private onExpired: (() => void) | undefined

  constructor(
    readonly kind: AuthKind,
    private token?: VerifiedToken,
    private readonly context?: TokenContext,
  ) {
    if (token) context?.sweep.track(this, token.expiresAt)
  }

  /** The token's user, for log lines; undefined without a token. */
  get sub(): string | undefined {
    return this.token?.sub
  }

  get defaultClientId(): string | undefined {
    return this.token?.sub
  }

  assertClientId(clientId: string): void {
    if (this.token && clientId !== this.token.sub) throw new HeraldError(ErrorCode.FORBIDDEN, 'client_id must be the token’s sub (or absent)')
  }

  /**
   * `handler` runs once when the token expires without a refresh — at once if
   * it already has (the deadline passed between verification and the socket opening).
   */
  whenExpired(handler: () => void): void {
    this.onExpired = handler
    if (this.expired && !this.closed) handler()
  }

  assertSubscribe(topic: string): void {
    this.assertLive()
    if (this.token && !this.token.subscribe.allows(topic)) throw new HeraldError(ErrorCode.FORBIDDEN, `the token does not allow subscribing to '${topic}'`)
  }

  assertPublish(topic: string): void {
    this.assertLive()
    if (this.token && !this.token.publish.allows(topic)) throw new HeraldError(ErrorCode.FORBIDDEN, `the token does not allow publishing on '${topic}'`)
  }

  subscribed(topic: string): void {
    if (this.token) (this.topics ??= new Set()).add(topic)
  }

  unsubscribed(topic: string): void {
    this.topics?.delete(topic)
  }

  async refresh(text: string): Promise<string[]> {
    if (!this.token || !this.context) throw new HeraldError(ErrorCode.FORBIDDEN, 'this connection holds no token to refresh')
    // One verification in flight per connection: a client cannot pile up signature checks (and their memory).
    if (this.refreshing) throw new HeraldError(ErrorCode.BAD_REQUEST, 'a refresh is already in progress: wait for its reply')
    this.refreshing = true
    let next: VerifiedToken
    try {
      next = await this.context.verifier.verify(text)
    } catch {
      throw new HeraldError(ErrorCode.UNAUTHORIZED, 'invalid token')
    } finally {
      this.refreshing = false
    }
    if (this.closed) return []
    this.assertLive() // expired while the new token was being verified: too late, the close is on its way
    if (next.sub !== this.token.sub) throw new HeraldError(ErrorCode.FORBIDDEN, 'a refresh token must have the same sub')
    this.token = next
    this.context.sweep.track(this, next.expiresAt)
    const ended = [...(this.topics ?? [])].filter((t) => !next.subscribe.allows(t))
    for (const t of ended) this.topics!.delete(t)
    return ended
  }

  /** The token's deadline passed (called by the sweep). */
  expire(): void {
    this.expired = true
    if (!this.closed) this.onExpired?.()
  }

  /** Between expiry and the close, nothing more is executed. */
  private assertLive(): void {
    if (this.expired) throw new HeraldError(ErrorCode.TOKEN_EXPIRED, 'token expired: reconnect with a new token')
  }

  /** The connection ended: stop tracking its expiry. (A shared `none`/`api_key` instance holds no state that this changes.) */
  close(): void {
    if (!this.token) return
    this.closed = true
    this.context?.sweep.untrack(this)
  }
}

/** The permissions of a connection without tokens (`none`, `api_key`): everything allowed, client_id required. */
export const ALLOW_ALL: FramePermissions = {
  defaultClientId: undefined,
  assertClientId() {},
  assertSubscribe() {},
  assertPublish() {},
  subscribed() {},
  unsubscribed() {},
  refresh: () => Promise.reject(new HeraldError(ErrorCode.FORBIDDEN, 'this connection holds no token to refresh')),
}
