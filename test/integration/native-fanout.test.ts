/**
 * NATIVE_FANOUT: a turn's events of a topic go out through Bun's own
 * fan-out only when that changes nothing a client can see. The same script
 * runs against a server with it on and one with it off (every frame through
 * the hub's per-connection flush, the order the model test pins), and every
 * connection must read the same frames in the same order; the metric shows
 * that the native path was taken where it may be.
 */
import { describe, expect, test } from 'bun:test'
import { scrape } from '../helpers/prometheus'
import { encodeClientFrame, json, rawConnect } from '../helpers/raw-ws'
import { startServer } from '../helpers/server'
import { connect, type Frame, type TestClient, uuid } from '../helpers/ws-client'
import { until } from '../helpers/wait'

/** What a client can see of a frame, without the timestamps. */
function seen(f: Frame): string {
  if (f.type === 'event') return `event ${f.topic} ${f.seq} ${f.message.payload.i}`
  if (f.type === 'ack') return `ack ${f.request_id ?? ''} ${f.topic ?? ''} ${f.seq ?? ''}`
  return `${f.type} ${f.request_id ?? ''} ${f.error?.code ?? f.msg ?? ''}`
}

interface Run {
  frames: Record<string, string[]>
  delivered: number
  native: number
}

async function script(nativeFanout: boolean): Promise<Run> {
  await using server = startServer({ nativeFanout })
  for (const t of ['a', 'b']) expect(await server.createTopic(t)).toBe(201)
  const clients: Record<string, TestClient> = {}
  const open = async (name: string, topics: string[]) => {
    const c = await connect(server.ws)
    for (const topic of topics) expect((await c.request({ type: 'subscribe', topic, client_id: name })).type).toBe('ack')
    c.inbox.length = 0 // the subscribe acks carry no seq worth comparing (both runs start at 0, but keep the script about what follows)
    clients[name] = c
  }
  // both: reads two topics (its turns are never cast: a frame of the other topic waits beside them);
  // readers: only `a`; publisher: reads `a` and publishes to both (its acks wait beside its events); solo: only `b`.
  await open('both', ['a', 'b'])
  for (let i = 0; i < 5; i++) await open(`reader${i}`, ['a'])
  await open('solo', ['b'])
  await open('publisher', ['a'])
  const quiet = await connect(server.ws) // publishes to `b` only and reads nothing: `b`'s turns may be cast

  const publisher = clients.publisher!
  let i = 0
  // Phase 1: bursts that mix the topics, acks and a ping, all pipelined.
  for (let burst = 0; burst < 40; burst++) {
    for (let k = 0; k < 1 + (burst % 4); k++) publisher.send({ type: 'publish', topic: 'a', request_id: `p${i}`, message: { id: uuid(), payload: { i: i++ } } })
    if (burst % 3 === 0) publisher.send({ type: 'publish', topic: 'b', request_id: `p${i}`, message: { id: uuid(), payload: { i: i++ } } })
    if (burst % 7 === 0) publisher.send({ type: 'ping', request_id: `ping${burst}` })
    await Bun.sleep(0)
  }
  // `both` leaves `b` (its socket must leave the native topic too), then phase 2: only `b`, from a connection
  // that subscribes to nothing, so `solo` alone reads it and its turns may be cast.
  expect((await clients.both!.request({ type: 'unsubscribe', topic: 'b', client_id: 'both' })).type).toBe('ack')
  for (let k = 0; k < 60; k++) {
    quiet.send({ type: 'publish', topic: 'b', message: { id: uuid(), payload: { i: i++ } } })
    if (k % 5 === 4) await Bun.sleep(0)
  }
  const lastOf = (name: string) => (clients[name]!.inbox.findLast((f) => f.type === 'event') as Frame | undefined)?.message.payload.i
  // Everyone has read up to the last message of the topics it reads (the last one published goes to `b`).
  await until(() => (lastOf('solo') === i - 1 ? true : undefined), 10_000, 'the last message of b to reach its reader')
  const lastA = publisher.inbox.findLast((f) => f.type === 'ack' && f.topic === 'a')?.seq
  await until(() => (['publisher', 'reader0', 'reader4'].every((n) => clients[n]!.inbox.some((f) => f.type === 'event' && f.topic === 'a' && f.seq === lastA)) ? true : undefined), 10_000, 'the last message of a to reach its readers')
  const m = await scrape(server.http)
  const frames = Object.fromEntries(Object.entries(clients).map(([name, c]) => [name, c.inbox.filter((f) => !(f.type === 'info' && f.msg === 'ping')).map(seen)]))
  for (const c of [...Object.values(clients), quiet]) c.close()
  return { frames, delivered: m.value('herald_messages_delivered_total'), native: m.value('herald_messages_delivered_native_total') }
}

