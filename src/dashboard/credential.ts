/**
 * The one credential this tab holds: an API key (admin: REST and /ws) or a user token (issue 12:
 * /ws only, and there only the topics its patterns allow). Kept in sessionStorage (this tab, until
 * it closes), never in a URL but the /ws address, where browsers allow no header.
 *
 * Invariant: at most one of the two storage entries is set; `set` clears the other.
 */
import { tokenClaims } from '../client/token'

const KEY_STORAGE = 'herald.apiKey'
const TOKEN_STORAGE = 'herald.token'

export type CredentialKind = 'api_key' | 'token'
export interface Credential {
  kind: CredentialKind
  value: string
}

export const credential = {
  get(): Credential | null {
    const key = sessionStorage.getItem(KEY_STORAGE)
    if (key !== null) return { kind: 'api_key', value: key }
    const token = sessionStorage.getItem(TOKEN_STORAGE)
    return token === null ? null : { kind: 'token', value: token }
  },
  set(c: Credential): void {
    sessionStorage.setItem(c.kind === 'api_key' ? KEY_STORAGE : TOKEN_STORAGE, c.value)
    sessionStorage.removeItem(c.kind === 'api_key' ? TOKEN_STORAGE : KEY_STORAGE)
  },
  clear(): void {
    sessionStorage.removeItem(KEY_STORAGE)
    sessionStorage.removeItem(TOKEN_STORAGE)
  },
  /** The API key, when that is the credential: what REST and the admin actions need. */
  apiKey(): string | null {
    const c = credential.get()
    return c?.kind === 'api_key' ? c.value : null
  },
  /** True when the tab holds a user token: REST admin routes are out of reach, admin actions hidden. */
  isToken(): boolean {
    return credential.get()?.kind === 'token'
  },
}

/** What the page shows of a token: who, until when, and which topics. Read without verifying (the server verifies). */
export interface TokenInfo {
  sub?: string
  /** ms since the epoch. */
  exp?: number
  subscribe: string[]
  publish: string[]
}

export function tokenInfo(token: string): TokenInfo {
  const { sub, exp } = tokenClaims(token)
  let herald: { subscribe?: unknown; publish?: unknown } = {}
  try {
    const part = token.split('.')[1] ?? ''
    herald = JSON.parse(atob(part.replaceAll('-', '+').replaceAll('_', '/').padEnd(Math.ceil(part.length / 4) * 4, '='))).herald ?? {}
  } catch {}
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((p): p is string => typeof p === 'string') : [])
  return { sub, exp, subscribe: list(herald.subscribe), publish: list(herald.publish) }
}
