/**
 * The hub's per-connection path alone, as an A/B of checkouts in one
 * process: no sockets, no engine, no native fan-out; for each checkout a hub
 * with 100 subscribers of one topic on a sink that only counts, and events of
 * ~230 bytes published straight to it, one per turn (a shallow publisher) or
 * 8 per turn. The checkouts take turns, 20 rounds, so each round of one is
 * beside a round of the other in time (single runs on the machines here
 * spread by ±30 %); prints the median nanoseconds per delivery of each.
 *
 *   bun bench/hub-alone.ts [checkout root]...   (default: this checkout)
 */
import { median } from './run'

const roots = process.argv.length > 2 ? process.argv.slice(2) : [`${import.meta.dir}/..`]
const SUBSCRIBERS = 100
const ROUNDS = 20
const sink = { send: (text: string) => text.length, cork: (fn: () => void) => fn(), bufferedAmount: () => 0, end() {} }
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

interface Target {
  root: string
  /** `turns` turns of `perTurn` events each; returns ns per delivery. */
  run(turns: number, perTurn: number): Promise<number>
}

async function target(root: string): Promise<Target> {
  const { Hub } = await import(`${root}/src/hub/hub.ts`)
  const { ackFrame, eventFrame } = await import(`${root}/src/protocol/server-frames.ts`)
  const hub = new Hub({ queueSize: 100, historySize: 100, slowConsumerPolicy: 'drop_oldest', socketHighWaterBytes: 1 << 20 })
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const sub = hub.beginSubscribe(hub.connect(sink), 't', `c${i}`)
    const position = { seq: 0, epoch: 'e' }
    hub.activate(sub, ackFrame(`s${i}`, 't', position), { position, publications: [] })
  }
  const frame: string = eventFrame('t', 1, { id: crypto.randomUUID(), payload: 'y'.repeat(150) })
  const bytes = Buffer.byteLength(frame)
  let seq = 0
  return {
    root,
    async run(turns, perTurn) {
      const t0 = performance.now()
      for (let t = 0; t < turns; t++) {
        for (let k = 0; k < perTurn; k++) hub.publication({ topic: 't', seq: ++seq, frame, bytes })
        await turn()
      }
      return ((performance.now() - t0) * 1e6) / (turns * perTurn * SUBSCRIBERS)
    },
  }
}

const targets: Target[] = []
for (const root of roots) targets.push(await target(root))
await turn()
const lone = targets.map(() => [] as number[])
const eight = targets.map(() => [] as number[])
for (const t of targets) await t.run(5_000, 1) // warm-up
for (let r = 0; r < ROUNDS; r++)
  for (const [i, t] of targets.entries()) {
    lone[i]!.push(await t.run(2_000, 1))
    eight[i]!.push(await t.run(500, 8))
  }
for (const [i, t] of targets.entries())
  console.log(`${t.root}: one event per turn ${median(lone[i]!).toFixed(1)} ns/delivery (${Math.min(...lone[i]!).toFixed(0)}–${Math.max(...lone[i]!).toFixed(0)}), 8 per turn ${median(eight[i]!).toFixed(1)} (${Math.min(...eight[i]!).toFixed(0)}–${Math.max(...eight[i]!).toFixed(0)})`)
