/**
 * The benchmark scenarios. Each `run` starts a fresh server of the given
 * target (herald or the native reference) in its own process, drives it from
 * this process with raw TCP clients, stops it, and returns flat metrics.
 * Every loop is bounded in count and time.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { clientTextFrame, openMany, RawClient } from './lib/raw-client'
import { CpuMeter, ROOT, round, rssBytes, settledRssBytes, startServer, type ServerHandle, type Target, waitListening } from './lib/server-process'

export type Metrics = Record<string, number>

export interface MetricSpec {
  key: string
  label: string
  /** Which direction is better, for the reader. */
  better: 'higher' | 'lower' | 'info'
}

export interface Scenario {
  name: string
  params: Record<string, number | string>
  metrics: MetricSpec[]
  run(target: Target): Promise<Metrics>
  /** Metrics computed from the medians of the runs (a ratio of medians is steadier than a median of ratios). */
  derive?(medians: Metrics): Metrics
}

const MESSAGE_ID = '7b0a9c2e-4d1f-4a57-9b3e-2f6c8d1e0a11'
/** ~100 bytes of payload: the event frame on the wire is then ~230 bytes, as in issue 3's measurements. */
const PAYLOAD = { data: 'x'.repeat(84) }
const publishText = (topic: string, payload: unknown = PAYLOAD) => JSON.stringify({ type: 'publish', topic, message: { id: MESSAGE_ID, payload } })
const subscribeText = (topic: string, clientId: string) => JSON.stringify({ type: 'subscribe', topic, client_id: clientId })

/**
 * The environment that selects herald's engine for one run: ENGINE=sqlite gets
 * a fresh database file in a new temp dir (the reference server ignores both).
 */
export function engineEnv(engine: 'memory' | 'sqlite' = 'memory'): Record<string, string> {
  if (engine === 'memory') return {}
  return { ENGINE: 'sqlite', SQLITE_PATH: join(mkdtempSync(join(tmpdir(), 'herald-bench-')), 'herald.db') }
}

async function withServer<T>(target: Target, env: Record<string, string>, fn: (server: ServerHandle) => Promise<T>): Promise<T> {
  const server = await startServer(target, env)
  try {
    return await fn(server)
  } finally {
    await server.stop()
  }
}

/** Calls `fn` at most once per event-loop turn however often `request` is called. */
function coalesced(fn: () => void): () => void {
  let queued = false
  const run = () => {
    queued = false
    fn()
  }
  return () => {
    if (queued) return
    queued = true
    setImmediate(run)
  }
}

const closeAll = (clients: (RawClient | undefined)[]) => {
  for (const c of clients) c?.close()
}

// ---------------------------------------------------------------- fanout / slow

export interface FanoutOptions {
  subscribers: number
  durationMs: number
  /**
   * Most messages in flight: published but not yet received by the slowest
   * healthy subscriber, and (per publisher, its share of the window) not yet
   * acknowledged. 1 is a request/response publisher that waits for each ack.
   */
  window: number
  /** Publishers sharing the load, each on its own connection (default 1). Each keeps at most ceil(window / publishers) in flight. */
  publishers?: number
  /** Publish frames written per write (default: min(50, max(1, window / 4))). */
  batch?: number
  /** Add one subscriber that completes the handshake, subscribes, and never reads again. */
  stalled?: boolean
  /** The topic (created here; default 'fanout'). */
  topic?: string
}

/**
 * One topic, N counting subscribers, one publisher writing prebuilt publish
 * frames in batches while it is less than `window` messages ahead of the
 * slowest subscriber. After `durationMs` it stops; the run ends when every
 * subscriber has received exactly what was published (zero loss is checked).
 */
