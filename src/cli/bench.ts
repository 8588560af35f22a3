/**
 * `herald bench`: load against a running server, in the shape of `nats bench`.
 * P publishers publish B-byte payloads to one fresh topic for S seconds, each
 * with up to W publishes in flight; N subscribers count what they receive.
 * Reports publishes/s (acknowledged), deliveries/s, publish→delivery latency
 * percentiles, and a zero-loss check: every subscriber must receive every
 * acknowledged message, once and in seq order. The clients are SDK clients in
 * this one process, so the figures include the SDK's own cost (Bun's
 * WebSocket client) and share the machine with the server when it is local.
 */
import type { EventFrame, HeraldClient } from '../client'
import { type Connection, clientOf, connectionOf, EXIT_OK, EXIT_SERVER, parseArgs, restCall, UsageError, writeLine } from './args'
import { percentiles, type Percentiles } from './percentiles'

export const BENCH_USAGE = `Usage: herald bench [--subscribers N] [--publishers P] [--size B] [--duration S] [--window W] [--json]
  Publishes to a new topic (bench-…, deleted afterwards) for S seconds and reports
  publishes/s, deliveries/s, latency min/p50/p90/p99/p99.9/max and a zero-loss check.
  --subscribers N  default 10        --publishers P  default 1
  --size B         payload bytes, default 128 (at least 32)
  --duration S     seconds, default 5 --window W      publishes in flight per publisher, default 100
  --json           one JSON object on stdout (the progress line goes to stderr)
  Exits 1 when a subscriber missed a message.`

const SPEC = { subscribers: 'int', publishers: 'int', size: 'int', duration: 'number', window: 'int', json: 'boolean' } as const

/** Latency samples kept (8 bytes each); past it samples are taken with a stride so memory stays bounded. */
const MAX_SAMPLES = 2_000_000

export interface BenchResult {
  subscribers: number
  publishers: number
  size: number
  duration_s: number
  window: number
  published: number
  publishes_per_s: number
  delivered: number
  deliveries_per_s: number
  latency_ms: Percentiles
  /** Messages some subscriber did not receive (expected published × subscribers). */
  lost: number
  /** Events out of seq order or seen twice. */
  out_of_order: number
  zero_loss: boolean
}

