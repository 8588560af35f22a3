/**
 * The server's credentials: the admin API key, and user tokens when a token
 * key is configured. `forUpgrade` turns what a /ws upgrade carries into a
 * ConnectionAuth, or refuses it (undefined → HTTP 401, the same body whatever
 * was wrong). The rules:
 * - with API_KEY set, a key given (`X-API-Key` or `?api_key=`) must be it → `api_key`;
 * - else a token given (`Authorization: Bearer …` or `?token=`) must verify → `token`;
 * - else the connection is allowed only when neither API_KEY nor a token key is set → `none`.
 */
import { keyMatcher } from '../http/auth'
import { ConnectionAuth, type TokenContext } from './connection-auth'
import { ExpirySweep } from './expiry-sweep'
import type { TokenKeys } from './keys'
import { type RejectReason, TokenRejected, TokenVerifier } from './tokens'

export interface CredentialOptions {
  apiKey: string
  /** Undefined: tokens off. */
  keys: TokenKeys | undefined
  tokenIssuer: string
  tokenAudience: string
  tokenMaxBytes: number
}

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

  async forUpgrade(request: Request, url: URL): Promise<ConnectionAuth | CredentialRefusal> {
    // Without API_KEY a key is ignored, as it always was.
    const key = request.headers.get('x-api-key') ?? url.searchParams.get('api_key')
    if (key !== null && this.matches) return this.matches(key) ? new ConnectionAuth('api_key') : 'bad_api_key'
    const token = bearer(request.headers.get('authorization')) ?? url.searchParams.get('token')
    if (token !== null && this.tokens) {
      try {
        return new ConnectionAuth('token', await this.tokens.verifier.verify(token), this.tokens)
      } catch (error) {
        if (error instanceof TokenRejected) return `token_${error.reason}`
        throw error
      }
    }
    if (this.matches || this.tokens) return 'missing_credential'
    return new ConnectionAuth('none')
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