export async function fanoutRun(server: ServerHandle, o: FanoutOptions): Promise<Metrics> {
  const topic = o.topic ?? 'fanout'
  await server.createTopics([topic])
  const n = o.subscribers
  let target = Infinity
  let finished = 0
  let tEnd = 0
  const done = new Uint8Array(n)
  const allDone = Promise.withResolvers<void>()
  let pump = () => {}
  const kick = coalesced(() => pump())
  const onData = (c: RawClient) => {
    if (c.tag >= 0 && done[c.tag] === 0 && c.texts - 1 >= target) {
      done[c.tag] = 1
      if (++finished === n) {
        tEnd = performance.now()
        allDone.resolve()
      }
    }
    kick()
  }
  const subs = await openMany(n, () => ({ port: server.port, onData }))
  await Promise.all(subs.map((s, i) => s.request([subscribeText(topic, `s${i}`)], 1)))
  let stalled: RawClient | undefined
  if (o.stalled) stalled = await stallOne(server, topic)
  const pubs = await openMany(o.publishers ?? 1, () => ({ port: server.port, onData: () => kick() }))
  for (const p of pubs) p.tag = -1
  const share = Math.ceil(o.window / pubs.length)
  const batchSize = Math.min(share, o.batch ?? Math.max(1, Math.min(50, Math.floor(o.window / 4))))
  const batch = Buffer.concat(Array.from({ length: batchSize }, () => clientTextFrame(publishText(topic))))
  const sent = new Array<number>(pubs.length).fill(0)

  await Bun.sleep(50)
  const rssBefore = rssBytes(server.pid)
  let rssMid = NaN
  let published = 0
  let stopping = false
  const t0 = performance.now()
  const stopAt = t0 + o.durationMs
  const meter = new CpuMeter(server.pid)
  const minReceived = () => {
    let m = Infinity
    for (const s of subs) if (s.texts - 1 < m) m = s.texts - 1
    return m
  }
  const stop = () => {
    stopping = true
    target = published
    for (const s of subs) if (done[s.tag] === 0 && s.texts - 1 >= target) done[s.tag] = 1, finished++
    if (finished === n) {
      tEnd = performance.now()
      allDone.resolve()
    }
  }
  pump = () => {
    if (stopping) return
    const now = performance.now()
    if (now >= stopAt) return stop()
    if (Number.isNaN(rssMid) && now >= t0 + o.durationMs / 2) rssMid = rssBytes(server.pid)
    let room = o.window - (published - minReceived())
    for (let i = 0; i < pubs.length && room >= batchSize; i++) {
      const pub = pubs[i]!
      while (room >= batchSize && pub.queued === 0 && share - (sent[i]! - pub.texts) >= batchSize) {
        pub.write(batch)
        sent[i]! += batchSize
        published += batchSize
        room -= batchSize
      }
    }
  }
  const ticker = setInterval(pump, 5)
  pump()
  try {
    await Promise.race([allDone.promise, Bun.sleep(o.durationMs + 15_000).then(() => stop())])
    clearInterval(ticker)
    const cpu = meter.read()
    await Bun.sleep(100) // anything extra (a duplicate) would arrive now
    let lost = 0
    let extra = 0
    for (const s of subs) {
      const got = s.texts - 1
      if (got < published) lost += published - got
      else extra += got - published
    }
    const seconds = ((tEnd || performance.now()) - t0) / 1000
    const rate = (n * published) / seconds
    return {
      deliveries_per_s: round(rate),
      deliveries_per_cpu_s: round(rate / (cpu.serverCpu / 100)),
      // CPU-seconds of the server process per million deliveries: independent of how busy the load generator is.
      server_cpu_s_per_m_deliveries: round((cpu.serverCpu / 100) * cpu.seconds / ((n * published) / 1e6), 4),
      // Of that, what the JIT compiler threads took (a fresh server compiles its hot code during the run).
      server_jit_cpu_s_per_m_deliveries: round((cpu.serverJitCpu / 100) * cpu.seconds / ((n * published) / 1e6), 4),
      messages: published,
      lost,
      extra,
      server_cpu_pct: cpu.serverCpu,
      loadgen_cpu_pct: cpu.loadgenCpu,
      rss_before_mib: round(rssBefore / 2 ** 20, 1),
      rss_mid_mib: round(rssMid / 2 ** 20, 1),
      rss_after_mib: round(rssBytes(server.pid) / 2 ** 20, 1),
    }
  } finally {
    clearInterval(ticker)
    closeAll([...subs, ...pubs, stalled])
  }
}