export async function benchCommand(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const { flags, positionals } = parseArgs(argv, SPEC)
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`)
  const options = {
    subscribers: flags.subscribers ?? 10,
    publishers: flags.publishers ?? 1,
    size: flags.size ?? 128,
    durationS: flags.duration ?? 5,
    window: flags.window ?? 100,
  }
  if (options.publishers < 1) throw new UsageError('--publishers must be at least 1')
  if (options.size < 32) throw new UsageError('--size must be at least 32 (the payload carries a timestamp)')
  if (options.durationS <= 0) throw new UsageError('--duration must be more than 0')
  if (options.window < 1) throw new UsageError('--window must be at least 1')
  const result = await runBench(connectionOf(flags, env), options, !flags.json)
  if (flags.json) await writeLine(JSON.stringify(result))
  else await writeLine(formatResult(result))
  return result.zero_loss ? EXIT_OK : EXIT_SERVER
}

interface Receiver {
  count: number
  lastSeq: number
  outOfOrder: number
}

async function runBench(conn: Connection, o: { subscribers: number; publishers: number; size: number; durationS: number; window: number }, human: boolean): Promise<BenchResult> {
  const topic = `bench-${crypto.randomUUID().slice(0, 8)}`
  await restCall(conn, 'POST', '/topics', { name: topic })
  const clients: HeraldClient[] = []
  const open = async () => {
    const c = clientOf(conn, { reconnect: false, requestTimeoutMs: 30_000 })
    clients.push(c)
    await c.connect()
    return c
  }
  try {
    let sampleBuf = new Float64Array(1 << 16)
    let sampled = 0
    let seen = 0
    let stride = 1
    const receivers: Receiver[] = []
    const subClients = await Promise.all(Array.from({ length: o.subscribers }, open))
    await Promise.all(
      subClients.map(async (c) => {
        const r: Receiver = { count: 0, lastSeq: 0, outOfOrder: 0 }
        receivers.push(r)
        const sub = c.subscribe(topic)
        sub.on('event', (e: EventFrame) => {
          r.count++
          if (e.seq !== r.lastSeq + 1) r.outOfOrder++
          r.lastSeq = e.seq
          if (seen++ % stride !== 0) return
          const sentAt = (e.message.payload as { t: number }).t
          if (sampled === sampleBuf.length) {
            if (sampleBuf.length < MAX_SAMPLES) {
              const bigger = new Float64Array(Math.min(MAX_SAMPLES, sampleBuf.length * 2))
              bigger.set(sampleBuf)
              sampleBuf = bigger
            } else {
              // Keep every other sample and take half as many from now on.
              for (let i = 0; i < sampled / 2; i++) sampleBuf[i] = sampleBuf[2 * i]!
              sampled = Math.floor(sampled / 2)
              stride *= 2
            }
          }
          sampleBuf[sampled++] = performance.timeOrigin + performance.now() - sentAt
        })
        await sub.ready
      }),
    )
    const pubClients = await Promise.all(Array.from({ length: o.publishers }, open))
    // The payload: a send timestamp padded to --size bytes of JSON.
    const pad = 'x'.repeat(Math.max(0, o.size - 30))
    let published = 0
    let running = true
    const started = performance.now()
    const deadline = started + o.durationS * 1000
    const progress = setInterval(() => {
      const s = (performance.now() - started) / 1000
      const delivered = receivers.reduce((n, r) => n + r.count, 0)
      const line = `[${s.toFixed(0)} s] published ${published} (${Math.round(published / s)}/s), delivered ${delivered} (${Math.round(delivered / s)}/s)`
      process.stderr.write(human && process.stderr.isTTY ? `\r${line}   ` : `${line}\n`)
    }, 1000)
    try {
      await Promise.all(
        pubClients.flatMap((c) =>
          Array.from({ length: o.window }, async () => {
            while (running && performance.now() < deadline) {
              await c.publish(topic, { t: performance.timeOrigin + performance.now(), pad })
              published++
            }
            running = false
          }),
        ),
      )
      const publishSeconds = (performance.now() - started) / 1000
      // Drain: every acknowledged message must reach every subscriber; give up after 10 s of no progress.
      let last = -1
      let idleSince = performance.now()
      for (;;) {
        const delivered = receivers.reduce((n, r) => n + r.count, 0)
        if (delivered >= published * o.subscribers) break
        if (delivered !== last) {
          last = delivered
          idleSince = performance.now()
        } else if (performance.now() - idleSince > 10_000) break
        await Bun.sleep(20)
      }
      const deliverSeconds = (performance.now() - started) / 1000
      const delivered = receivers.reduce((n, r) => n + r.count, 0)
      const lost = receivers.reduce((n, r) => n + Math.max(0, published - r.count), 0)
      const outOfOrder = receivers.reduce((n, r) => n + r.outOfOrder, 0)
      return {
        subscribers: o.subscribers,
        publishers: o.publishers,
        size: o.size,
        duration_s: Number(publishSeconds.toFixed(3)),
        window: o.window,
        published,
        publishes_per_s: Math.round(published / publishSeconds),
        delivered,
        deliveries_per_s: Math.round(delivered / deliverSeconds),
        latency_ms: percentiles(sampleBuf.subarray(0, sampled)),
        lost,
        out_of_order: outOfOrder,
        zero_loss: lost === 0 && outOfOrder === 0,
      }
    } finally {
      clearInterval(progress)
      if (human && process.stderr.isTTY) process.stderr.write('\n')
    }
  } finally {
    for (const c of clients) c.close()
    await restCall(conn, 'DELETE', `/topics/${topic}`).catch(() => {})
  }
}

function formatResult(r: BenchResult): string {
  const l = r.latency_ms
  const ms = (x: number | null) => (x === null ? '-' : x.toFixed(3))
  return [
    `herald bench: ${r.subscribers} subscriber(s), ${r.publishers} publisher(s) with ${r.window} in flight each, ${r.size}-byte payloads, ${r.duration_s} s`,
    `publishes:  ${r.published} acknowledged, ${r.publishes_per_s} msg/s`,
    `deliveries: ${r.delivered}, ${r.deliveries_per_s} msg/s`,
    `latency ms (publish → delivery, ${l.count} samples): min ${ms(l.min)}  p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  p99.9 ${ms(l.p99_9)}  max ${ms(l.max)}`,
    r.zero_loss ? 'zero loss: yes (every subscriber got every acknowledged message, in order)' : `zero loss: NO (${r.lost} missing, ${r.out_of_order} out of order)`,
  ].join('\n')
}
