/**
 * The SDK across a server killed with SIGKILL mid-stream and started again on
 * the same port (test/helpers/spawn.ts runs herald as a child process).
 */
import { expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HeraldClient, type SubscribedInfo } from '../../src/client'
import { collect, eventsReach, nextEvent, nextState } from '../helpers/client-events'
import { rest } from '../helpers/http'
import { spawnServer } from '../helpers/spawn'
import { tcpProxy } from '../helpers/tcp-proxy'
import { within } from '../helpers/wait'

test('memory engine: SIGKILL mid-stream, restart → the subscription resumes with recovered:false reported (never a silent gap), then live events', async () => {
  const first = await spawnServer({ env: { LOG_LEVEL: 'info' } })
  const port = String(first.port)
  expect((await rest(first.http, 'POST', '/topics', { json: { name: 'stream' } })).status).toBe(201)
  // Through a proxy that refuses connections until the restarted server has its topic again (tcp-proxy.ts).
  using proxy = tcpProxy(first.port)
  const subscriber = new HeraldClient(proxy.http, { minReconnectDelayMs: 50, maxReconnectDelayMs: 200 })
  const publisher = new HeraldClient(proxy.http, { minReconnectDelayMs: 50, maxReconnectDelayMs: 200 })
  try {
    await Promise.all([subscriber.connect(), publisher.connect()])
    const sub = subscriber.subscribe('stream')
    const events = collect(sub)
    const subscribed: SubscribedInfo[] = []
    sub.on('subscribed', (s) => subscribed.push(s))
    await sub.ready
    // Mid-stream: a publisher keeps publishing until the kill cuts it off.
    let acked = 0
    let stop = false
    const publishing = (async () => {
      while (!stop) {
        try {
          await publisher.publish('stream', acked)
          acked++
        } catch {
          return
        }
      }
    })()
    await eventsReach(sub, events, 20)
    const lost = nextState(subscriber, 'disconnected')
    proxy.refuse = true
    first.proc.kill('SIGKILL')
    await within(first.exited, 5000, 'the SIGKILLed server to exit')
    expect((await lost).closeCode).toBe(1006)
    stop = true
    await within(publishing, 5000, 'the publisher to stop')
    const before = events.length
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: before }, (_, i) => i + 1))

    await using second = await spawnServer({ env: { PORT: port } })
    expect((await rest(second.http, 'POST', '/topics', { json: { name: 'stream' } })).status).toBe(201)
    proxy.refuse = false
    const resumed = await nextEvent(sub, 'subscribed', (s) => s.resubscribed, 10_000)
    // The memory engine lost the history: the SDK must not claim a recovery.
    expect(resumed).toMatchObject({ resubscribed: true, recovered: false })
    // A publish made while reconnecting waits for the connection.
    await publisher.publish('stream', 'after restart')
    await eventsReach(sub, events, before + 1)
    expect(events.at(-1)!.message.payload).toBe('after restart')
    expect(subscribed.filter((s) => s.resubscribed && s.recovered)).toEqual([])
  } finally {
    subscriber.close()
    publisher.close()
    await first[Symbol.asyncDispose]()
  }
}, 30_000)

test('durable engine (ENGINE=sqlite): SIGKILL mid-stream, restart on the same file → recovered:true, every acknowledged message exactly once and in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-sdk-durable-'))
  const env = { ENGINE: 'sqlite', SQLITE_PATH: join(dir, 'herald.db') }
  const first = await spawnServer({ env })
  const port = String(first.port)
  expect((await rest(first.http, 'POST', '/topics', { json: { name: 'stream' } })).status).toBe(201)
  using proxy = tcpProxy(first.port)
  const subscriber = new HeraldClient(proxy.http, { minReconnectDelayMs: 50, maxReconnectDelayMs: 200 })
  const publisher = new HeraldClient(proxy.http, { minReconnectDelayMs: 50, maxReconnectDelayMs: 200 })
  try {
    await Promise.all([subscriber.connect(), publisher.connect()])
    const sub = subscriber.subscribe('stream')
    const events = collect(sub)
    await sub.ready
    // Mid-stream: the publisher counts what was acknowledged until the kill cuts it off.
    const acked: number[] = []
    let stop = false
    const publishing = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          acked.push((await publisher.publish('stream', i)).seq!)
        } catch {
          return
        }
      }
    })()
    await eventsReach(sub, events, 20)
    const lost = nextState(subscriber, 'disconnected')
    proxy.refuse = true
    first.proc.kill('SIGKILL')
    await within(first.exited, 5000, 'the SIGKILLed server to exit')
    await lost
    stop = true
    await within(publishing, 5000, 'the publisher to stop')
    expect(acked.length).toBeGreaterThan(0)

    // The same file, the same port: the topic, its seq and its epoch are still there.
    await using second = await spawnServer({ env: { ...env, PORT: port } })
    proxy.refuse = false
    const resumed = await nextEvent(sub, 'subscribed', (s) => s.resubscribed, 10_000)
    expect(resumed).toMatchObject({ resubscribed: true, wasRecovering: true, recovered: true })
    // Its seq, not the last acknowledged one + 1: a message committed before the kill but never acknowledged takes a seq too.
    const after = (await publisher.publish('stream', 'after restart')).seq!
    await eventsReach(sub, events, after)
    const seqs = events.map((e) => e.seq)
    // Every acknowledged message exactly once, in order (and any committed-but-unacknowledged one too: no gap).
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1))
    for (const seq of acked) expect(seqs).toContain(seq)
    expect(events.at(-1)!.message.payload).toBe('after restart')
    expect(second.proc.exitCode).toBeNull()
  } finally {
    subscriber.close()
    publisher.close()
    await first[Symbol.asyncDispose]()
    rmSync(dir, { recursive: true, force: true })
  }
}, 30_000)
