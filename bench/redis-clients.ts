/**
 * Bun's built-in RedisClient against ioredis, on what the Redis engine needs:
 * pipelined EVALSHA (the publish script), one-at-a-time round trips, PUB/SUB
 * throughput, reconnect + resubscribe after a Redis restart, and whether a
 * command fails in bounded time while Redis does not answer (SIGSTOP).
 * The figures and the choice are in docs/scale-out.md.
 *
 *   bun run bench/redis-clients.ts [--n 20000]
 *
 * Starts its own redis-server (no persistence) on a free port; never touches
 * another Redis.
 */
import { RedisClient } from 'bun'
import Redis from 'ioredis'
import { startRedis } from '../test/helpers/redis-server'

const argN = process.argv.indexOf('--n')
const N = argN === -1 ? 20_000 : Number(process.argv[argN + 1])
const ROUND_TRIPS = 2000

// The shape of the engine's publish script: next seq, append to a trimmed stream, publish.
const SCRIPT = `
local seq = redis.call('HINCRBY', KEYS[1], 's', 1)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100, seq .. '-0', 'f', ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[1])
return seq`
const PAYLOAD = JSON.stringify({ type: 'event', topic: 'bench', seq: 1, message: { id: crypto.randomUUID(), payload: { n: 1, text: 'x'.repeat(64) } }, ts: new Date().toISOString() })

interface Client {
  name: string
  evalsha(sha: string, keys: string[], args: string[]): Promise<unknown>
  load(script: string): Promise<string>
  get(key: string): Promise<unknown>
  publish(channel: string, message: string): Promise<unknown>
  subscribe(channel: string, onMessage: (m: string) => void): Promise<void>
  close(): void
}

function bunClient(url: string): Client {
  const cmd = new RedisClient(url, { autoReconnect: true, enableAutoPipelining: true })
  const sub = new RedisClient(url, { autoReconnect: true })
  return {
    name: 'bun RedisClient',
    evalsha: (sha, keys, args) => cmd.send('EVALSHA', [sha, String(keys.length), ...keys, ...args]),
    load: (script) => cmd.send('SCRIPT', ['LOAD', script]),
    get: (key) => cmd.get(key),
    publish: (channel, message) => cmd.publish(channel, message),
    subscribe: async (channel, onMessage) => {
      await sub.subscribe(channel, (m) => onMessage(m))
    },
    close: () => {
      cmd.close()
      sub.close()
    },
  }
}

function ioredisClient(url: string): Client {
  const opts = { enableAutoPipelining: true, commandTimeout: 1000, maxRetriesPerRequest: 1, retryStrategy: () => 100 }
  const cmd = new Redis(url, opts)
  const sub = new Redis(url, { ...opts, commandTimeout: undefined })
  for (const c of [cmd, sub]) c.on('error', () => {})
  return {
    name: 'ioredis',
    evalsha: (sha, keys, args) => cmd.evalsha(sha, keys.length, ...keys, ...args),
    load: async (script) => (await cmd.script('LOAD', script)) as string,
    get: (key) => cmd.get(key),
    publish: (channel, message) => cmd.publish(channel, message),
    subscribe: async (channel, onMessage) => {
      sub.on('message', (_c: string, m: string) => onMessage(m))
      await sub.subscribe(channel)
    },
    close: () => {
      cmd.disconnect()
      sub.disconnect()
    },
  }
}

const ms = (t0: number) => performance.now() - t0

async function waitFor(check: () => boolean, limitMs: number): Promise<boolean> {
  const deadline = performance.now() + limitMs
  while (!check()) {
    if (performance.now() > deadline) return false
    await Bun.sleep(5)
  }
  return true
}

async function measure(make: (url: string) => Client): Promise<Record<string, string | number>> {
  await using redis = await startRedis()
  const client = make(redis.url)
  const out: Record<string, string | number> = {}
  const sha = await client.load(SCRIPT)

  // Pipelined: N scripts issued in one turn, all awaited.
  let t0 = performance.now()
  await Promise.all(Array.from({ length: N }, () => client.evalsha(sha, ['m', 's'], [PAYLOAD, 'bench'])))
  out['EVALSHA pipelined, per s'] = Math.round(N / (ms(t0) / 1000))

  // One at a time.
  const lat: number[] = []
  for (let i = 0; i < ROUND_TRIPS; i++) {
    t0 = performance.now()
    await client.evalsha(sha, ['m', 's'], [PAYLOAD, 'bench'])
    lat.push(ms(t0))
  }
  lat.sort((a, b) => a - b)
  out['EVALSHA round trip p50 µs'] = Math.round(lat[lat.length >> 1]! * 1000)
  out['EVALSHA round trip p99 µs'] = Math.round(lat[Math.floor(lat.length * 0.99)]! * 1000)

  // PUB/SUB: N publishes pipelined, time until the subscriber has them all.
  let received = 0
  await client.subscribe('bench', () => received++)
  received = 0
  t0 = performance.now()
  await Promise.all(Array.from({ length: N }, () => client.publish('bench', PAYLOAD)))
  await waitFor(() => received >= N, 30_000)
  out['PUBLISH → subscriber, msg/s'] = Math.round(received / (ms(t0) / 1000))

  // Restart without data: does the subscriber get messages again, and how soon?
  await redis.kill()
  await redis.restart()
  t0 = performance.now()
  const before = received
  let recovered = false
  const deadline = performance.now() + 5000
  while (performance.now() < deadline) {
    await client.publish('bench', PAYLOAD).catch(() => {})
    if (received > before) {
      recovered = true
      break
    }
    await Bun.sleep(50)
  }
  out['resubscribed after restart'] = recovered ? `yes, ${Math.round(ms(t0))} ms` : 'no (5 s)'

  // Unresponsive Redis: does a command fail within 2 s?
  redis.pause()
  t0 = performance.now()
  const outcome = await Promise.race([
    client.get('k').then(
      () => 'answered',
      (e: Error) => `rejected in ${Math.round(ms(t0))} ms (${e.message.slice(0, 40)})`,
    ),
    Bun.sleep(2000).then(() => 'still waiting after 2000 ms'),
  ])
  out['command while Redis is stopped'] = outcome
  redis.resume()
  client.close()
  return out
}

const rows: Array<[string, Record<string, string | number>]> = []
for (const [name, make] of [['bun RedisClient', bunClient], ['ioredis', ioredisClient]] as const) rows.push([name, await measure(make)])
console.log(`N=${N}, payload ${PAYLOAD.length} B, one redis-server ${(await Bun.$`redis-server --version`.text()).split(' ')[2]}, no persistence, loopback`)
const keys = Object.keys(rows[0]![1])
console.log(`| | ${rows.map(([n]) => n).join(' | ')} |`)
console.log(`|---|${rows.map(() => '---').join('|')}|`)
for (const k of keys) console.log(`| ${k} | ${rows.map(([, r]) => r[k]).join(' | ')} |`)
process.exit(0)
