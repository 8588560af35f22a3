#!/usr/bin/env bun
/**
 * Soak: churn against a spawned herald process, bounded in time.
 *
 *   SOAK_SECONDS=10 bun run bench/soak.ts        (npm run soak)
 *
 * Starts `bun run src/index.ts` on port 0, then for SOAK_SECONDS (half warm-up,
 * half measured) keeps SOAK_WORKERS loops opening and closing connections while
 * two publishers publish without pause. Each loop iteration is one client:
 * - subscribe to 1–3 topics (sometimes with last_n), read a few events,
 *   sometimes unsubscribe, close normally;
 * - a raw TCP client that subscribes, writes half a frame and resets the
 *   connection (RST);
 * - a raw TCP client that subscribes to the flood topic and stops reading
 *   while it is flooded, so its queue fills and drops, then vanishes;
 * - a topic created, subscribed to, published on and deleted.
 * At the end every client has left, and the script checks:
 * - /health shows 0 connections and 0 subscribers;
 * - the server's RSS (VmRSS) is back within 10% of its post-warm-up baseline
 *   (both read once the idle server has settled, SOAK_SETTLE_MS, default 6 s);
 * - the full-queue case really happened (/stats dropped > 0);
 * - no client saw an unexpected error or a deadline pass;
 * - SIGTERM makes the server exit 0 promptly (nothing keeps it alive).
 * It prints a JSON summary and exits 1 if any check failed.
 *
 * `churn()` is exported so the test suite can run the same workload against
 * an in-process server and inspect the broker afterwards.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodeClientFrame, rawConnect } from '../test/helpers/raw-ws'
import { within } from '../test/helpers/wait'

export interface ChurnOptions {
  http: string
  ws: string
  port: number
  seconds: number
  workers?: number
}

export interface ChurnStats {
  connections: number
  subscriptions: number
  published: number
  events: number
  resets: number
  fullQueues: number
  topicChurns: number
  errors: string[]
}

export const TOPICS = ['soak.0', 'soak.1', 'soak.2', 'soak.3', 'soak.4', 'soak.5']
export const FLOOD_TOPIC = 'soak.flood'
const FLOOD_PAD = 'f'.repeat(16 * 1024)

const uuid = () => crypto.randomUUID()
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!

/** A WebSocket with a reply-by-request_id helper; every wait has a deadline. */
async function open(url: string) {
  const socket = new WebSocket(url)
  const waiting = new Map<string, (f: any) => void>()
  const eventWaiters: (() => void)[] = []
  const unexpected: string[] = []
  let events = 0
  socket.addEventListener('message', (e) => {
    const f = JSON.parse(String(e.data))
    if (f.type === 'event') {
      events++
      eventWaiters.splice(0).forEach((w) => w())
    } else if (f.request_id !== undefined && waiting.has(f.request_id)) {
      waiting.get(f.request_id)!(f)
      waiting.delete(f.request_id)
    } else if (!(f.type === 'info' || (f.type === 'error' && f.error.code === 'SLOW_CONSUMER'))) unexpected.push(JSON.stringify(f).slice(0, 200))
  })
  const closed = new Promise<void>((r) => socket.addEventListener('close', () => r()))
  await within(
    new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve())
      socket.addEventListener('error', () => reject(new Error('connect failed')))
    }),
    5000,
    'connect',
  )
  let n = 0
  return {
    socket,
    closed,
    unexpected,
    get events() {
      return events
    },
    request(frame: object): Promise<any> {
      const request_id = `q${++n}`
      const reply = new Promise<any>((r) => waiting.set(request_id, r))
      socket.send(JSON.stringify({ ...frame, request_id }))
      return within(reply, 5000, `reply to ${(frame as { type: string }).type}`)
    },
    async waitEvents(count: number, ms: number): Promise<void> {
      await within(
        (async () => {
          while (events < count) await new Promise<void>((r) => eventWaiters.push(r))
        })(),
        ms,
        `${count} events`,
      )
    },
    async close(): Promise<void> {
      socket.close()
      await within(closed, 5000, 'close')
    },
  }
}

