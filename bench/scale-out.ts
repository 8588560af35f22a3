/**
 * The Redis engine's figures beside the memory engine's, in one run:
 *
 * - fan-out: one publisher on instance A, subscribers spread over three
 *   instances on one Redis (ENGINE=redis), against the same subscribers on
 *   one ENGINE=memory instance and on one ENGINE=redis instance; deliveries/s with a bounded window of
 *   messages in flight, and loss (must be 0);
 * - latency: a fixed publish rate to many subscribers, publish-to-receive
 *   p50/p99 (probe clients on every instance);
 * - acked publishes/s: one publisher connection that keeps `window` publishes
 *   in flight (pipelining) and one that waits for each ack (window 1).
 *
 * Reports server CPU (all instances) and Redis CPU. Each herald instance and
 * the redis-server (no persistence) run in processes of their own on this
 * machine, with the load generator. Targets (issue 9): ≥ 20,000 acked
 * publishes/s through Redis; latency p50 at 200 msg/s × 1,000 subscribers at
 * most 2 ms above the memory engine.
 *
 *   bun run bench/scale-out.ts [--quick] [--only fanout,latency,acked]
 */
import { clientTextFrame, openMany, RawClient } from './lib/raw-client'
import { cpuSeconds, round, type ServerHandle, startServer } from './lib/server-process'
import { startRedis, uniquePrefix } from '../test/helpers/redis-server'

const quick = process.argv.includes('--quick')
const onlyAt = process.argv.indexOf('--only')
/** --only acked,fanout: scenarios whose label starts with one of these. */
const only = onlyAt === -1 ? [] : (process.argv[onlyAt + 1] ?? '').split(',').filter(Boolean)
const MESSAGE_ID = '7b0a9c2e-4d1f-4a57-9b3e-2f6c8d1e0a11'
const PAD = 'x'.repeat(84)
const publishText = (topic: string, payload: unknown) => JSON.stringify({ type: 'publish', topic, message: { id: MESSAGE_ID, payload } })
const subscribeText = (topic: string, clientId: string) => JSON.stringify({ type: 'subscribe', topic, client_id: clientId })

interface Setup {
  name: string
  servers: ServerHandle[]
  redisPid?: number
}

/** CPU seconds of a set of processes. */
const cpuOf = (pids: number[]) => pids.reduce((a, pid) => a + cpuSeconds(pid), 0)

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

async function subscribers(setup: Setup, topic: string, n: number, onText?: (i: number) => ((payload: Buffer) => void) | undefined): Promise<RawClient[]> {
  const subs = await openMany(n, (i) => ({ port: setup.servers[i % setup.servers.length]!.port, onText: onText?.(i) }))
  await Promise.all(subs.map((s, i) => s.request([subscribeText(topic, `s${i}`)], 1)))
  return subs
}

async function fanout(setup: Setup, n: number, ms: number, window: number) {
  const topic = uniquePrefix('f').replaceAll(':', '.')
  await setup.servers[0]!.createTopics([topic])
  const subs = await subscribers(setup, topic, n)
  const pub = await RawClient.open({ port: setup.servers[0]!.port })
  const batch = 20
  const frame = Buffer.concat(Array.from({ length: batch }, () => clientTextFrame(publishText(topic, { data: PAD }))))
  const pids = setup.servers.map((s) => s.pid)
  const cpu0 = cpuOf(pids)
  const redis0 = setup.redisPid ? cpuSeconds(setup.redisPid) : 0
  let published = 0
  const t0 = performance.now()
  const minReceived = () => subs.reduce((m, s) => Math.min(m, s.texts - 1), Infinity)
  while (performance.now() - t0 < ms) {
    while (published - minReceived() < window && published - (pub.texts) < window) {
      pub.write(frame)
      published += batch
    }
    await Bun.sleep(1)
  }
  const deadline = performance.now() + 15_000
  while (minReceived() < published && performance.now() < deadline) await Bun.sleep(2)
  const seconds = (performance.now() - t0) / 1000
  await Bun.sleep(100)
  const lost = subs.reduce((a, s) => a + Math.max(0, published - (s.texts - 1)), 0)
  const extra = subs.reduce((a, s) => a + Math.max(0, s.texts - 1 - published), 0)
  for (const s of [...subs, pub]) s.close()
  return {
    deliveries_per_s: round((n * published) / seconds),
    messages: published,
    lost,
    extra,
    herald_cpu_pct: round((100 * (cpuOf(pids) - cpu0)) / seconds, 1),
    redis_cpu_pct: setup.redisPid ? round((100 * (cpuSeconds(setup.redisPid) - redis0)) / seconds, 1) : 0,
  }
}