/**
 * Opens the stalled subscriber: it subscribes to `topic` and to a filler
 * topic, stops reading, and then the filler topic gets ~80 MB of 64 KB
 * messages, which fills every buffer on the way (the kernel's send and
 * receive buffers, Bun's buffer, herald's queue) before the measured run
 * starts. Without this the kernel would absorb the first tens of MB and the
 * "stalled" subscriber would be a healthy one for most of a short run.
 */
async function stallOne(server: ServerHandle, topic: string): Promise<RawClient> {
  const filler = 'filler'
  await server.createTopics([filler])
  const stalled = await RawClient.open({ port: server.port })
  stalled.tag = -1
  await stalled.request([subscribeText(topic, 'stalled'), subscribeText(filler, 'stalled')], 2)
  stalled.pause()
  const pub = await RawClient.open({ port: server.port })
  const frame = clientTextFrame(publishText(filler, { data: 'x'.repeat(64_000) }))
  const total = 1250
  const window = 16
  let sent = 0
  while (sent < total) {
    while (sent < total && sent - pub.texts < window) {
      pub.write(frame)
      sent++
    }
    await pub.waitFor(() => sent - pub.texts < window || pub.texts >= total, 10_000, 'filler acks')
  }
  pub.close()
  await Bun.sleep(100)
  return stalled
}

export interface FanoutScenarioOptions {
  /** Messages in flight (see FanoutOptions.window). Default: 200,000 / N, within 64 … 1,000. */
  window?: number
  /** Publishers sharing the load (default 1). */
  publishers?: number
  /** Publish frames per write (see FanoutOptions.batch). */
  batch?: number
  /** herald's engine (default memory); the name gets _sqlite. */
  engine?: 'memory' | 'sqlite'
}

/** Fan-out to N subscribers. The name carries the window and publishers when given: fanout_1000_w64_p10. */
export function fanout(subscribers: number, durationMs: number, options: FanoutScenarioOptions = {}): Scenario {
  const window = options.window ?? Math.max(64, Math.min(1000, Math.floor(200_000 / subscribers)))
  const publishers = options.publishers ?? 1
  const suffix = (options.window !== undefined ? `_w${window}` : '') + (publishers > 1 ? `_p${publishers}` : '') + (options.engine === 'sqlite' ? '_sqlite' : '')
  return {
    name: `fanout_${subscribers}${suffix}`,
    params: { subscribers, duration_ms: durationMs, window, publishers, ...(options.batch !== undefined ? { batch: options.batch } : {}), engine: options.engine ?? 'memory', ...(warmupMs() > 0 ? { warmup_ms: warmupMs() } : {}) },
    metrics: [
      { key: 'deliveries_per_s', label: 'deliveries/s', better: 'higher' },
      { key: 'deliveries_per_cpu_s', label: 'deliveries per server CPU-second', better: 'higher' },
      { key: 'server_cpu_s_per_m_deliveries', label: 'server CPU-s per million deliveries', better: 'lower' },
      { key: 'server_jit_cpu_s_per_m_deliveries', label: 'of which its JIT compiler threads', better: 'info' },
      { key: 'lost', label: 'lost (must be 0)', better: 'lower' },
      { key: 'server_cpu_pct', label: 'server CPU %', better: 'info' },
      { key: 'loadgen_cpu_pct', label: 'load generator CPU %', better: 'info' },
      { key: 'rss_after_mib', label: 'server RSS after (MiB)', better: 'info' },
    ],
    run: (target) =>
      withServer(target, engineEnv(options.engine), async (server) => {
        const run = { subscribers, durationMs, window, publishers, batch: options.batch }
        // The warm-up: first the same load for that long on another topic, with its own subscribers, not
        // measured (the JIT compiles while it runs). Without it the run measures a fresh server, JIT included.
        if (warmupMs() > 0) await fanoutRun(server, { ...run, durationMs: warmupMs(), topic: 'warmup' })
        return fanoutRun(server, run)
      }),
  }
}

