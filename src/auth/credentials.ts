/**
 * The server's credentials: the admin API key, and user tokens when a token
 * key is configured. `forUpgrade` turns what a /ws upgrade carries into a
 * ConnectionAuth, or refuses it (a CredentialRefusal → HTTP 401, the same body whatever
 * was wrong). The rules:
 * - with API_KEY set, a key given (`X-API-Key` or `?api_key=`) must be it → `api_key`;
 * - else a token given (`Authorization: Bearer …` or `?token=`) must verify → `token`;
 * - else the connection is allowed only when neither API_KEY nor a token key is set → `none`.
 */
import { keyMatcher } from '../http/auth'
import { ConnectionAuth, type TokenContext } from './connection-auth'
import { ExpirySweep } from './expiry-sweep'
import type { TokenKeys } from './keys'
import { type RejectReason, TokenRejected, TokenVerifier, type VerifiedToken } from './tokens'

export interface CredentialOptions {
  apiKey: string
  /** Undefined: tokens off. */
  keys: TokenKeys | undefined
  tokenIssuer: string
  tokenAudience: string
  tokenMaxBytes: number
}

/**
 * The credentials that carry no state of their own (no token: nothing expires,
 * nothing is tracked), shared by every such connection.
 */
const NO_CREDENTIAL = new ConnectionAuth('none')
const ADMIN = new ConnectionAuth('api_key')

/** Why an upgrade was refused with 401, for metrics and debug logs (never sent). */
export type CredentialRefusal = 'missing_credential' | 'bad_api_key' | `token_${RejectReason}`

export class Credentials {
  private readonly matches: ((given: string | null | undefined) => boolean) | undefined
  private readonly tokens: TokenContext | undefined

  constructor(options: CredentialOptions) {
    this.matches = options.apiKey ? keyMatcher(options.apiKey) : undefined
    if (options.keys) {
      const sweep = new ExpirySweep<ConnectionAuth>((auth) => auth.expire())
      const verifier = new TokenVerifier({ keys: options.keys, issuer: options.tokenIssuer, audience: options.tokenAudience, maxBytes: options.tokenMaxBytes })
      this.tokens = { verifier, sweep }
    }
  }

  get tokensEnabled(): boolean {
    return this.tokens !== undefined
  }

  /** Connections whose token expiry is being watched. */
  get tokenConnections(): number {
    return this.tokens?.sweep.size ?? 0
  }

  /** Synchronous unless a token must be verified (jose is asynchronous): most upgrades pay no promise. */
  forUpgrade(request: Request): ConnectionAuth | CredentialRefusal | Promise<ConnectionAuth | CredentialRefusal> {
    if (!this.matches && !this.tokens) return NO_CREDENTIAL
    // The query string is parsed only when there is one (idle memory per connection: no garbage per upgrade).
    const q = request.url.indexOf('?')
    const query = q === -1 ? undefined : new URLSearchParams(request.url.slice(q + 1))
    // Without API_KEY a key is ignored, as it always was.
    const key = request.headers.get('x-api-key') ?? query?.get('api_key') ?? null
    if (key !== null && this.matches) return this.matches(key) ? ADMIN : 'bad_api_key'
    const token = bearer(request.headers.get('authorization')) ?? query?.get('token') ?? null
    if (token !== null && this.tokens) return this.verify(token, this.tokens)
    return 'missing_credential'
  }

  /**
   * REST with a user token (the messages routes only): verifies the bearer
   * token of `request` and returns what it allows, or undefined when there is
   * none, tokens are not configured, or it does not verify (the caller answers
   * the same 401 whatever the reason).
   */
  async bearerToken(request: Request): Promise<VerifiedToken | undefined> {
    const token = bearer(request.headers.get('authorization'))
    if (token === null || !this.tokens) return undefined
    try {
      return await this.tokens.verifier.verify(token)
    } catch (error) {
      if (error instanceof TokenRejected) return undefined
      throw error
    }
  }

  /** True when `request` carries a bearer token and tokens are configured (the REST front lets it reach its route). */
  hasBearer(request: Request): boolean {
    return this.tokens !== undefined && bearer(request.headers.get('authorization')) !== null
  }

  private async verify(token: string, tokens: TokenContext): Promise<ConnectionAuth | CredentialRefusal> {
    try {
      return new ConnectionAuth('token', await tokens.verifier.verify(token), tokens)
    } catch (error) {
      if (error instanceof TokenRejected) return `token_${error.reason}`
      throw error
    }
  }

  stop(): void {
    this.tokens?.sweep.stop()
  }
}

/** The token of `Authorization: Bearer <token>` (scheme case-insensitive, RFC 7235), else null. */
function bearer(header: string | null): string | null {
  const m = header === null ? null : /^bearer +(\S+) *$/i.exec(header)
  return m ? m[1]! : null
}
