/**
 * Real signatures for token tests: keys generated per test run with jose
 * (HS256 secret, RS256 and ES256 key pairs, a two-key JWKS), files written to
 * a temporary directory, and `mint` to sign any claims with any of them.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type JWTPayload, SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose'

export const HMAC_SECRET = 'test-secret-0123456789-abcdefghijklmnop'

export type SigningKey = { alg: 'HS256'; key: Uint8Array; kid?: string } | { alg: 'RS256' | 'ES256'; key: CryptoKey; kid?: string }

export const hmacKey: SigningKey = { alg: 'HS256', key: new TextEncoder().encode(HMAC_SECRET) }

/** A directory for this process's key files. */
export const keyDir = mkdtempSync(join(tmpdir(), 'herald-keys-'))

export function writeKeyFile(name: string, text: string): string {
  const path = join(keyDir, name)
  writeFileSync(path, text)
  return path
}

export interface KeyPair {
  signing: SigningKey
  publicPem: string
  publicJwk: Record<string, unknown>
}

export async function keyPair(alg: 'RS256' | 'ES256', kid?: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = { ...(await exportJWK(publicKey)), ...(kid ? { kid } : {}), alg, use: 'sig' }
  return { signing: { alg, key: privateKey, kid }, publicPem: await exportSPKI(publicKey), publicJwk }
}

/** Seconds since the epoch, `offset` seconds from now. */
export const at = (offset: number) => Math.floor(Date.now() / 1000) + offset

/** Signs `claims` (default: sub alice, exp in 1 h, no permissions). `exp: undefined` leaves exp out. */
export function mint(signing: SigningKey, claims: JWTPayload & { herald?: { subscribe?: string[]; publish?: string[] } } = {}): Promise<string> {
  const payload: JWTPayload = { sub: 'alice', exp: at(3600), ...claims }
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k]
  return new SignJWT(payload).setProtectedHeader({ alg: signing.alg, ...(signing.kid ? { kid: signing.kid } : {}) }).sign(signing.key)
}

/** An unsigned token (`alg: none`), which must always be refused. */
export function unsecured(claims: JWTPayload): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', exp: at(3600), ...claims })}.`
}
