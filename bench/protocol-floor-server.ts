/**
 * The reference server (bench/reference-server.ts: one native `server.publish`
 * per event, acks written in the message handler) with herald's obligations
 * added one at a time, to price each of them on the native path herald's
 * window-64 runs take (issue 11, "Seventh pass"). Not part of herald; nothing
 * here is a second implementation of it: no queues, no drop-oldest, no
 * subscribe replay, no REST beyond bench/lib/reference-http.ts.
 *
 * FLOOR (a comma-separated list; default: none, which is the reference):
 *   validate  every frame goes through herald's own decoder (src/protocol/decode-frame.ts:
 *             the TypeBox check and the request_id bound), as herald must;
 *   history   each event is kept in a ring of HISTORY_SIZE (default 100, herald's default)
 *             per topic with its byte count, as herald's memory engine keeps it for replay;
 *   epoch     the publish ack carries seq and epoch (herald's ackFrame), not the reference's bare ack;
 *   turn      the events wait for the end of the event-loop turn (setImmediate), where one walk
 *             over the topic's subscribers reads each socket's buffered amount (the room check
 *             that lets herald cast natively without ever overfilling a slow socket), then one
 *             `server.publish` each; the acks wait with them and go out corked, after the casts
 *             (herald's order: a connection's replies are written at its flush);
 *   all       every one of the above;
 * and two that are not obligations but herald's surroundings, not in `all`:
 *   imports   the process first loads every module herald's entry point loads
 *             (src/cli/commands.ts, src/cli/serve.ts: Elysia, TypeBox, jose, ioredis, the engines,
 *             the dashboard's routes …) and uses none of them;
 *   handlers  the socket also has the drain, ping and pong handlers herald's has (through Elysia).
 *
 *   FLOOR=all BENCH_PROJECT_SERVER=bench/protocol-floor-server.ts bun run bench/run.ts --only 'fanout_100_w64$'
 *
 * Env: PORT (0 = any), HOST, FLOOR, HISTORY_SIZE.
 */
import type { ServerWebSocket } from 'bun'
import { decodeFrame } from '../src/protocol/decode-frame'
import { ackFrame } from '../src/protocol/server-frames'
import { referenceAck, referenceFetch, referencePong } from './lib/reference-http'

type Socket = ServerWebSocket<{ acks: string[] }>
interface Topic {
  readonly name: string
  seq: number
  readonly epoch: string
  readonly subscribers: Set<Socket>
  /** The last HISTORY_SIZE events, oldest first from `head`, with their byte counts. */
  readonly ring: { text: string; bytes: number }[]
  head: number
  bytes: number
  /** This turn's events, cast at the flush (FLOOR=turn). */
  turn: string[]
}

const wanted = new Set((process.env.FLOOR ?? '').split(',').filter(Boolean))
const on = (name: string) => wanted.has(name) || wanted.has('all')
const VALIDATE = on('validate')
const HISTORY = on('history')
const EPOCH = on('epoch')
const TURN = on('turn')
const IMPORTS = wanted.has('imports')
const HANDLERS = wanted.has('handlers')
if (IMPORTS) await Promise.all([import('../src/cli/commands'), import('../src/cli/serve')])
const HISTORY_SIZE = Number(process.env.HISTORY_SIZE ?? 100)
/** herald's SOCKET_HIGH_WATER_BYTES default: the room check reads each socket against it. */
const HIGH_WATER = 1024 * 1024

const topics = new Map<string, Topic>()
const names = new Set<string>()
let castTopics: Topic[] = []
let ackSockets: Socket[] = []
let flushQueued = false

function topicOf(name: string): Topic {
  let topic = topics.get(name)
  if (!topic) topics.set(name, (topic = { name, seq: 0, epoch: crypto.randomUUID(), subscribers: new Set(), ring: [], head: 0, bytes: 0, turn: [] }))
  return topic
}

