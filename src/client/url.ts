/** The /ws URL from what a user gives, and how a close is described in messages. */
import { HeraldError } from './errors'

export function describeClose(close: { code: number; reason: string }): string {
  return close.reason ? `${close.code} ${close.reason}` : String(close.code)
}

/** http(s)://host[:port] or ws(s)://host[:port][/ws] → the /ws URL, with the credentials in the query. */
export function wsUrl(url: string, credentials: { apiKey?: string; token?: string } = {}): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new HeraldError('INVALID_ARGUMENT', `not a URL: '${url}' (expected e.g. http://127.0.0.1:8080 or ws://127.0.0.1:8080/ws)`)
  }
  const protocol = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' }[parsed.protocol]
  if (!protocol) throw new HeraldError('INVALID_ARGUMENT', `unsupported URL scheme '${parsed.protocol}' in '${url}' (http, https, ws, wss)`)
  parsed.protocol = protocol
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/ws'
  if (credentials.apiKey) parsed.searchParams.set('api_key', credentials.apiKey)
  if (credentials.token) parsed.searchParams.set('token', credentials.token)
  return parsed.toString()
}
