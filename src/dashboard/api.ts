/**
 * The dashboard's REST client. It uses only the server's public API (/health, /stats, /metrics,
 * /topics) and sends the API key, when the tab holds one (credential.ts), in the X-API-Key header:
 * never in a URL. A user token is never sent to REST: it opens no REST route.
 */
import { credential } from './credential'

/** A refusal or failure, with the server's error code and message when it sent the ErrorBody shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

async function request(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {}
  const key = credential.apiKey()
  if (key) headers['x-api-key'] = key
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' })
  } catch {
    throw new ApiError(0, 'NETWORK', 'The server cannot be reached.')
  }
  if (!res.ok) {
    const text = await res.text()
    let code = `HTTP_${res.status}`
    let message = text || res.statusText
    try {
      const parsed = JSON.parse(text)
      if (parsed?.error?.code) ({ code, message } = parsed.error)
    } catch {}
    throw new ApiError(res.status, code, message)
  }
  return res
}

const json = async <T>(method: string, path: string, body?: unknown): Promise<T> => (await request(method, path, body)).json() as Promise<T>

export interface Health {
  uptime_sec: number
  topics: number
  subscribers: number
  connections: number
  /** Reported by servers with the engine split (issue 9); absent before it, when only the in-memory engine exists. */
  engine?: string
  instances?: number
  instance?: string
}

export interface TopicStats {
  messages: number
  subscribers: number
  dropped: number
  bytes: number
  history: number
  /** UTF-8 bytes of the messages held for replay (servers since the history byte limits). */
  history_bytes?: number
  last_publish: string | null
}

export const api = {
  health: () => json<Health>('GET', '/health'),
  stats: async () => (await json<{ topics: Record<string, TopicStats> }>('GET', '/stats')).topics,
  metrics: async () => (await request('GET', '/metrics')).text(),
  createTopic: (name: string) => json<unknown>('POST', '/topics', { name }),
  deleteTopic: (name: string) => json<unknown>('DELETE', `/topics/${encodeURIComponent(name)}`),
}