/** The fan-out warm-up: BENCH_WARMUP_MS (`--warmup MS`), read at each use (run.ts sets it from the flag). Default 0. */
const warmupMs = () => Number(process.env.BENCH_WARMUP_MS ?? 0)

/** The fanout run without and with one stalled subscriber (A-B-B-A), each on a fresh server. */
export function slow(subscribers: number, durationMs: number, queueSize = 100): Scenario {
  const window = Math.max(64, Math.min(1000, Math.floor(200_000 / subscribers)))
  return {
    name: `slow_${subscribers}`,
    params: { subscribers, duration_ms: durationMs, window, queue_size: queueSize },
    metrics: [
      { key: 'healthy_deliveries_per_s', label: 'healthy deliveries/s (1 stalled)', better: 'higher' },
      { key: 'baseline_deliveries_per_s', label: 'deliveries/s without the stalled one', better: 'higher' },
      { key: 'healthy_vs_baseline', label: 'healthy / without (medians; target ≥ 0.95)', better: 'higher' },
      { key: 'healthy_vs_baseline_cpu', label: 'same, per server CPU-second', better: 'higher' },
      { key: 'lost', label: 'healthy lost (must be 0)', better: 'lower' },
      { key: 'rss_before_mib', label: 'server RSS before (MiB)', better: 'info' },
      { key: 'rss_mid_mib', label: 'server RSS mid-run (MiB)', better: 'info' },
      { key: 'rss_after_mib', label: 'server RSS after (MiB)', better: 'info' },
    ],
    async run(target) {
      const env = { QUEUE_SIZE: String(queueSize) }
      // A-B-B-A order (without, with, with, without) cancels a steady drift of the machine's background load.
      const run = (stalled: boolean) => withServer(target, env, (s) => fanoutRun(s, { subscribers, durationMs, window, stalled }))
      const base1 = await run(false)
      const stalled1 = await run(true)
      const stalled2 = await run(true)
      const base2 = await run(false)
      const mean = (a: Metrics, b: Metrics, k: string) => (a[k]! + b[k]!) / 2
      const healthy = mean(stalled1, stalled2, 'deliveries_per_s')
      const baseline = mean(base1, base2, 'deliveries_per_s')
      return {
        healthy_deliveries_per_s: round(healthy),
        baseline_deliveries_per_s: round(baseline),
        healthy_vs_baseline: round(healthy / baseline, 3),
        healthy_per_cpu_s: round(mean(stalled1, stalled2, 'deliveries_per_cpu_s')),
        baseline_per_cpu_s: round(mean(base1, base2, 'deliveries_per_cpu_s')),
        lost: base1.lost! + stalled1.lost! + stalled2.lost! + base2.lost!,
        extra: base1.extra! + stalled1.extra! + stalled2.extra! + base2.extra!,
        messages: stalled2.messages!,
        rss_before_mib: stalled2.rss_before_mib!,
        rss_mid_mib: stalled2.rss_mid_mib!,
        rss_after_mib: stalled2.rss_after_mib!,
      }
    },
    derive: (m) => ({
      healthy_vs_baseline: round(m.healthy_deliveries_per_s! / m.baseline_deliveries_per_s!, 3),
      healthy_vs_baseline_cpu: round(m.healthy_per_cpu_s! / m.baseline_per_cpu_s!, 3),
    }),
  }
}

// ---------------------------------------------------------------- topics

/**
 * T topics × S subscribers each, over C connections (each connection
 * subscribes to T·S/C consecutive topics); P publishers, publisher p owning
 * the topics t ≡ p (mod P) and publishing to each of them once per cycle.
 */
