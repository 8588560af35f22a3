/**
 * The memory engine's core path, old against new, in one process: publish
 * frames through the dispatcher, fan-out to N subscriptions on sinks that
 * take everything (no sockets, so the shared machine's network noise stays
 * out), flushed once per event-loop turn as the server does. Runs the two
 * alternately, several rounds, and prints deliveries per CPU-second of this
 * process (steadier than wall time on a shared machine).
 *
 *   git worktree add /tmp/herald-old <commit before the hub/engine split>   (or git archive | tar -x)
 *   bun run bench/core-ab.ts --old /tmp/herald-old [--ms 1500] [--rounds 5]
 *
 * "old" is src/broker/memory-broker.ts + the dispatcher of that checkout;
 * "new" is this tree's Hub + MemoryEngine through PubSub and its dispatcher.
 */
import { resolve } from 'node:path'
import { MemoryEngine } from '../src/engine/memory-engine'
import { Hub } from '../src/hub/hub'
import { clientContext, dispatchFrame } from '../src/protocol/dispatch'
import { PubSub } from '../src/pubsub'

const args = process.argv.slice(2)
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`)
  return i === -1 ? fallback : args[i + 1]!
}
const OLD = resolve(arg('old', '/tmp/herald-old'))
const MS = Number(arg('ms', '1500'))
const ROUNDS = Number(arg('rounds', '5'))
const BATCH = 50 // publishes per event-loop turn

const options = { queueSize: 100, historySize: 100, slowConsumerPolicy: 'drop_oldest' as const, socketHighWaterBytes: 1 << 20, stallPollMs: 60_000 }

/** Takes every frame; counts them. */
class CountingSink {
  frames = 0
  send(text: string): number {
    this.frames++
    return text.length
  }
  cork(fn: () => void): void {
    fn()
  }
  bufferedAmount(): number {
    return 0
  }
  /** `end` in this tree's Sink, `close` in trees before 2026-12-01 evening: the older checkout may call either. */
  end(): void {}
  close(): void {}
}

interface Target {
  name: string
  /** Subscribes `n` sinks to topic 't'; returns a function that publishes one frame through the dispatcher. */
  setup(n: number): { sinks: CountingSink[]; publish: (frame: object) => void; close: () => void }
}

const turn = () => new Promise<void>((r) => setImmediate(r))

async function oldTarget(): Promise<Target> {
  const { MemoryBroker } = await import(resolve(OLD, 'src/broker/memory-broker.ts'))
  const oldDispatch = (await import(resolve(OLD, 'src/protocol/dispatch.ts'))).dispatchFrame
  return {
    name: 'old MemoryBroker',
    setup(n) {
      const broker = new MemoryBroker({ ...options, maxQueuedBytesPerConnection: 16 << 20 })
      broker.createTopic('t')
      const sinks = Array.from({ length: n }, () => new CountingSink())
      for (const sink of sinks) broker.subscribe(broker.connect(sink), { topic: 't', clientId: 'c', lastN: 0 })
      const publisher = broker.connect(new CountingSink())
      return { sinks, publish: (frame) => oldDispatch(broker, publisher, frame, () => {}), close: () => broker.closeAll(1001, 'done') }
    },
  }
}

function newTarget(): Target {
  return {
    name: 'new Hub + MemoryEngine',
    setup(n) {
      const pubsub = new PubSub(new Hub({ ...options, maxQueuedBytesPerConnection: 16 << 20 }), new MemoryEngine({ historySize: options.historySize }))
      pubsub.createTopic('t')
      const sinks = Array.from({ length: n }, () => new CountingSink())
      for (const sink of sinks) pubsub.subscribe(pubsub.connect(sink), { topic: 't', clientId: 'c', lastN: 0 })
      const publisher = clientContext({ pubsub, connection: pubsub.connect(new CountingSink()), logInternal: () => {}, maxInFlight: 1000 })
      return { sinks, publish: (frame) => dispatchFrame(publisher, frame), close: () => pubsub.closeAll(1001, 'done') }
    },
  }
}

async function measure(target: Target, n: number): Promise<number> {
  const { sinks, publish, close } = target.setup(n)
  await turn()
  for (const s of sinks) s.frames = 0 // the subscribe acks
  const payload = { n: 0, text: 'x'.repeat(100) }
  const start = performance.now()
  const cpu0 = process.cpuUsage()
  let i = 0
  while (performance.now() - start < MS) {
    for (let k = 0; k < BATCH; k++) publish({ type: 'publish', topic: 't', message: { id: crypto.randomUUID(), payload: { ...payload, n: i++ } }, request_id: `r${i}` })
    await turn()
  }
  await turn()
  // CPU time of this process, not wall time: other processes on a shared machine steal wall time, much less CPU time.
  const cpu = process.cpuUsage(cpu0)
  const seconds = (cpu.user + cpu.system) / 1e6
  const delivered = sinks.reduce((a, s) => a + s.frames, 0)
  close()
  if (delivered !== i * n) throw new Error(`${target.name}: delivered ${delivered}, expected ${i * n}`)
  return delivered / seconds
}

const targets = [await oldTarget(), newTarget()]
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(`# core fan-out, in process, ${BATCH} publishes per turn through the dispatcher, ${MS} ms per run, ${ROUNDS} rounds alternating, bun ${Bun.version}`)
for (const n of [100, 1000]) {
  const results: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.name, []]))
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? targets : [...targets].reverse()
    for (const t of order) results[t.name]!.push(await measure(t, n))
  }
  const [a, b] = targets.map((t) => median(results[t.name]!))
  for (const t of targets) console.log(`subscribers=${n}  ${t.name.padEnd(24)} median ${(median(results[t.name]!) / 1e6).toFixed(3)}M deliveries per CPU-second  runs ${results[t.name]!.map((x) => (x / 1e6).toFixed(2)).join(' ')}`)
  console.log(`subscribers=${n}  new/old ${(b! / a!).toFixed(3)}`)
}
process.exit(0)
