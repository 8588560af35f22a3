/**
 * What the benchmark's stand-in servers share (bench/reference-server.ts,
 * bench/js-floor-server.ts, bench/protocol-floor-server.ts): the HTTP side (the
 * upgrade on /ws, a /health, and POST /topics that only records the name;
 * nothing else of herald's REST API) and their bare ack and pong frames.
 */
import type { Server } from 'bun'

export function referenceFetch<T>(topics: Set<string>, data: () => T) {
  return async (req: Request, srv: Server<T>): Promise<Response | undefined> => {
    const { pathname } = new URL(req.url)
    // Bun types the options by T (none when T is undefined); the cast keeps one function for both servers.
    if (pathname === '/ws') return (srv as Server<unknown>).upgrade(req, { data: data() }) ? undefined : new Response('upgrade failed', { status: 400 })
    if (pathname === '/health') return Response.json({ uptime_sec: 0, topics: topics.size, subscribers: 0 })
    if (pathname === '/topics' && req.method === 'POST') {
      const { name } = (await req.json()) as { name: string }
      topics.add(name)
      return Response.json({ status: 'created', topic: name }, { status: 201 })
    }
    return new Response('not found', { status: 404 })
  }
}

/** The stand-ins' ack: herald's shape without seq or epoch (bench/protocol-floor-server.ts's FLOOR=epoch uses herald's own). */
export const referenceAck = (request_id: unknown, topic?: unknown) => JSON.stringify({ type: 'ack', request_id, topic, status: 'ok', ts: new Date().toISOString() })

export const referencePong = (request_id: unknown) => JSON.stringify({ type: 'pong', request_id, ts: new Date().toISOString() })