export function topics(t: number, s: number, c: number, p: number, durationMs: number, window = 10_000): Scenario {
  return {
    name: `topics_${t}x${s}`,
    params: { topics: t, subscribers_per_topic: s, connections: c, publishers: p, duration_ms: durationMs, window_deliveries: window },
    metrics: [
      { key: 'deliveries_per_s', label: 'deliveries/s', better: 'higher' },
      { key: 'lost', label: 'lost (must be 0)', better: 'lower' },
      { key: 'server_cpu_pct', label: 'server CPU %', better: 'info' },
      { key: 'loadgen_cpu_pct', label: 'load generator CPU %', better: 'info' },
    ],
    run: (target) =>
      withServer(target, {}, async (server) => {
        const names = Array.from({ length: t }, (_, i) => `t${i}`)
        await server.createTopics(names)
        const perConn = (t * s) / c
        if (!Number.isInteger(perConn)) throw new Error('topics × subscribers must be a multiple of connections')
        const topicsOf = (conn: number) => Array.from({ length: perConn }, (_, k) => (conn * perConn + k) % t)
        let received = 0
        let pump = () => {}
        const kick = coalesced(() => pump())
        const onData = () => kick()
        const subs = await openMany(c, () => ({ port: server.port, onData }))
        await Promise.all(subs.map((sub, i) => sub.request(topicsOf(i).map((k) => subscribeText(names[k]!, `c${i}`)), perConn)))
        const pubs = await openMany(p, () => ({ port: server.port, onData }))
        const owned = pubs.map((_, j) => names.filter((_, k) => k % p === j))
        const cycles = new Array<number>(p).fill(0)
        const cycleBytes = owned.map((list) => Buffer.concat(list.map((name) => clientTextFrame(publishText(name)))))
        const perCycleDeliveries = owned.map((list) => list.length * s)
        const sent = () => cycles.reduce((sum, cy, j) => sum + cy * owned[j]!.length, 0)
        const expectedDeliveries = () => cycles.reduce((sum, cy, j) => sum + cy * perCycleDeliveries[j]!, 0)
        const ackBase = pubs.map((x) => x.texts)
        let stopping = false
        const finished = Promise.withResolvers<void>()
        let tEnd = 0
        const t0 = performance.now()
        const meter = new CpuMeter(server.pid)
        const totalReceived = () => {
          let sum = 0
          for (const sub of subs) sum += sub.texts - perConn
          return sum
        }
        pump = () => {
          received = totalReceived()
          if (stopping) {
            if (received >= expectedDeliveries() && tEnd === 0) {
              tEnd = performance.now()
              finished.resolve()
            }
            return
          }
          if (performance.now() >= t0 + durationMs) {
            stopping = true
            return pump()
          }
          for (let j = 0; j < p; j++) {
            const pub = pubs[j]!
            const unacked = cycles[j]! * owned[j]!.length - (pub.texts - ackBase[j]!)
            if (pub.queued > 0 || unacked > 2000) continue
            if (expectedDeliveries() - received + perCycleDeliveries[j]! > window) break
            pub.write(cycleBytes[j]!)
            cycles[j]!++
          }
        }
        const ticker = setInterval(pump, 5)
        pump()
        try {
          await Promise.race([finished.promise, Bun.sleep(durationMs + 15_000)])
          clearInterval(ticker)
          const cpu = meter.read()
          await Bun.sleep(100)
          let lost = 0
          let extra = 0
          subs.forEach((sub, i) => {
            const want = topicsOf(i).reduce((sum, k) => sum + cycles[k % p]!, 0)
            const got = sub.texts - perConn
            if (got < want) lost += want - got
            else extra += got - want
          })
          const total = expectedDeliveries()
          return {
            deliveries_per_s: round(total / (((tEnd || performance.now()) - t0) / 1000)),
            messages: sent(),
            lost,
            extra,
            server_cpu_pct: cpu.serverCpu,
            loadgen_cpu_pct: cpu.loadgenCpu,
          }
        } finally {
          clearInterval(ticker)
          closeAll([...subs, ...pubs])
        }
      }),
  }
}

// ---------------------------------------------------------------- latency

const percentile = (sorted: Float64Array, q: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!)

/**
 * A fixed publish rate to N subscribers, of which `probes` parse each event's
 * payload for the publisher's send time (performance.now() of this process).
 * Samples from the first 10% of the run are discarded (warm-up).
 */
