/**
 * The native ceiling for the benchmark: plain Bun.serve speaking herald's
 * frames with none of its guarantees. subscribe → ack + ws.subscribe;
 * publish → ack + ONE server.publish of an event frame built once (same JSON
 * shape as herald's, with seq and ts). No history, no queues, no validation,
 * no drop-oldest (Bun silently drops the newest for a socket past
 * backpressureLimit). Env: PORT (0 = any), HOST. Logs herald's "listening" line.
 */
import type { ServerWebSocket } from 'bun'
import { referenceAck, referenceFetch, referencePong } from './lib/reference-http'

const seqs = new Map<string, number>()
const topics = new Set<string>()

const server = Bun.serve({
  port: Number(process.env.PORT ?? 8081),
  hostname: process.env.HOST ?? '127.0.0.1',
  fetch: referenceFetch(topics, () => undefined),
  websocket: {
    idleTimeout: 960,
    perMessageDeflate: false,
    message(ws: ServerWebSocket<undefined>, raw) {
      const frame = JSON.parse(String(raw))
      switch (frame.type) {
        case 'subscribe':
          ws.subscribe(frame.topic)
          ws.sendText(referenceAck(frame.request_id, frame.topic))
          return
        case 'unsubscribe':
          ws.unsubscribe(frame.topic)
          ws.sendText(referenceAck(frame.request_id, frame.topic))
          return
        case 'publish': {
          const seq = (seqs.get(frame.topic) ?? 0) + 1
          seqs.set(frame.topic, seq)
          const { id, payload } = frame.message
          server.publish(frame.topic, JSON.stringify({ type: 'event', topic: frame.topic, seq, message: { id, payload }, ts: new Date().toISOString() }))
          ws.sendText(referenceAck(frame.request_id, frame.topic))
          return
        }
        case 'ping':
          ws.sendText(referencePong(frame.request_id))
      }
    },
  },
})
console.log(JSON.stringify({ level: 'info', event: 'listening', port: server.port }))
process.on('SIGTERM', () => process.exit(0))
