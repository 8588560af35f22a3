/**
 * `herald token --sub alice --subscribe 'orders' --publish 'chat.*' --ttl 1h`:
 * mints an HS256 user token signed with TOKEN_HMAC_SECRET (and TOKEN_ISSUER /
 * TOKEN_AUDIENCE when set), for development and tests. Prints the token on
 * stdout. --subscribe and --publish may repeat; --ttl is a number with s, m,
 * h or d (default 1h). Production backends mint their own (docs/security.md).
 */
import { SignJWT } from 'jose'
import { ConfigError, loadConfig } from '../config'
import { loadTokenKeys } from '../auth/keys'
import { patternProblem } from '../auth/patterns'

export const TOKEN_USAGE = `Usage: herald token --sub USER [--subscribe PATTERN]... [--publish PATTERN]... [--ttl 1h]
  Mints an HS256 token from TOKEN_HMAC_SECRET (environment). Patterns: NATS syntax (*, >).
  --ttl: a number with s, m, h or d (default 1h).`

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

export interface TokenRequest {
  sub: string
  subscribe: string[]
  publish: string[]
  ttlSeconds: number
}

/** Parses the subcommand's arguments; throws ConfigError with a message for the user. */
export function parseTokenArgs(argv: readonly string[]): TokenRequest {
  const request: TokenRequest = { sub: '', subscribe: [], publish: [], ttlSeconds: 3600 }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const eq = arg.indexOf('=')
    const flag = eq === -1 ? arg : arg.slice(0, eq)
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1)
    if (!['--sub', '--subscribe', '--publish', '--ttl'].includes(flag)) throw new ConfigError(`unknown argument '${arg}'\n${TOKEN_USAGE}`)
    if (value === undefined || value === '') throw new ConfigError(`${flag} needs a value`)
    if (flag === '--sub') request.sub = value
    else if (flag === '--ttl') request.ttlSeconds = parseTtl(value)
    else {
      const problem = patternProblem(value)
      if (problem) throw new ConfigError(`${flag} '${value}': ${problem}`)
      request[flag === '--subscribe' ? 'subscribe' : 'publish'].push(value)
    }
  }
  if (request.sub === '') throw new ConfigError(`--sub is required\n${TOKEN_USAGE}`)
  return request
}

function parseTtl(text: string): number {
  const m = /^(\d+)([smhd])$/.exec(text)
  if (!m) throw new ConfigError(`--ttl '${text}': expected a number with s, m, h or d (e.g. 90s, 15m, 1h)`)
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2]!]!
  if (seconds < 1 || seconds > 366 * 86400) throw new ConfigError(`--ttl '${text}': from 1s to 366d`)
  return seconds
}

/** The token for `request`, signed with the HMAC secret of `env`. Throws ConfigError. */
export async function mintToken(request: TokenRequest, env: Record<string, string | undefined>): Promise<string> {
  const config = loadConfig(env)
  const keys = loadTokenKeys(config)
  if (keys?.kind !== 'hmac') throw new ConfigError('herald token needs TOKEN_HMAC_SECRET (it mints HS256 tokens only)')
  const jwt = new SignJWT({ herald: { subscribe: request.subscribe, publish: request.publish } })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(request.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + request.ttlSeconds)
  if (config.tokenIssuer) jwt.setIssuer(config.tokenIssuer)
  if (config.tokenAudience) jwt.setAudience(config.tokenAudience)
  return jwt.sign(keys.secret)
}

/** The subcommand: prints the token, or the error and exits 2. */
export async function tokenCommand(argv: readonly string[]): Promise<never> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(TOKEN_USAGE)
    process.exit(0)
  }
  try {
    console.log(await mintToken(parseTokenArgs(argv), process.env))
    process.exit(0)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(`herald token: ${error.message}`)
    process.exit(2)
  }
}