export function latency(rate: number, subscribers: number, durationMs: number, probes = 5): Scenario {
  return {
    name: `latency_${rate}`,
    params: { rate_per_s: rate, subscribers, probes, duration_ms: durationMs },
    metrics: [
      { key: 'p50_ms', label: 'p50 ms', better: 'lower' },
      { key: 'p90_ms', label: 'p90 ms', better: 'lower' },
      { key: 'p99_ms', label: 'p99 ms', better: 'lower' },
      { key: 'p999_ms', label: 'p99.9 ms', better: 'lower' },
      { key: 'max_ms', label: 'max ms', better: 'lower' },
      { key: 'lost', label: 'lost (must be 0)', better: 'lower' },
      { key: 'server_cpu_pct', label: 'server CPU %', better: 'info' },
    ],
    run: (target) =>
      withServer(target, {}, async (server) => {
        const topic = 'latency'
        await server.createTopics([topic])
        const samples: number[] = []
        let measuring = false
        const onText = (payload: Buffer) => {
          const now = performance.now()
          if (!measuring) return
          const frame = JSON.parse(payload.toString()) as { type: string; message?: { payload?: { t?: number } } }
          const t = frame.message?.payload?.t
          if (frame.type === 'event' && typeof t === 'number') samples.push(now - t)
        }
        // Probes spread over the subscription order (first, then every subscribers/probes-th): a server that writes
        // its subscribers in subscription order would otherwise serve the probes first and look faster than it is.
        const every = Math.max(1, Math.floor(subscribers / probes))
        const isProbe = (i: number) => i % every === 0 && i / every < probes
        const subs = await openMany(subscribers, (i) => ({ port: server.port, onText: isProbe(i) ? onText : undefined }))
        // One subscribe at a time, so that the subscription order is the index order.
        for (const [i, s] of subs.entries()) await s.request([subscribeText(topic, `l${i}`)], 1)
        const pub = await RawClient.open({ port: server.port })
        await Bun.sleep(50)
        let sent = 0
        const t0 = performance.now()
        const meter = new CpuMeter(server.pid)
        const pad = 'x'.repeat(64)
        const tick = () => {
          const now = performance.now()
          measuring = now >= t0 + durationMs * 0.1
          const due = Math.min(Math.floor(((now - t0) * rate) / 1000), Math.floor((durationMs * rate) / 1000))
          if (due <= sent) return
          const frames: Buffer[] = []
          for (; sent < due; sent++) frames.push(clientTextFrame(publishText(topic, { t: performance.now(), pad })))
          pub.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames))
        }
        const ticker = setInterval(tick, 1)
        try {
          await Bun.sleep(durationMs)
          tick()
          clearInterval(ticker)
          const cpu = meter.read()
          const deadline = performance.now() + 10_000
          while (performance.now() < deadline && subs.some((s) => s.texts - 1 < sent)) await Bun.sleep(10)
          await Bun.sleep(100)
          let lost = 0
          let extra = 0
          for (const s of subs) {
            const got = s.texts - 1
            if (got < sent) lost += sent - got
            else extra += got - sent
          }
          const sorted = Float64Array.from(samples).sort()
          return {
            p50_ms: round(percentile(sorted, 0.5), 3),
            p90_ms: round(percentile(sorted, 0.9), 3),
            p99_ms: round(percentile(sorted, 0.99), 3),
            p999_ms: round(percentile(sorted, 0.999), 3),
            max_ms: round(sorted.at(-1) ?? NaN, 3),
            samples: sorted.length,
            messages: sent,
            lost,
            extra,
            server_cpu_pct: cpu.serverCpu,
            loadgen_cpu_pct: cpu.loadgenCpu,
          }
        } finally {
          clearInterval(ticker)
          closeAll([...subs, pub])
        }
      }),
  }
}

// ---------------------------------------------------------------- conns

/**
 * N idle subscribers, spread over `sources` loopback source addresses
 * (127.0.0.2, 127.0.0.3, …) so ephemeral ports never run out; server RSS per
 * connection above the baseline (taken after a warm-up of a few connections),
 * both read once the RSS has settled (settledRssBytes), and the same 0.5 s
 * after the last subscribe (`rss_per_conn_early_kib`, the measure before
 * 2026-12-02); then `broadcasts` single publishes, each timed until every
 * subscriber has it.
 */