async function latency(setup: Setup, rate: number, n: number, ms: number) {
  const topic = uniquePrefix('l').replaceAll(':', '.')
  await setup.servers[0]!.createTopics([topic])
  const samples: number[] = []
  let measuring = false
  const probe = (payload: Buffer) => {
    const now = performance.now()
    if (!measuring) return
    const t = (JSON.parse(payload.toString()) as { message?: { payload?: { t?: number } } }).message?.payload?.t
    if (typeof t === 'number') samples.push(now - t)
  }
  // Two probes per instance: the first 2 × instances subscribers, spread round-robin.
  const subs = await subscribers(setup, topic, n, (i) => (i < 2 * setup.servers.length ? probe : undefined))
  const pub = await RawClient.open({ port: setup.servers[0]!.port })
  const pids = setup.servers.map((s) => s.pid)
  const cpu0 = cpuOf(pids)
  const redis0 = setup.redisPid ? cpuSeconds(setup.redisPid) : 0
  let sent = 0
  const t0 = performance.now()
  const ticker = setInterval(() => {
    const now = performance.now()
    measuring = now >= t0 + ms * 0.1
    const due = Math.min(Math.floor(((now - t0) * rate) / 1000), Math.floor((ms * rate) / 1000))
    const frames: Buffer[] = []
    for (; sent < due; sent++) frames.push(clientTextFrame(publishText(topic, { t: performance.now(), pad: PAD.slice(0, 64) })))
    if (frames.length) pub.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames))
  }, 1)
  await Bun.sleep(ms)
  clearInterval(ticker)
  const seconds = (performance.now() - t0) / 1000
  const herald = round((100 * (cpuOf(pids) - cpu0)) / seconds, 1)
  const redis = setup.redisPid ? round((100 * (cpuSeconds(setup.redisPid) - redis0)) / seconds, 1) : 0
  const deadline = performance.now() + 10_000
  while (subs.some((s) => s.texts - 1 < sent) && performance.now() < deadline) await Bun.sleep(5)
  const lost = subs.reduce((a, s) => a + Math.max(0, sent - (s.texts - 1)), 0)
  for (const s of [...subs, pub]) s.close()
  const sorted = Float64Array.from(samples).sort()
  return { p50_ms: round(percentile(sorted, 0.5), 3), p99_ms: round(percentile(sorted, 0.99), 3), max_ms: round(sorted.at(-1) ?? NaN, 3), messages: sent, lost, herald_cpu_pct: herald, redis_cpu_pct: redis }
}

async function acked(setup: Setup, window: number, ms: number) {
  const topic = uniquePrefix('a').replaceAll(':', '.')
  await setup.servers[0]!.createTopics([topic])
  const pub = await RawClient.open({ port: setup.servers[0]!.port })
  const frame = clientTextFrame(publishText(topic, { data: PAD }))
  const pids = setup.servers.map((s) => s.pid)
  const cpu0 = cpuOf(pids)
  const redis0 = setup.redisPid ? cpuSeconds(setup.redisPid) : 0
  let sent = 0
  const t0 = performance.now()
  const text = publishText(topic, { data: PAD })
  while (performance.now() - t0 < ms) {
    if (window === 1) {
      await pub.request([text], 1) // one at a time: each waits for its ack
      sent++
      continue
    }
    const room = window - (sent - pub.texts)
    if (room > 0) {
      pub.write(room === 1 ? frame : Buffer.concat(Array.from({ length: room }, () => frame)))
      sent += room
    }
    await Bun.sleep(1)
  }
  const deadline = performance.now() + 10_000
  while (pub.texts < sent && performance.now() < deadline) await Bun.sleep(1)
  const seconds = (performance.now() - t0) / 1000
  const acks = pub.texts
  pub.close()
  return {
    acked_per_s: round(acks / seconds),
    herald_cpu_pct: round((100 * (cpuOf(pids) - cpu0)) / seconds, 1),
    redis_cpu_pct: setup.redisPid ? round((100 * (cpuSeconds(setup.redisPid) - redis0)) / seconds, 1) : 0,
  }
}

const ENV = { HEARTBEAT_INTERVAL_MS: '3600000', MAX_FRAMES_IN_FLIGHT: '5000' }
await using redis = await startRedis()
const prefix = uniquePrefix('bench')
const memory: Setup = { name: 'memory, 1 instance', servers: [await startServer('project', { ...ENV, ENGINE: 'memory' })] }
const cluster: Setup = {
  name: 'redis, 3 instances',
  servers: await Promise.all(['a', 'b', 'c'].map((id) => startServer('project', { ...ENV, ENGINE: 'redis', REDIS_URL: redis.url, REDIS_PREFIX: prefix, INSTANCE_ID: id }))),
  redisPid: redis.pid(),
}
// One instance on Redis too: separates the cost of the Redis hop from that of three processes sharing the cores.
const single: Setup = {
  name: 'redis, 1 instance',
  servers: [await startServer('project', { ...ENV, ENGINE: 'redis', REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix('bench1'), INSTANCE_ID: 'solo' })],
  redisPid: redis.pid(),
}
const D = quick ? 1500 : 4000
const rows: Array<[string, string, Record<string, number>]> = []
try {
  for (const [label, run] of [
    [`fanout 300 subscribers, window 200`, (s: Setup) => fanout(s, 300, D, 200)],
    [`fanout 1000 subscribers, window 100`, (s: Setup) => fanout(s, 1000, D, 100)],
    [`latency 200 msg/s × 1000 subscribers`, (s: Setup) => latency(s, 200, 1000, D + 1000)],
    // The same with few subscribers: the load generator's own delay (1,000 sockets in this process) out of the way.
    [`latency 200 msg/s × 50 subscribers`, (s: Setup) => latency(s, 200, 50, D + 1000)],
    [`acked publishes, window 1000`, (s: Setup) => acked(s, 1000, D)],
    [`acked publishes, window 1`, (s: Setup) => acked(s, 1, D)],
  ] as const) {
    if (only.length > 0 && !only.some((o) => label.startsWith(o))) continue
    // Memory and Redis back to back, for each scenario, so both see the same background load.
    for (const setup of [memory, single, cluster]) {
      const r = await run(setup)
      rows.push([label, setup.name, r])
      console.log(JSON.stringify({ scenario: label, setup: setup.name, ...r }))
    }
  }
} finally {
  for (const s of [...memory.servers, ...single.servers, ...cluster.servers]) await s.stop()
}
console.log(`\n# bench/scale-out.ts${quick ? ' --quick' : ''}: ${D} ms per run, one run each, bun ${Bun.version}, 3 herald processes + redis-server (no persistence) + the load generator on this machine`)
for (const [label, setup, r] of rows) console.log(`| ${label} | ${setup} | ${Object.entries(r).map(([k, v]) => `${k}=${v}`).join(' ')} |`)
process.exit(0)
