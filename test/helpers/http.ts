/** A fetch for the REST API that returns status and parsed body (JSON when it parses, else the text). */
export interface RestReply {
  status: number
  body: any
  headers: Headers
}

export async function rest(base: string, method: string, path: string, options: { json?: unknown; body?: string; headers?: Record<string, string> } = {}): Promise<RestReply> {
  const headers: Record<string, string> = { ...options.headers }
  let body = options.body
  if (options.json !== undefined) {
    body = JSON.stringify(options.json)
    headers['content-type'] ??= 'application/json'
  }
  const res = await fetch(base + path, { method, headers, body })
  const text = await res.text()
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {}
  return { status: res.status, body: parsed, headers: res.headers }
}

/** ISO-8601 UTC with milliseconds, ending in Z: the format of every server frame's `ts`. */
export const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