export function conns(n: number, sources = 10, broadcasts = 7): Scenario {
  return {
    name: `conns_${n}`,
    params: { connections: n, source_addresses: sources, broadcasts },
    metrics: [
      { key: 'rss_per_conn_kib', label: 'server RSS per idle conn (KiB)', better: 'lower' },
      { key: 'rss_per_conn_early_kib', label: 'same, 0.5 s after the last subscribe', better: 'lower' },
      { key: 'broadcast_ms', label: 'one broadcast to all (ms, median)', better: 'lower' },
      { key: 'lost', label: 'lost (must be 0)', better: 'lower' },
      { key: 'rss_base_mib', label: 'server RSS baseline (MiB)', better: 'info' },
      { key: 'rss_conns_mib', label: 'server RSS with conns (MiB)', better: 'info' },
    ],
    run: (target) =>
      withServer(target, {}, async (server) => {
        const topic = 'conns'
        await server.createTopics([topic])
        const warm = await openMany(10, () => ({ port: server.port }))
        await Promise.all(warm.map((s, i) => s.request([subscribeText(topic, `w${i}`)], 1)))
        closeAll(warm)
        const base = await settledRssBytes(server.pid)
        let target2 = Infinity
        let reached = 0
        let reachedAll = Promise.withResolvers<void>()
        const onData = (c: RawClient) => {
          if (c.texts - 1 === target2) if (++reached === n) reachedAll.resolve()
        }
        const subs = await openMany(n, (i) => ({ port: server.port, localAddress: `127.0.0.${2 + (i % sources)}`, onData }), 200)
        for (let i = 0; i < n; i += 500) await Promise.all(subs.slice(i, i + 500).map((s, k) => s.request([subscribeText(topic, `c${i + k}`)], 1)))
        await Bun.sleep(500)
        const early = rssBytes(server.pid)
        const withConns = await settledRssBytes(server.pid)
        const pub = await RawClient.open({ port: server.port })
        const frame = clientTextFrame(publishText(topic))
        const times: number[] = []
        try {
          for (let b = 1; b <= broadcasts; b++) {
            reached = 0
            reachedAll = Promise.withResolvers<void>()
            target2 = b
            const t0 = performance.now()
            pub.write(frame)
            await Promise.race([reachedAll.promise, Bun.sleep(10_000)])
            times.push(performance.now() - t0)
            await Bun.sleep(100)
          }
          let lost = 0
          let extra = 0
          for (const s of subs) {
            const got = s.texts - 1
            if (got < broadcasts) lost += broadcasts - got
            else extra += got - broadcasts
          }
          times.sort((a, b) => a - b)
          return {
            rss_per_conn_kib: round((withConns - base) / n / 1024, 2),
            rss_per_conn_early_kib: round((early - base) / n / 1024, 2),
            broadcast_ms: round(times[Math.floor(times.length / 2)]!, 2),
            broadcast_min_ms: round(times[0]!, 2),
            lost,
            extra,
            rss_base_mib: round(base / 2 ** 20, 1),
            rss_conns_mib: round(withConns / 2 ** 20, 1),
          }
        } finally {
          closeAll([...subs, pub])
        }
      }, ),
  }
}

// ---------------------------------------------------------------- publish