function keep(topic: Topic, text: string): void {
  const entry = { text, bytes: Buffer.byteLength(text) }
  topic.bytes += entry.bytes
  if (topic.ring.length < HISTORY_SIZE) topic.ring.push(entry)
  else {
    topic.bytes -= topic.ring[topic.head]!.bytes
    topic.ring[topic.head] = entry
    topic.head = (topic.head + 1) % HISTORY_SIZE
  }
}

function queueFlush(): void {
  if (flushQueued) return
  flushQueued = true
  setImmediate(flush)
}

function flush(): void {
  flushQueued = false
  const casts = castTopics
  castTopics = []
  for (const topic of casts) {
    // The room check: every subscriber's socket must take the whole turn below the high-water mark.
    let room = HIGH_WATER
    for (const ws of topic.subscribers) room = Math.min(room, HIGH_WATER - ws.getBufferedAmount())
    const frames = topic.turn
    topic.turn = []
    if (room < 0) throw new Error('a subscriber is backed up: this floor has no queues')
    for (const text of frames) server.publish(topic.name, text)
  }
  const acked = ackSockets
  ackSockets = []
  for (const ws of acked) {
    const acks = ws.data.acks
    ws.data.acks = []
    if (acks.length === 1) ws.sendText(acks[0]!)
    else ws.cork(() => {
      for (const a of acks) ws.sendText(a)
    })
  }
}

function reply(ws: Socket, text: string): void {
  if (!TURN) {
    ws.sendText(text)
    return
  }
  if (ws.data.acks.length === 0) ackSockets.push(ws)
  ws.data.acks.push(text)
  queueFlush()
}

const server = Bun.serve<{ acks: string[] }>({
  port: Number(process.env.PORT ?? 8083),
  hostname: process.env.HOST ?? '127.0.0.1',
  fetch: referenceFetch(names, () => ({ acks: [] })),
  websocket: {
    idleTimeout: 960,
    perMessageDeflate: false,
    message(ws: Socket, raw) {
      const text = String(raw)
      const json = JSON.parse(text)
      const frame = VALIDATE ? (decodeFrame(json, text.length) as typeof json) : json
      switch (frame.type) {
        case 'subscribe':
          ws.subscribe(frame.topic)
          topicOf(frame.topic).subscribers.add(ws)
          reply(ws, referenceAck(frame.request_id, frame.topic))
          return
        case 'unsubscribe':
          ws.unsubscribe(frame.topic)
          topicOf(frame.topic).subscribers.delete(ws)
          reply(ws, referenceAck(frame.request_id, frame.topic))
          return
        case 'publish': {
          const topic = topicOf(frame.topic)
          const seq = ++topic.seq
          const { id, payload } = frame.message
          const event = JSON.stringify({ type: 'event', topic: frame.topic, seq, message: { id, payload }, ts: new Date().toISOString() })
          if (HISTORY) keep(topic, event)
          if (TURN) {
            if (topic.turn.length === 0) castTopics.push(topic)
            topic.turn.push(event)
          } else server.publish(frame.topic, event)
          reply(ws, EPOCH ? ackFrame(frame.request_id, frame.topic, { seq, epoch: topic.epoch }) : referenceAck(frame.request_id, frame.topic))
          return
        }
        case 'ping':
          reply(ws, referencePong(frame.request_id))
      }
    },
    // Each reads a property of ws.data, as Elysia's forwarders do (`ws.data.drain?.(ws)`).
    ...(HANDLERS ? { drain(ws: Socket) { ws.data.acks.length }, ping(ws: Socket) { ws.data.acks.length }, pong(ws: Socket) { ws.data.acks.length } } : {}),
    close(ws: Socket) {
      for (const topic of topics.values()) topic.subscribers.delete(ws)
    },
  },
})
console.log(JSON.stringify({ level: 'info', event: 'listening', port: server.port, floor: [...wanted] }))
process.on('SIGTERM', () => process.exit(0))