describe('NATIVE_FANOUT', () => {
  test('every connection reads the same frames in the same order with it on as with it off, and the native path is taken', async () => {
    const off = await script(false)
    const on = await script(true)
    expect(off.native).toBe(0)
    // Phase 2's events of `b` (60 messages) reach a reader that has nothing else waiting: cast.
    expect(on.native).toBeGreaterThanOrEqual(2)
    expect(on.native).toBeLessThanOrEqual(on.delivered)
    expect(on.delivered).toBe(off.delivered)
    for (const name of Object.keys(off.frames)) expect({ name, frames: on.frames[name] }).toEqual({ name, frames: off.frames[name] })
    // The script is what it claims: the two-topic reader saw both topics, the publisher its acks among its events.
    expect(off.frames.both!.some((f) => f.startsWith('event a')) && off.frames.both!.some((f) => f.startsWith('event b'))).toBe(true)
    // After its unsubscribe, `both` got none of phase 2's messages of `b` (the last ones published).
    const lastOfSolo = on.frames.solo!.at(-1)!
    expect(on.frames.both!.includes(lastOfSolo)).toBe(false)
    expect(off.frames.publisher!.some((f) => f.startsWith('ack p')) && off.frames.publisher!.some((f) => f.startsWith('pong'))).toBe(true)
  }, 30_000)

  test('a shallow publisher (one event per turn) takes the per-connection flush; a burst is cast again, in the same order', async () => {
    await using server = startServer({ nativeFanout: true })
    expect(await server.createTopic('c')).toBe(201)
    const reader = await rawConnect(server.port)
    await reader.subscribe('c', 'reader')
    const publisher = await rawConnect(server.port)
    const publishText = (i: number) => JSON.stringify({ type: 'publish', topic: 'c', request_id: `p${i}`, message: { id: uuid(), payload: { i } } })
    const events = () => reader.frames.filter((f) => f.opcode === 1).map(json).filter((f) => f.type === 'event')
    const native = async () => (await scrape(server.http)).value('herald_messages_delivered_native_total')
    let i = 0
    // One publish, then wait until the reader has it: every event is alone in its turn.
    const lone = async (count: number) => {
      for (let k = 0; k < count; k++) {
        publisher.sendText(publishText(i++))
        await until(() => (events().length === i ? true : undefined), 5_000, `event ${i} at the reader`)
      }
    }
    await lone(8)
    const afterWarmUp = await native()
    await lone(8)
    // Shallow by now: these eight went connection by connection.
    expect(await native()).toBe(afterWarmUp)
    // Bursts of eight in one write: from the second on, the topic's turns are deep, and cast.
    for (let burst = 0; burst < 3; burst++) {
      publisher.write(Buffer.concat(Array.from({ length: 8 }, () => encodeClientFrame(1, Buffer.from(publishText(i++))))))
      await until(() => (events().length === i ? true : undefined), 5_000, `burst ${burst} at the reader`)
    }
    expect(await native()).toBeGreaterThan(afterWarmUp)
    expect(events().map((f) => f.message.payload.i)).toEqual(Array.from({ length: i }, (_, k) => k))
    expect(events().map((f) => f.seq)).toEqual(Array.from({ length: i }, (_, k) => k + 1))
    reader.destroy()
    publisher.destroy()
  }, 30_000)
})
