/**
 * The floor of any fan-out written in JavaScript on Bun: the reference
 * server's protocol (bench/reference-server.ts), but the fan-out is a JS loop
 * that hands the event frame to each subscriber's socket with `sendText`, as
 * herald's hub must (it keeps a queue per subscriber to count what a slow one
 * loses; uWS's native `server.publish` cannot tell it). No queues, no
 * history, no accounting, no validation: what is left is the cost of one
 * JS→native `sendText` call per delivery.
 *
 * FLOOR_MODE (default `turn`):
 *   turn    frames wait in a per-socket array and are written once per
 *           event-loop turn (setImmediate), corked when more than one: the
 *           batching herald does, with nothing else;
 *   direct  every frame is written at once (uncorked unless inside the
 *           publisher's message handler).
 *
 *   BENCH_PROJECT_SERVER=bench/js-floor-server.ts bun run bench/run.ts --only 'fanout_1000_w64$'
 *
 * A bench tool, not part of herald. Env: PORT (0 = any), HOST, FLOOR_MODE.
 */
import type { ServerWebSocket } from 'bun'
import { referenceAck, referenceFetch, referencePong } from './lib/reference-http'

interface Client {
  pending: string[]
  dirty: boolean
}
type Socket = ServerWebSocket<Client>

const direct = process.env.FLOOR_MODE === 'direct'
const seqs = new Map<string, number>()
const subscribers = new Map<string, Set<Socket>>()
const topics = new Set<string>()
let dirty: Socket[] = []
let flushQueued = false

function flush(): void {
  flushQueued = false
  const batch = dirty
  dirty = []
  for (const ws of batch) {
    const c = ws.data
    c.dirty = false
    const frames = c.pending
    c.pending = []
    if (frames.length === 1) ws.sendText(frames[0]!)
    else
      ws.cork(() => {
        for (const f of frames) ws.sendText(f)
      })
  }
}

function deliver(ws: Socket, text: string): void {
  if (direct) {
    ws.sendText(text)
    return
  }
  const c = ws.data
  c.pending.push(text)
  if (!c.dirty) {
    c.dirty = true
    dirty.push(ws)
    if (!flushQueued) {
      flushQueued = true
      setImmediate(flush)
    }
  }
}

const server = Bun.serve<Client>({
  port: Number(process.env.PORT ?? 8082),
  hostname: process.env.HOST ?? '127.0.0.1',
  fetch: referenceFetch(topics, () => ({ pending: [], dirty: false })),
  websocket: {
    idleTimeout: 960,
    perMessageDeflate: false,
    message(ws: Socket, raw) {
      const frame = JSON.parse(String(raw))
      switch (frame.type) {
        case 'subscribe': {
          let set = subscribers.get(frame.topic)
          if (!set) subscribers.set(frame.topic, (set = new Set()))
          set.add(ws)
          deliver(ws, referenceAck(frame.request_id, frame.topic))
          return
        }
        case 'unsubscribe':
          subscribers.get(frame.topic)?.delete(ws)
          deliver(ws, referenceAck(frame.request_id, frame.topic))
          return
        case 'publish': {
          const seq = (seqs.get(frame.topic) ?? 0) + 1
          seqs.set(frame.topic, seq)
          const { id, payload } = frame.message
          const text = JSON.stringify({ type: 'event', topic: frame.topic, seq, message: { id, payload }, ts: new Date().toISOString() })
          for (const sub of subscribers.get(frame.topic) ?? []) deliver(sub, text)
          deliver(ws, referenceAck(frame.request_id, frame.topic))
          return
        }
        case 'ping':
          deliver(ws, referencePong(frame.request_id))
      }
    },
    close(ws: Socket) {
      for (const set of subscribers.values()) set.delete(ws)
    },
  },
})
console.log(JSON.stringify({ level: 'info', event: 'listening', port: server.port }))
process.on('SIGTERM', () => process.exit(0))
