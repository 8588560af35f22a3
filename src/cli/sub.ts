/**
 * `herald sub TOPIC`: one line per event on stdout (the payload as JSON, or
 * the whole frame with --json). Reconnects and resumes through the SDK; every
 * resubscribe is reported on stderr with whether the server confirmed that
 * nothing was missed. Ctrl-C (SIGINT) or SIGTERM exits 0.
 */
import type { SubscribeOptions } from '../client'
import { clientOf, connectionOf, EXIT_OK, parseArgs, ServerError, UsageError, writeLine } from './args'

export const SUB_USAGE = `Usage: herald sub TOPIC [--last N | --since SEQ --epoch E] [--json] [--count N]
  Prints one line per event: its payload as JSON, or the whole event frame with --json.
  Reconnects after a lost connection and resumes from the last event seen.
  --last N     first replay up to N past messages
  --since SEQ  resume after SEQ of epoch E (both needed)
  --count N    exit 0 after N events
  Ctrl-C exits 0.`

/** Event lines that may wait for a slow stdout before events are dropped (and counted on stderr). */
const MAX_PENDING_LINES = 10_000

const SPEC = { last: 'int', since: 'int', epoch: 'string', json: 'boolean', count: 'int' } as const

export async function subCommand(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const { flags, positionals } = parseArgs(argv, SPEC)
  const [topic, ...extra] = positionals
  if (topic === undefined) throw new UsageError('TOPIC is required')
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`)
  if (flags.last !== undefined && flags.since !== undefined) throw new UsageError('give --last or --since, not both')
  if ((flags.since === undefined) !== (flags.epoch === undefined)) throw new UsageError('--since and --epoch go together')
  const options: SubscribeOptions = flags.since !== undefined ? { sinceSeq: flags.since, epoch: flags.epoch } : flags.last ? { lastN: flags.last } : {}

  const client = clientOf(connectionOf(flags, env))
  const done = Promise.withResolvers<number>()
  done.promise.catch(() => {}) // awaited below; this only keeps an early rejection from being reported as unhandled
  const stop = () => done.resolve(EXIT_OK)
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    await client.connect()
    const sub = client.subscribe(topic, options)
    let received = 0
    // Lines are written in order. A WebSocket cannot be paused, so a stdout slower than the
    // stream would grow this queue without bound: past MAX_PENDING_LINES events are dropped and counted.
    let writing = Promise.resolve()
    let pendingLines = 0
    let dropped = 0
    sub.on('event', (event) => {
      received++
      if (pendingLines >= MAX_PENDING_LINES) {
        if (dropped++ === 0) process.stderr.write(`herald sub: stdout is too slow; dropping events (more than ${MAX_PENDING_LINES} waiting)\n`)
        return
      }
      if (dropped > 0) {
        process.stderr.write(`herald sub: dropped ${dropped} event(s) while stdout was too slow\n`)
        dropped = 0
      }
      const line = flags.json ? JSON.stringify(event) : JSON.stringify(event.message.payload)
      pendingLines++
      writing = writing.then(() => writeLine(line)).then(() => void pendingLines--)
      if (flags.count !== undefined && received >= flags.count) writing.then(() => done.resolve(EXIT_OK))
    })
    sub.on('subscribed', (s) => {
      if (!s.resubscribed && !s.wasRecovering) return
      const gap = s.recovered ? 'nothing missed' : s.missed === null || s.missed === undefined ? 'messages may have been missed' : `${s.missed} message(s) missed`
      process.stderr.write(`herald sub: ${s.resubscribed ? 'resubscribed' : 'subscribed'} to '${topic}': recovered=${s.recovered} (${gap})\n`)
    })
    sub.on('slow_consumer', (s) => process.stderr.write(`herald sub: ${s.message}\n`))
    sub.on('error', (error) => done.reject(new ServerError(`subscribe to '${topic}': ${error.code}: ${error.message}`)))
    sub.on('deleted', () => done.reject(new ServerError(`topic '${topic}' was deleted`)))
    sub.on('unsubscribed', (u) => done.reject(new ServerError(`the server ended the subscription to '${topic}'${u.reason ? `: ${u.reason}` : ''}`)))
    client.on('state', (s) => {
      if (s.state === 'disconnected') process.stderr.write(`herald sub: connection lost (${s.closeCode}${s.closeReason ? ` ${s.closeReason}` : ''}), reconnecting in ${s.retryInMs} ms\n`)
      if (s.state === 'closed' && s.closeCode !== undefined) done.reject(new ServerError(`connection closed (${s.closeCode}${s.closeReason ? ` ${s.closeReason}` : ''})`))
    })
    await sub.ready
    const code = await done.promise
    await writing
    return code
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    client.close()
  }
}

