/**
 * herald's publish path in JavaScript alone, against the reference server's
 * logic (bench/reference-server.ts), in one process: no sockets, no native
 * fan-out (its publish only counts), so what is compared is the JavaScript a
 * publish costs per message. herald's side is the real code from the frame
 * to the ack: dispatch (parse, validation), the memory engine (seq, event
 * frame, history), the hub (defer with its walk over the subscribers, the
 * cast at the end of the turn) and the ack written through in the handler.
 * The reference's side parses, counts a seq, builds the event and the ack.
 * Both take turns of 32 publishes (one setImmediate each) over 100
 * subscribers, 15 rounds each, side by side in time; prints the median
 * nanoseconds per message ("Eighth pass" in docs/performance.md).
 *
 *   bun bench/publish-path.ts
 */
import { MemoryEngine } from '../src/engine/memory-engine'
import { Hub } from '../src/hub/hub'
import type { Sink } from '../src/hub/sink'
import { clientContext, dispatchFrame } from '../src/protocol/dispatch'
import { PubSub } from '../src/pubsub'
import { referenceAck } from './lib/reference-http'
import { median } from './run'

const SUBSCRIBERS = 100
const PER_TURN = 32
const ROUNDS = 15
const TOPIC = 'bench'

/** What the runtime's calls would return; each write and cast only adds its length, so nothing is optimized away. */
let written = 0
const sink: Sink = {
  send: (text) => (written += text.length),
  cork: (fn) => fn(),
  bufferedAmount: () => 0,
  end() {},
  joinNative() {},
  leaveNative() {},
}
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

const hub = new Hub({ queueSize: 100, historySize: 100, slowConsumerPolicy: 'drop_oldest', socketHighWaterBytes: 1 << 20 })
let casts = 0
hub.useNativeFanout({ publish: (_topic, text) => void (casts++, (written += text.length)) })
const engine = new MemoryEngine({ historySize: 100 })
const pubsub = new PubSub(hub, engine)
engine.createTopic(TOPIC)
const context = (connection = pubsub.connect(sink)) => clientContext({ pubsub, connection, logInternal: () => {}, maxInFlight: 1000 })
for (let i = 0; i < SUBSCRIBERS; i++) dispatchFrame(context(), JSON.stringify({ type: 'subscribe', topic: TOPIC, client_id: `s${i}` }))
/** The publisher's own sink counts its acks: every publish must be acknowledged, not refused. */
let acks = 0
const publisher = context(pubsub.connect({ ...sink, send: (text) => (text.startsWith('{"type":"ack"') && acks++, (written += text.length)) }))

await turn() // the subscribe acks go out: a subscriber with a reply waiting is not cast to

// The socket benchmarks' publish frame (bench/scenarios.ts): ~230-byte event frames.
const frame = JSON.stringify({ type: 'publish', topic: TOPIC, message: { id: crypto.randomUUID(), payload: { data: 'x'.repeat(84) } } })
const frames = Array.from({ length: PER_TURN }, () => frame)

async function herald(turns: number): Promise<number> {
  const t0 = Bun.nanoseconds()
  for (let t = 0; t < turns; t++) {
    // As the /ws route runs a message handler (ws-route.ts): replies written through inside it.
    for (const text of frames) {
      pubsub.enterHandler(publisher.connection)
      try {
        dispatchFrame(publisher, text)
      } finally {
        pubsub.leaveHandler()
      }
    }
    await turn()
  }
  return (Bun.nanoseconds() - t0) / (turns * PER_TURN)
}

const seqs = new Map<string, number>()
async function reference(turns: number): Promise<number> {
  const t0 = Bun.nanoseconds()
  for (let t = 0; t < turns; t++) {
    for (const raw of frames) {
      const frame = JSON.parse(raw)
      const seq = (seqs.get(frame.topic) ?? 0) + 1
      seqs.set(frame.topic, seq)
      const { id, payload } = frame.message
      written += JSON.stringify({ type: 'event', topic: frame.topic, seq, message: { id, payload }, ts: new Date().toISOString() }).length
      written += referenceAck(frame.request_id, frame.topic).length
    }
    await turn()
  }
  return (Bun.nanoseconds() - t0) / (turns * PER_TURN)
}

await herald(3000) // warm-up: both sides compiled before the first measured round
await reference(3000)
const h: number[] = []
const r: number[] = []
for (let i = 0; i < ROUNDS; i++) {
  h.push(await herald(1000))
  r.push(await reference(1000))
}
const delivered = hub.activeSubscriptions(TOPIC).length
// Every publish must have been cast (the native fan-out path the socket benchmarks take at these turns).
const published = (3000 + ROUNDS * 1000) * PER_TURN
if (delivered !== SUBSCRIBERS || casts !== published || acks !== published) throw new Error(`the setup did not hold: ${delivered} subscribers, ${casts} casts, ${acks} acks of ${published} publishes`)
console.log(`publish path, ns per message (median of ${ROUNDS} rounds; ${PER_TURN} publishes per turn, ${SUBSCRIBERS} subscribers, native cast counted only):`)
console.log(`  herald ${median(h).toFixed(0)} (${Math.min(...h).toFixed(0)}–${Math.max(...h).toFixed(0)})   reference logic ${median(r).toFixed(0)} (${Math.min(...r).toFixed(0)}–${Math.max(...r).toFixed(0)})   herald / reference ${(median(h) / median(r)).toFixed(2)}`)
