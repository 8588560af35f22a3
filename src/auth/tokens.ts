/**
 * Verifies user tokens (JWT) with `jose`: signature, algorithm, `exp`, `nbf`,
 * and `iss`/`aud` when TOKEN_ISSUER/TOKEN_AUDIENCE are set; then the claims
 * herald reads (`sub`, `exp`, `herald.subscribe`, `herald.publish`) against a
 * TypeBox schema. Every refusal is one `TokenRejected` whose `reason` is for
 * logs and metrics only: clients always see the same answer.
 */
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { type JWTVerifyGetKey, createLocalJWKSet, errors, importSPKI, jwtVerify } from 'jose'
import type { TokenKeys } from './keys'
import { PatternSet, patternProblem } from './patterns'

const Patterns = Type.Array(Type.String({ minLength: 1, maxLength: 400 }), { maxItems: 1000 })

/** The claims herald reads; others are ignored. */
export const HeraldClaims = Type.Object({
  sub: Type.String({ minLength: 1, maxLength: 200, description: 'The user: the default client_id, and on every log line of the connection.' }),
  exp: Type.Number({ description: 'Expiry, seconds since the epoch (required).' }),
  herald: Type.Optional(
    Type.Object({
      subscribe: Type.Optional(Patterns),
      publish: Type.Optional(Patterns),
    }),
  ),
})
export type HeraldClaims = Static<typeof HeraldClaims>

/** A verified token, as a connection holds it. */
export interface VerifiedToken {
  readonly sub: string
  /** Expiry in milliseconds since the epoch. */
  readonly expiresAt: number
  readonly subscribe: PatternSet
  readonly publish: PatternSet
}

export type RejectReason = 'too_long' | 'malformed' | 'bad_signature' | 'expired' | 'not_yet_valid' | 'bad_claims'

export class TokenRejected extends Error {
  override name = 'TokenRejected'
  constructor(readonly reason: RejectReason) {
    super(`token rejected: ${reason}`)
  }
}

export interface TokenVerifierOptions {
  keys: TokenKeys
  /** Checked when non-empty. */
  issuer: string
  audience: string
  /** Longer tokens are refused unread. */
  maxBytes: number
}

export class TokenVerifier {
  private readonly key: Promise<Uint8Array | CryptoKey> | JWTVerifyGetKey

  constructor(private readonly options: TokenVerifierOptions) {
    const { keys } = options
    if (keys.kind === 'hmac') this.key = Promise.resolve(keys.secret)
    else if (keys.kind === 'public-key') this.key = importSPKI(keys.pem, keys.algorithms[0])
    else this.key = createLocalJWKSet(keys.jwks as Parameters<typeof createLocalJWKSet>[0])
  }

  async verify(token: string): Promise<VerifiedToken> {
    if (token.length > this.options.maxBytes) throw new TokenRejected('too_long')
    let payload: unknown
    try {
      const key = typeof this.key === 'function' ? this.key : await this.key
      const result = await jwtVerify(token, key as Parameters<typeof jwtVerify>[1], {
        algorithms: [...this.options.keys.algorithms],
        requiredClaims: ['sub', 'exp'],
        ...(this.options.issuer ? { issuer: this.options.issuer } : {}),
        ...(this.options.audience ? { audience: this.options.audience } : {}),
      })
      payload = result.payload
    } catch (error) {
      throw new TokenRejected(reasonOf(error))
    }
    if (!Value.Check(HeraldClaims, payload)) throw new TokenRejected('bad_claims')
    const claims = payload as HeraldClaims
    const subscribe = claims.herald?.subscribe ?? []
    const publish = claims.herald?.publish ?? []
    if ([...subscribe, ...publish].some((p) => patternProblem(p) !== undefined)) throw new TokenRejected('bad_claims')
    return { sub: claims.sub, expiresAt: claims.exp * 1000, subscribe: new PatternSet(subscribe), publish: new PatternSet(publish) }
  }
}

function reasonOf(error: unknown): RejectReason {
  if (error instanceof errors.JWTExpired) return 'expired'
  if (error instanceof errors.JWTClaimValidationFailed) return error.claim === 'nbf' ? 'not_yet_valid' : 'bad_claims'
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature'
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) return 'bad_signature'
  return 'malformed'
}