async function expectAck(p: Promise<any>, what: string): Promise<void> {
  const reply = await p
  if (reply.type !== 'ack') throw new Error(`${what}: ${JSON.stringify(reply).slice(0, 200)}`)
}

export async function churn(opts: ChurnOptions): Promise<ChurnStats> {
  const stats: ChurnStats = { connections: 0, subscriptions: 0, published: 0, events: 0, resets: 0, fullQueues: 0, topicChurns: 0, errors: [] }
  const deadline = performance.now() + opts.seconds * 1000
  const fail = (what: string, error: unknown) => {
    if (stats.errors.length < 50) stats.errors.push(`${what}: ${error instanceof Error ? error.message : String(error)}`)
  }

  // Two publishers, each with up to 10 publishes in flight, until the last client is done.
  let clientsDone = false
  const publisher = async () => {
    const p = await open(opts.ws)
    stats.connections++
    try {
      while (!clientsDone) {
        const batch = Array.from({ length: 10 }, () => p.request({ type: 'publish', topic: pick(TOPICS), message: { id: uuid(), payload: { t: Date.now(), pad: 'p'.repeat(200) } } }))
        for (const r of batch) await expectAck(r, 'publish')
        stats.published += batch.length
        await Bun.sleep(2) // pacing, leaves CPU to the churn; not a synchronization
      }
      if (p.unexpected.length) fail('publisher', p.unexpected[0])
    } finally {
      await p.close()
    }
  }

  const normalClient = async (k: number) => {
    const c = await open(opts.ws)
    stats.connections++
    try {
      const topics = [...new Set(Array.from({ length: 1 + (k % 3) }, () => pick(TOPICS)))]
      for (const topic of topics) await expectAck(c.request({ type: 'subscribe', topic, client_id: `w${k}`, last_n: k % 4 === 0 ? 5 : 0 }), 'subscribe')
      stats.subscriptions += topics.length
      await c.waitEvents(1 + (k % 3), 5000)
      if (k % 2 === 0) await expectAck(c.request({ type: 'unsubscribe', topic: topics[0], client_id: `w${k}` }), 'unsubscribe')
      if (c.unexpected.length) fail('client', c.unexpected[0])
      stats.events += c.events
    } finally {
      await c.close()
    }
  }

  const resetMidFrame = async (k: number) => {
    const raw = await rawConnect(opts.port)
    stats.connections++
    raw.sendText(JSON.stringify({ type: 'subscribe', topic: pick(TOPICS), client_id: `r${k}`, request_id: 's' }))
    await raw.waitForTextFrames(1, 5000)
    stats.subscriptions++
    const frame = encodeClientFrame(1, Buffer.from(JSON.stringify({ type: 'publish', topic: pick(TOPICS), message: { id: uuid(), payload: 'half' } })))
    raw.write(frame.subarray(0, 1 + Math.floor(Math.random() * (frame.length - 1))))
    raw.socket.resetAndDestroy()
    stats.resets++
    await within(raw.ended, 5000, 'reset')
  }

  /** Subscribes, stops reading, floods its topic until its queue overflows, then vanishes. */
  const fullQueue = async (k: number) => {
    const raw = await rawConnect(opts.port)
    stats.connections++
    raw.sendText(JSON.stringify({ type: 'subscribe', topic: FLOOD_TOPIC, client_id: `f${k}`, request_id: 's' }))
    await raw.waitForTextFrames(1, 5000)
    stats.subscriptions++
    raw.pause()
    const p = await open(opts.ws)
    stats.connections++
    try {
      // 400 × 16 KiB = 6.4 MB, beyond the socket buffers toward the paused reader: its queue must overflow.
      for (let i = 0; i < 40; i++) {
        const batch = Array.from({ length: 10 }, () => p.request({ type: 'publish', topic: FLOOD_TOPIC, message: { id: uuid(), payload: FLOOD_PAD } }))
        for (const r of batch) await expectAck(r, 'flood publish')
        stats.published += batch.length
      }
    } finally {
      await p.close()
    }
    raw.socket.resetAndDestroy()
    stats.fullQueues++
    await within(raw.ended, 5000, 'vanish')
  }

  const topicChurn = async (k: number) => {
    const name = `soak.tmp.${k}.${Math.floor(Math.random() * 1e9)}`
    const created = await fetch(`${opts.http}/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) })
    if (created.status !== 201) throw new Error(`create topic: ${created.status}`)
    const c = await open(opts.ws)
    stats.connections++
    try {
      await expectAck(c.request({ type: 'subscribe', topic: name, client_id: `t${k}` }), 'subscribe tmp')
      stats.subscriptions++
      await expectAck(c.request({ type: 'publish', topic: name, message: { id: uuid(), payload: k } }), 'publish tmp')
      await c.waitEvents(1, 5000)
      const deleted = await fetch(`${opts.http}/topics/${name}`, { method: 'DELETE' })
      if (deleted.status !== 200) throw new Error(`delete topic: ${deleted.status}`)
      stats.topicChurns++
    } finally {
      await c.close()
    }
  }

  const worker = async (w: number) => {
    for (let k = w; performance.now() < deadline; k += opts.workers ?? 8) {
      const kind = k % 20
      try {
        if (kind === 7) await fullQueue(k)
        else if (kind % 5 === 1) await resetMidFrame(k)
        else if (kind % 5 === 3) await topicChurn(k)
        else await normalClient(k)
      } catch (error) {
        fail(['fullQueue', 'reset', 'topicChurn', 'normal'][kind === 7 ? 0 : kind % 5 === 1 ? 1 : kind % 5 === 3 ? 2 : 3]!, error)
      }
    }
  }

  const publishers = [publisher().catch((e) => fail('publisher', e)), publisher().catch((e) => fail('publisher', e))]
  await Promise.all(Array.from({ length: opts.workers ?? 8 }, (_, w) => worker(w)))
  clientsDone = true
  await Promise.all(publishers)
  return stats
}

// ---------------------------------------------------------------- the script

/**
 * The server's RSS once it has settled: the lowest reading over `ms` of idleness. Bun returns freed memory on its
 * own timers, seconds after activity stops (measured: 10–15 MB drops 3–6 s into idleness), so a single reading
 * right after a phase would mostly measure when that last happened.
 */
async function settledRssKb(pid: number, ms: number): Promise<number> {
  let min = vmRssKb(pid)
  for (const end = performance.now() + ms; performance.now() < end; ) {
    await Bun.sleep(250)
    min = Math.min(min, vmRssKb(pid))
  }
  return min
}

function vmRssKb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN)
}

async function getJson(url: string): Promise<any> {
  return (await fetch(url)).json()
}

/** Polls /health until nobody is left; returns the last reading. */
async function waitEmpty(http: string, ms: number): Promise<{ connections: number; subscribers: number }> {
  const end = performance.now() + ms
  for (;;) {
    const h = await getJson(`${http}/health`)
    if ((h.connections === 0 && h.subscribers === 0) || performance.now() > end) return h
    await Bun.sleep(50)
  }
}

async function main(): Promise<number> {
  const seconds = Number(process.env.SOAK_SECONDS ?? 10)
  const workers = Number(process.env.SOAK_WORKERS ?? 8)
  const settleMs = Number(process.env.SOAK_SETTLE_MS ?? 6000)
  const root = join(import.meta.dir, '..')
  const proc = Bun.spawn([process.execPath, 'run', 'src/index.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', QUEUE_SIZE: '50', SOCKET_HIGH_WATER_BYTES: '16384', MAX_PAYLOAD_BYTES: '65536', SHUTDOWN_GRACE_MS: '2000', LOG_LEVEL: 'info' },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'inherit',
  })
  const failures: string[] = []
  try {
    // The first JSON line with event "listening" gives the port.
    const reader = proc.stdout.getReader()
    let out = ''
    const port = await within(
      (async () => {
        for (;;) {
          const { value, done } = await reader.read()
          if (done) throw new Error('server exited before listening')
          out += new TextDecoder().decode(value)
          const line = out.split('\n').find((l) => l.includes('"event":"listening"'))
          if (line) return JSON.parse(line).port as number
        }
      })(),
      10_000,
      'the server to listen',
    )
    void (async () => {
      while (!(await reader.read()).done) {}
    })() // keep draining stdout
    const http = `http://127.0.0.1:${port}`
    const opts = { http, ws: `ws://127.0.0.1:${port}/ws`, port, workers }
    for (const name of [...TOPICS, FLOOD_TOPIC]) {
      const res = await fetch(`${http}/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) })
      if (res.status !== 201) throw new Error(`create ${name}: ${res.status}`)
    }
    const started = performance.now()

    const warm = await churn({ ...opts, seconds: seconds * 0.5 })
    const afterWarm = await waitEmpty(http, 10_000)
    if (afterWarm.connections !== 0 || afterWarm.subscribers !== 0) failures.push(`after warm-up /health shows ${JSON.stringify(afterWarm)}`)
    const baselineKb = await settledRssKb(proc.pid, settleMs)

    const run = await churn({ ...opts, seconds: seconds * 0.5 })
    const end = await waitEmpty(http, 10_000)
    if (end.connections !== 0 || end.subscribers !== 0) failures.push(`at the end /health shows ${JSON.stringify(end)}, expected 0 connections and 0 subscribers`)
    // The same settling, but done as soon as RSS is back within 10%; at most 2 settle periods.
    let finalKb = vmRssKb(proc.pid)
    const rssDeadline = performance.now() + 2 * settleMs
    while (finalKb > baselineKb * 1.1 && performance.now() < rssDeadline) {
      await Bun.sleep(250)
      finalKb = Math.min(finalKb, vmRssKb(proc.pid))
    }
    if (finalKb > baselineKb * 1.1) failures.push(`server RSS ${finalKb} kB is more than 10% above its post-warm-up baseline ${baselineKb} kB`)
    const stats = await getJson(`${http}/stats`)
    const dropped = stats.topics[FLOOD_TOPIC]?.dropped ?? 0
    if (run.fullQueues + warm.fullQueues === 0 || dropped === 0) failures.push(`no subscriber ever had a full queue (fullQueues ${run.fullQueues + warm.fullQueues}, dropped ${dropped})`)
    for (const e of [...warm.errors, ...run.errors]) failures.push(`client: ${e}`)

    // Nothing may keep the process alive or make shutdown fail.
    const t0 = performance.now()
    proc.kill('SIGTERM')
    const code = await within(proc.exited, 5000, 'the server to exit after SIGTERM').catch(() => undefined)
    if (code !== 0) failures.push(`server exit code after SIGTERM: ${code}`)

    const total = (k: keyof ChurnStats) => (warm[k] as number) + (run[k] as number)
    console.log(
      JSON.stringify({
        soak: failures.length === 0 ? 'ok' : 'FAILED',
        seconds: Math.round((performance.now() - started) / 100) / 10,
        connections: total('connections'),
        subscriptions: total('subscriptions'),
        published: total('published'),
        events_read: total('events'),
        tcp_resets_mid_frame: total('resets'),
        full_queue_disconnects: total('fullQueues'),
        topics_created_deleted: total('topicChurns'),
        dropped_on_flood_topic: dropped,
        health_at_end: end,
        rss_kb: { baseline: baselineKb, final: finalKb, ratio: Math.round((finalKb / baselineKb) * 1000) / 1000 },
        shutdown_ms: Math.round(performance.now() - t0),
        failures,
      }),
    )
  } catch (error) {
    failures.push(`soak aborted: ${error instanceof Error ? error.message : String(error)}`)
    console.log(JSON.stringify({ soak: 'FAILED', failures }))
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL')
  }
  return failures.length === 0 ? 0 : 1
}

if (import.meta.main) process.exit(await main())
