/**
 * `herald pub TOPIC [JSON]`: publishes over the WebSocket through the SDK
 * (the HTTP publish API of issue 13 is not on the server yet). Without JSON,
 * one message per stdin line. Prints `seq id` per message (seq `-` when the
 * server's ack does not carry one), or one summary line with --count > 1.
 */
import { clientOf, connectionOf, EXIT_OK, EXIT_SERVER, parseArgs, UsageError, writeLine } from './args'

export const PUB_USAGE = `Usage: herald pub TOPIC [JSON] [--count N] [--rate R]
  Publishes JSON (any JSON value) to TOPIC; without JSON, one message per line of stdin.
  --count N   publish the message N times (default 1); prints one summary line when N > 1
  --rate R    at most R messages per second (default: as fast as the acks come back)
  --window W  publishes in flight at once (default 100)`

const SPEC = { count: 'int', rate: 'number', window: 'int' } as const

export async function pubCommand(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const { flags, positionals } = parseArgs(argv, SPEC)
  const [topic, json, ...extra] = positionals
  if (topic === undefined) throw new UsageError('TOPIC is required')
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}' (quote the JSON as one argument)`)
  const count = flags.count ?? 1
  if (count < 1) throw new UsageError('--count must be at least 1')
  if (json === undefined && flags.count !== undefined) throw new UsageError('--count needs the JSON argument')
  const payload = json === undefined ? undefined : parseJson(json, 'the JSON argument')
  if (typeof payload === 'string') throw new UsageError(payload)
  const window = Math.max(1, flags.window ?? 100)
  const pacer = flags.rate ? pace(flags.rate) : undefined

  const client = clientOf(connectionOf(flags, env), { reconnect: false })
  try {
    await client.connect()
    if (payload !== undefined && count > 1) {
      const started = performance.now()
      await publishMany(count, window, async () => {
        await pacer?.()
        await client.publish(topic, payload.value)
      })
      const seconds = (performance.now() - started) / 1000
      await writeLine(`published ${count} messages to '${topic}' in ${seconds.toFixed(2)} s (${Math.round(count / seconds)} msg/s)`)
      return EXIT_OK
    }
    if (payload !== undefined) {
      const { seq, id } = await client.publish(topic, payload.value)
      await writeLine(`${seq ?? '-'} ${id}`)
      return EXIT_OK
    }
    return await publishLines(topic, client, pacer)
  } finally {
    client.close()
  }
}

/** stdin, one JSON value per line, in order; a line that is not JSON is reported and skipped (exit 1 at the end). */
async function publishLines(topic: string, client: ReturnType<typeof clientOf>, pacer: (() => Promise<void>) | undefined): Promise<number> {
  let lineNo = 0
  let bad = 0
  let pending = ''
  const decoder = new TextDecoder()
  const handle = async (line: string) => {
    lineNo++
    if (line.trim() === '') return
    const parsed = parseJson(line, `line ${lineNo}`)
    if (typeof parsed === 'string') {
      bad++
      process.stderr.write(`herald pub: ${parsed}\n`)
      return
    }
    await pacer?.()
    const { seq, id } = await client.publish(topic, parsed.value)
    await writeLine(`${seq ?? '-'} ${id}`)
  }
  for await (const chunk of process.stdin) {
    pending += decoder.decode(chunk as Uint8Array, { stream: true })
    const lines = pending.split('\n')
    pending = lines.pop()!
    for (const line of lines) await handle(line)
  }
  if (pending !== '') await handle(pending)
  return bad > 0 ? EXIT_SERVER : EXIT_OK
}

/** The parsed value, or a message saying what is wrong. */
function parseJson(text: string, what: string): { value: unknown } | string {
  try {
    return { value: JSON.parse(text) }
  } catch {
    return `${what} is not valid JSON: ${text.length > 80 ? text.slice(0, 80) + '…' : text} (a string needs quotes: '"text"')`
  }
}

/** Runs `one` `count` times with at most `window` running at once; the first failure stops it and is thrown. */
async function publishMany(count: number, window: number, one: () => Promise<void>): Promise<void> {
  let started = 0
  const worker = async () => {
    while (started < count) {
      started++
      await one()
    }
  }
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker))
}

/**
 * A pacer for `rate` per second: each call waits for its slot (no drift:
 * slots are computed from the first call, not from when the pacer was made —
 * the time spent connecting must not turn into a burst).
 */
export function pace(rate: number): () => Promise<void> {
  const interval = 1000 / rate
  let start = -1
  let n = 0
  return async () => {
    if (start < 0) start = performance.now()
    const due = start + n++ * interval
    const wait = due - performance.now()
    if (wait > 0) await Bun.sleep(wait)
  }
}
