import { describe, expect, test } from 'bun:test'
import { startServer } from '../helpers/server'
import { connect, uuid } from '../helpers/ws-client'
import { json, rawConnect } from '../helpers/raw-ws'
import { until, within } from '../helpers/wait'

// Payloads large enough that the kernel's and Bun's buffers (a few MB) fill quickly.
const PAYLOAD = 'x'.repeat(16 * 1024)

describe('slow consumer (raw TCP client that stops reading)', () => {
  test('drop_oldest: the slow one loses the oldest, gets the newest and a SLOW_CONSUMER notice; a fast one gets everything in order', async () => {
    await using server = startServer({ queueSize: 10, socketHighWaterBytes: 64 * 1024 })
    expect(await server.createTopic('t')).toBe(201)

    const slow = await rawConnect(server.port)
    await slow.subscribe('t', 'slow')
    slow.pause()

    using fast = await connect(server.ws)
    expect((await fast.request({ type: 'subscribe', topic: 't', client_id: 'fast' })).type).toBe('ack')
    using publisher = await connect(server.ws)

    const total = 2000 // 2000 × 16 KiB = 32 MB, far beyond every buffer between server and the paused reader
    // The publisher keeps a window of 5 so the fast subscriber (in this process) can keep up: only the paused one falls behind.
    const window = 5
    for (let i = 1; i <= total; i += window) {
      for (let k = i; k < i + window; k++) publisher.send({ type: 'publish', topic: 't', message: { id: uuid(), payload: { i: k, pad: PAYLOAD } } })
      for (let k = i; k < i + window; k++) {
        const event = await fast.nextOfType('event', 10_000)
        expect(event.seq).toBe(k)
        expect(event.message.payload.i).toBe(k)
      }
    }
    expect(fast.inbox.filter((f) => f.type === 'error')).toEqual([])
    // The server noticed: drops are counted while the reader is paused.
    await until(async () => {
      const stats = (await (await fetch(`${server.http}/stats`)).json()) as any
      return stats.topics.t.dropped > 0 ? stats : undefined
    }, 5000, 'dropped > 0 in /stats')

    slow.resume()
    // Everything in flight arrives: a prefix in order, the notice, then the newest queueSize messages.
    const frames = await within(
      (async () => {
        for (;;) {
          const texts = slow.frames.filter((f) => f.opcode === 1).map(json)
          const last = texts.at(-1)
          if (last?.type === 'event' && last.seq === total) return texts
          await Bun.sleep(20)
        }
      })(),
      15_000,
      'the slow client to catch up to the last message',
    )
    const events = frames.filter((f) => f.type === 'event')
    const notices = frames.filter((f) => f.type === 'error')
    expect(notices.length).toBeGreaterThanOrEqual(1)
    for (const n of notices) {
      expect(n.error.code).toBe('SLOW_CONSUMER')
      expect(n.error.message).toContain("topic 't'")
    }
    const lost = notices.reduce((sum, n) => sum + Number(/dropped (\d+)/.exec(n.error.message)![1]), 0)
    // Exactly-once with drop-oldest: what arrived plus what was reported lost is everything.
    expect(events.length + lost).toBe(total)
    const seqs = events.map((e) => e.seq)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(new Set(seqs).size).toBe(seqs.length)
    // The newest `queueSize` messages were kept.
    expect(seqs.slice(-10)).toEqual(Array.from({ length: 10 }, (_, k) => total - 9 + k))
    // The notice comes right before the first event after the gap.
    const firstNotice = frames.findIndex((f) => f.type === 'error')
    const before = frames.slice(0, firstNotice).filter((f) => f.type === 'event').at(-1)
    const after = frames.slice(firstNotice).find((f) => f.type === 'event')
    expect(after.seq - (before?.seq ?? 0) - 1).toBe(Number(/dropped (\d+)/.exec(frames[firstNotice].error.message)![1]))
    slow.destroy()
  }, 60_000)

  test('disconnect policy: the slow one gets a SLOW_CONSUMER error, then close code 4000; the others continue', async () => {
    await using server = startServer({ queueSize: 10, socketHighWaterBytes: 64 * 1024, slowConsumerPolicy: 'disconnect' })
    expect(await server.createTopic('t')).toBe(201)

    const slow = await rawConnect(server.port)
    await slow.subscribe('t', 'slow')
    slow.pause()

    using fast = await connect(server.ws)
    expect((await fast.request({ type: 'subscribe', topic: 't', client_id: 'fast' })).type).toBe('ack')
    using publisher = await connect(server.ws)

    const total = 2000
    const window = 5
    for (let i = 1; i <= total; i += window) {
      for (let k = i; k < i + window; k++) publisher.send({ type: 'publish', topic: 't', message: { id: uuid(), payload: { i: k, pad: PAYLOAD } } })
      for (let k = i; k < i + window; k++) expect((await fast.nextOfType('event', 10_000)).seq).toBe(k)
    }
    expect(fast.inbox.filter((f) => f.type === 'error')).toEqual([])
    // The server let go of the slow connection and its subscription.
    const health: any = await until(async () => {
      const h: any = await (await fetch(`${server.http}/health`)).json()
      return h.subscribers === 1 ? h : undefined
    }, 5000, 'the slow subscription to be released')
    expect(health.connections).toBe(2)

    slow.resume()
    await within(slow.ended, 15_000, 'the slow socket to be closed')
    const texts = slow.frames.filter((f) => f.opcode === 1).map(json)
    const last = texts.at(-1)
    expect(last.type).toBe('error')
    expect(last.error.code).toBe('SLOW_CONSUMER')
    expect(last.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    // Before the error: the ack, then events in order with no duplicate.
    const seqs = texts.filter((f) => f.type === 'event').map((f) => f.seq)
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b))
    expect(seqs.length).toBeLessThan(total)
    const close = slow.frames.find((f) => f.opcode === 8)
    expect(close).toBeDefined()
    expect(close!.payload.readUInt16BE(0)).toBe(4000)
    // After the close frame nothing else was sent.
    expect(slow.frames.at(-1)!.opcode).toBe(8)

    // The others keep going.
    publisher.send({ type: 'publish', topic: 't', message: { id: uuid(), payload: { i: total + 1 } } })
    expect((await fast.nextOfType('event')).seq).toBe(total + 1)
  }, 60_000)
})
