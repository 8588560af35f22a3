/**
 * The HTTP side the benchmark's stand-in servers share (bench/reference-server.ts,
 * bench/js-floor-server.ts): the upgrade on /ws, a /health, and POST /topics
 * that only records the name. Nothing else of herald's REST API.
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