/** One publisher, pipelined (at most `window` unacked), to a topic with no subscribers: acks per second. */
export function publish(durationMs: number, window = 1000, engine: 'memory' | 'sqlite' = 'memory'): Scenario {
  return {
    name: engine === 'sqlite' ? 'publish_sqlite' : 'publish',
    params: { duration_ms: durationMs, window, engine },
    metrics: [
      { key: 'acks_per_s', label: 'acks/s', better: 'higher' },
      { key: 'server_cpu_pct', label: 'server CPU %', better: 'info' },
      { key: 'loadgen_cpu_pct', label: 'load generator CPU %', better: 'info' },
    ],
    run: (target) =>
      withServer(target, engineEnv(engine), async (server) => {
        const topic = 'pub'
        await server.createTopics([topic])
        const batchSize = 50
        const batch = Buffer.concat(Array.from({ length: batchSize }, () => clientTextFrame(publishText(topic))))
        let sent = 0
        let stopping = false
        const finished = Promise.withResolvers<void>()
        let tEnd = 0
        let t0 = 0
        let pump = () => {}
        const kick = coalesced(() => pump())
        const pub = await RawClient.open({ port: server.port, onData: () => kick() })
        pump = () => {
          if (stopping) {
            if (pub.texts >= sent && tEnd === 0) {
              tEnd = performance.now()
              finished.resolve()
            }
            return
          }
          if (performance.now() >= t0 + durationMs) {
            stopping = true
            return pump()
          }
          while (sent - pub.texts + batchSize <= window && pub.queued === 0) {
            pub.write(batch)
            sent += batchSize
          }
        }
        t0 = performance.now()
        const meter = new CpuMeter(server.pid)
        const ticker = setInterval(pump, 5)
        pump()
        try {
          await Promise.race([finished.promise, Bun.sleep(durationMs + 10_000)])
          const cpu = meter.read()
          return {
            acks_per_s: round(pub.texts / (((tEnd || performance.now()) - t0) / 1000)),
            messages: sent,
            lost: sent - pub.texts,
            server_cpu_pct: cpu.serverCpu,
            loadgen_cpu_pct: cpu.loadgenCpu,
          }
        } finally {
          clearInterval(ticker)
          pub.close()
        }
      }),
  }
}

// ---------------------------------------------------------------- startup

let binaries: Promise<Record<Target, string>> | undefined

/** The flags of `npm run build`: --bytecode stores precompiled bytecode in the binary, which halves start-up. */
export const BUILD_FLAGS = ['--compile', '--minify', '--bytecode']

/** Compiles both servers once per process with BUILD_FLAGS (as `npm run build` does). */
export function compileBinaries(): Promise<Record<Target, string>> {
  binaries ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-bench-'))
    const out: Record<Target, string> = { project: join(dir, 'herald'), reference: join(dir, 'reference') }
    const sources: Record<Target, string> = { project: resolve(ROOT, 'src/index.ts'), reference: resolve(ROOT, 'bench/reference-server.ts') }
    for (const target of ['project', 'reference'] as const) {
      const proc = Bun.spawn([process.execPath, 'build', ...BUILD_FLAGS, sources[target], '--outfile', out[target]], { cwd: ROOT, stdout: 'ignore', stderr: 'pipe' })
      const code = await Promise.race([proc.exited, Bun.sleep(120_000).then(() => -1)])
      if (code !== 0) {
        proc.kill('SIGKILL')
        throw new Error(`bun build --compile ${target} failed: ${await new Response(proc.stderr).text()}`)
      }
    }
    return out
  })()
  return binaries
}

/** The compiled binary, from exec to the first 200 of GET /health. */
export function startup(): Scenario {
  return {
    name: 'startup',
    params: { binary: `bun build ${BUILD_FLAGS.join(' ')}` },
    metrics: [
      { key: 'startup_ms', label: 'exec → first /health 200 (ms)', better: 'lower' },
      { key: 'rss_idle_mib', label: 'server RSS idle (MiB)', better: 'info' },
    ],
    async run(target) {
      const bin = (await compileBinaries())[target]
      const t0 = performance.now()
      const proc = Bun.spawn([bin], { env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' }, stdin: 'ignore', stdout: 'pipe', stderr: 'inherit' })
      try {
        const port = await waitListening(proc, 10_000)
        const deadline = performance.now() + 10_000
        for (;;) {
          const res = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined)
          await res?.arrayBuffer()
          if (res?.status === 200) break
          if (performance.now() > deadline) throw new Error('/health never answered 200')
          await Bun.sleep(1)
        }
        const ms = performance.now() - t0
        return { startup_ms: round(ms, 1), rss_idle_mib: round(rssBytes(proc.pid) / 2 ** 20, 1), lost: 0 }
      } finally {
        proc.kill('SIGKILL')
        await Promise.race([proc.exited, Bun.sleep(3000)])
      }
    },
  }
}
