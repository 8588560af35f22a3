/**
 * The token keys named by the config, read and checked once at start-up:
 * exactly one of TOKEN_HMAC_SECRET (HS256), TOKEN_PUBLIC_KEY_FILE (a PEM
 * public key: RSA → RS256, EC P-256 → ES256) or TOKEN_JWKS_FILE (a JWKS whose
 * keys carry `kid`; RS256 and ES256). A missing, unreadable or unusable file
 * is a ConfigError, so herald exits 2 with a message naming the variable.
 *
 * Each key source allows exactly the algorithm(s) of its key type, so a token
 * signed with another algorithm (HS256 with the RSA public key as secret, the
 * classic confusion attack) or `alg: none` is refused by jose before any
 * signature check.
 */
import { createPublicKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { ConfigError } from '../config'

/** Shortest HMAC secret accepted: 32 bytes, the output size of SHA-256 (RFC 7518 §3.2 asks for at least that). */
export const MIN_HMAC_SECRET_BYTES = 32

export type TokenKeys =
  | { kind: 'hmac'; secret: Uint8Array; algorithms: ['HS256'] }
  | { kind: 'public-key'; pem: string; algorithms: ['RS256'] | ['ES256'] }
  | { kind: 'jwks'; jwks: { keys: Record<string, unknown>[] }; algorithms: ['RS256', 'ES256'] }

export interface TokenKeyOptions {
  tokenHmacSecret: string
  tokenPublicKeyFile: string
  tokenJwksFile: string
}

/** The configured keys, or undefined when tokens are off (none of the three set). Throws ConfigError. */
export function loadTokenKeys(config: TokenKeyOptions): TokenKeys | undefined {
  const given = (['tokenHmacSecret', 'tokenPublicKeyFile', 'tokenJwksFile'] as const).filter((k) => config[k] !== '')
  if (given.length === 0) return undefined
  if (given.length > 1) throw new ConfigError('set only one of TOKEN_HMAC_SECRET, TOKEN_PUBLIC_KEY_FILE, TOKEN_JWKS_FILE')
  if (config.tokenHmacSecret !== '') {
    const secret = new TextEncoder().encode(config.tokenHmacSecret)
    if (secret.byteLength < MIN_HMAC_SECRET_BYTES) throw new ConfigError(`TOKEN_HMAC_SECRET must be at least ${MIN_HMAC_SECRET_BYTES} bytes long`)
    return { kind: 'hmac', secret, algorithms: ['HS256'] }
  }
  if (config.tokenPublicKeyFile !== '') {
    const pem = readText('TOKEN_PUBLIC_KEY_FILE', config.tokenPublicKeyFile)
    let key
    try {
      key = createPublicKey(pem)
    } catch {
      throw new ConfigError(`TOKEN_PUBLIC_KEY_FILE=${config.tokenPublicKeyFile}: not a PEM public key`)
    }
    if (key.asymmetricKeyType === 'rsa') return { kind: 'public-key', pem, algorithms: ['RS256'] }
    if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return { kind: 'public-key', pem, algorithms: ['ES256'] }
    throw new ConfigError(`TOKEN_PUBLIC_KEY_FILE=${config.tokenPublicKeyFile}: expected an RSA (RS256) or EC P-256 (ES256) public key`)
  }
  const text = readText('TOKEN_JWKS_FILE', config.tokenJwksFile)
  let jwks: unknown
  try {
    jwks = JSON.parse(text)
  } catch {
    throw new ConfigError(`TOKEN_JWKS_FILE=${config.tokenJwksFile}: not JSON`)
  }
  const keys = (jwks as { keys?: unknown })?.keys
  if (!Array.isArray(keys) || keys.length === 0) throw new ConfigError(`TOKEN_JWKS_FILE=${config.tokenJwksFile}: expected {"keys":[…]} with at least one key`)
  for (const k of keys) {
    if (typeof k !== 'object' || k === null || typeof k.kid !== 'string' || (k.kty !== 'RSA' && k.kty !== 'EC'))
      throw new ConfigError(`TOKEN_JWKS_FILE=${config.tokenJwksFile}: every key needs a "kid" and kty RSA or EC`)
    if ('d' in k) throw new ConfigError(`TOKEN_JWKS_FILE=${config.tokenJwksFile}: key '${k.kid}' is a private key; give the public keys only`)
  }
  return { kind: 'jwks', jwks: { keys }, algorithms: ['RS256', 'ES256'] }
}

function readText(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`${variable}=${path}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}
