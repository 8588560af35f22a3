/**
 * Model-based property test of the broker core (MemoryBroker alone, fake
 * sinks, no sockets).
 *
 * fast-check generates sequences of operations: connect / disconnect,
 * subscribe / unsubscribe / publish / ping (sent through the transport-free
 * `dispatchFrame`, exactly as the WebSocket layer does), createTopic /
 * deleteTopic (what REST calls), stall-sink / resume-sink (a sink whose
 * buffer is full, then `broker.drained`), and tick (one event-loop turn, when
 * the broker flushes). Every frame each fake sink receives is compared with
 * a small reference model:
 *
 * - the model keeps, per connection, what is waiting to be written: replies
 *   (a subscribe's replay travels with its ack) and, per subscription, a
 *   bounded queue that drops its oldest and counts what it lost;
 * - at a flush point every connection whose sink can take data gets all of it
 *   in the order it was generated, a SLOW_CONSUMER notice ("dropped N") right
 *   before the first surviving event of an overflowed subscription; a publish
 *   that finds a queue full flushes that connection first, so only a sink that
 *   is backed up loses messages (not one hit by a burst within one turn);
 * - unsubscribe and topic deletion hand what was queued (and the notice) to
 *   the reply queue, so it still goes out before the ack / topic_deleted;
 * - a connection whose sink is stalled and that holds more than
 *   QUEUE + HISTORY unread replies is closed with SLOW_CONSUMER / 4000.
 *
 * On top of the exact comparison, independent invariants are checked on what
 * the sinks received (so that a bug shared by the model and the broker still
 * fails): exactly one reply per request, per topic no delivery outside a
 * subscription (after the unsubscribe ack or topic_deleted), live seqs
 * strictly increasing with no silent gap (each gap is announced by a notice
 * that counts it exactly), and at the end delivered + reported lost =
 * published while subscribed.
 *
 * Both slow-consumer policies are covered: with `disconnect`, an overflow
 * sends SLOW_CONSUMER and closes that connection with 4000 instead.
 *
 * Run size: BROKER_MODEL_RUNS (default 500 per policy), seed: FUZZ_SEED (default 42).
 */
import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import type { Connection } from '../../src/hub/connection'
import type { Sink } from '../../src/hub/sink'
import { ErrorCode, HeraldError } from '../../src/errors'
import { TestBroker } from '../helpers/broker'
import { dispatch } from '../helpers/pubsub'

const QUEUE = 3
const HISTORY = 4
const HIGH_WATER = 1 << 20
const TOPICS = ['a', 'b', 'c'] as const
const SEED = Number(process.env.FUZZ_SEED ?? 42)
const RUNS = Number(process.env.BROKER_MODEL_RUNS ?? 500)
type Policy = 'drop_oldest' | 'disconnect'

const turn = () => new Promise<void>((r) => setImmediate(r))

/**
 * The runtime's topic membership and fan-out, for the runs with the native
 * fan-out on (Hub.useNativeFanout): `publish` writes to every joined sink at
 * once, which is what Bun's server.publish does for a socket's order.
 */
class FakeNativeFanout {
  readonly members = new Map<string, Set<FakeSink>>()
  /** Events published through it, over every run (the property must reach the native path). */
  static published = 0
  publish(topic: string, text: string): void {
    FakeNativeFanout.published++
    for (const sink of this.members.get(topic) ?? []) sink.send(text)
  }
}

/** A sink that records every frame; "stalled" means its buffer is full, so the broker must hold frames back. */
class FakeSink implements Sink {
  readonly sent: string[] = []
  stalled = false
  closedWith: { code: number; reason: string } | undefined
  sentAfterClose = 0
  send(text: string): number {
    if (this.closedWith) this.sentAfterClose++
    this.sent.push(text)
    return text.length
  }
  cork(fn: () => void): void {
    fn()
  }
  bufferedAmount(): number {
    return this.stalled ? HIGH_WATER : 0
  }
  end(code: number, reason: string): void {
    this.closedWith ??= { code, reason }
  }
}

/** A FakeSink that joins topics in a FakeNativeFanout, as a Bun socket does (Sink.joinNative). */
class NativeFakeSink extends FakeSink {
  constructor(private readonly fanout: FakeNativeFanout) {
    super()
  }
  joinNative(topic: string): void {
    const members = this.fanout.members
    if (!members.has(topic)) members.set(topic, new Set())
    members.get(topic)!.add(this)
  }
  leaveNative(topic: string): void {
    this.fanout.members.get(topic)?.delete(this)
  }
}

/** A frame reduced to what the model predicts (no timestamps). */
type Norm =
  | { type: 'ack'; request_id?: string; topic?: string }
  | { type: 'pong'; request_id?: string }
  | { type: 'event'; topic: string; seq: number; id: string }
  | { type: 'error'; request_id?: string; code: string; topic?: string; lost?: number }
  | { type: 'info'; msg: string; topic?: string }

function normalize(text: string): Norm {
  const f = JSON.parse(text)
  switch (f.type) {
    case 'ack':
      return { type: 'ack', request_id: f.request_id, topic: f.topic }
    case 'pong':
      return { type: 'pong', request_id: f.request_id }
    case 'event':
      return { type: 'event', topic: f.topic, seq: f.seq, id: f.message.id }
    case 'info':
      return { type: 'info', msg: f.msg, topic: f.topic }
    case 'error': {
      const lost = /^dropped (\d+) oldest message\(s\) on topic '([^']*)'/.exec(f.error.message)
      return { type: 'error', request_id: f.request_id, code: f.error.code, topic: f.topic, ...(lost ? { lost: Number(lost[1]) } : {}) }
    }
  }
  throw new Error(`unexpected frame ${text}`)
}
const clean = (n: Norm): Norm => JSON.parse(JSON.stringify(n))

// ---------------------------------------------------------------- the model

/** Something waiting to be written, ordered by `key` (the moment it was generated). */
interface Item {
  key: number
  frames: Norm[]
}
interface ModelEvent {
  key: number
  frame: Norm & { type: 'event' }
}
interface ModelSub {
  queue: ModelEvent[]
  lost: number
}
interface ModelConn {
  open: boolean
  sinkStalled: boolean
  /** The broker has seen the sink backed up and waits for drained(). */
  brokerStalled: boolean
  control: Item[]
  subs: Map<string, ModelSub>
  expected: Norm[]
  evicted: boolean
}
interface ModelTopic {
  seq: number
  history: ModelEvent[]
  subscribers: Set<number>
}

class Model {
  constructor(readonly policy: Policy) {}
  clock = 0
  readonly topics = new Map<string, ModelTopic>()
  readonly conns: ModelConn[] = []

  connect(): number {
    this.conns.push({ open: true, sinkStalled: false, brokerStalled: false, control: [], subs: new Map(), expected: [], evicted: false })
    return this.conns.length - 1
  }

  private pending(c: ModelConn): number {
    return c.control.reduce((n, item) => n + item.frames.length, 0)
  }

  private hasPending(c: ModelConn): boolean {
    return c.control.length > 0 || [...c.subs.values()].some((s) => s.queue.length > 0)
  }

  private drop(i: number): void {
    const c = this.conns[i]!
    c.open = false
    for (const t of c.subs.keys()) this.topics.get(t)?.subscribers.delete(i)
    c.subs.clear()
    c.control = []
  }

  /** A reply queued while the sink is known to be backed up may push the connection over its limit. */
  private reply(i: number, frames: Norm[]): void {
    const c = this.conns[i]!
    if (!c.open) return
    c.control.push({ key: ++this.clock, frames })
    if (c.brokerStalled && this.pending(c) > QUEUE + HISTORY) this.evict(i)
  }

  /** Closed as a slow consumer: a SLOW_CONSUMER error written at once (ahead of anything queued), then 4000. */
  private evict(i: number): void {
    const c = this.conns[i]!
    c.expected.push({ type: 'error', code: ErrorCode.SLOW_CONSUMER })
    c.evicted = true
    this.drop(i)
  }

  /** Ends a subscription; what it still held (and its loss notice) goes out ahead of later replies. */
  private retire(c: ModelConn, topic: string): void {
    const sub = c.subs.get(topic)!
    c.subs.delete(topic)
    sub.queue.forEach((e, k) => c.control.push({ key: e.key, frames: k === 0 && sub.lost > 0 ? [notice(topic, sub.lost), e.frame] : [e.frame] }))
    if (sub.lost > 0 && sub.queue.length === 0) throw new Error('model: loss with an empty queue')
  }

  createTopic(name: string): boolean {
    if (this.topics.has(name)) return false
    this.topics.set(name, { seq: 0, history: [], subscribers: new Set() })
    return true
  }

  deleteTopic(name: string): boolean {
    const topic = this.topics.get(name)
    if (!topic) return false
    this.topics.delete(name)
    const key = ++this.clock
    for (const i of topic.subscribers) {
      const c = this.conns[i]!
      this.retire(c, name)
      c.control.push({ key, frames: [{ type: 'info', msg: 'topic_deleted', topic: name }] })
    }
    return true
  }

  subscribe(i: number, topic: string, lastN: number, rid: string): void {
    const t = this.topics.get(topic)
    if (!t) return this.reply(i, [{ type: 'error', request_id: rid, code: ErrorCode.TOPIC_NOT_FOUND }])
    const c = this.conns[i]!
    if (!c.subs.has(topic)) c.subs.set(topic, { queue: [], lost: 0 })
    t.subscribers.add(i)
    this.reply(i, [{ type: 'ack', request_id: rid, topic }])
    // The replay travels with the ack, whatever its age (added after the eviction check, like the broker).
    if (c.open && lastN > 0) c.control.at(-1)!.frames.push(...t.history.slice(-lastN).map((e) => e.frame))
  }

  unsubscribe(i: number, topic: string, rid: string): void {
    const t = this.topics.get(topic)
    if (!t) return this.reply(i, [{ type: 'error', request_id: rid, code: ErrorCode.TOPIC_NOT_FOUND }])
    const c = this.conns[i]!
    if (c.subs.has(topic)) {
      this.retire(c, topic)
      t.subscribers.delete(i)
    }
    this.reply(i, [{ type: 'ack', request_id: rid, topic }])
  }

  publish(from: number | undefined, topic: string, id: string, rid: string): void {
    const t = this.topics.get(topic)
    if (!t) {
      if (from !== undefined) this.reply(from, [{ type: 'error', request_id: rid, code: ErrorCode.TOPIC_NOT_FOUND }])
      return
    }
    const event: ModelEvent = { key: ++this.clock, frame: { type: 'event', topic, seq: ++t.seq, id } }
    t.history.push(event)
    if (t.history.length > HISTORY) t.history.shift()
    for (const i of t.subscribers) {
      const c = this.conns[i]!
      const sub = c.subs.get(topic)!
      // A full queue is flushed on the spot unless the broker already knows the sink is backed up:
      // only a subscriber that really cannot take more loses messages, not one hit by a burst within one turn.
      if (sub.queue.length === QUEUE && !c.brokerStalled) this.flush(c)
      sub.queue.push(event)
      if (sub.queue.length > QUEUE) {
        sub.queue.shift()
        sub.lost++
        if (this.policy === 'disconnect') this.evict(i)
      }
    }
    if (from !== undefined) this.reply(from, [{ type: 'ack', request_id: rid, topic }])
  }

  ping(i: number, rid: string): void {
    this.reply(i, [{ type: 'pong', request_id: rid }])
  }

  disconnect(i: number): void {
    this.drop(i)
  }

  /** One event-loop turn: every open connection whose sink can take data is flushed completely. */
  tick(): void {
    for (const c of this.conns) if (c.open) this.flush(c)
  }

  /** A flush: all of it when the sink can take data; else the broker learns the sink is backed up (if it has anything to send). */
  private flush(c: ModelConn): void {
    if (c.sinkStalled) {
      if (this.hasPending(c)) c.brokerStalled = true
      return
    }
    const items: Item[] = [...c.control]
    for (const [topic, sub] of c.subs) {
      sub.queue.forEach((e, k) => items.push({ key: e.key, frames: k === 0 && sub.lost > 0 ? [notice(topic, sub.lost), e.frame] : [e.frame] }))
      if (sub.queue.length > 0) sub.lost = 0
      sub.queue = []
    }
    items.sort((x, y) => x.key - y.key)
    for (const item of items) c.expected.push(...item.frames)
    c.control = []
  }

  resume(i: number): void {
    const c = this.conns[i]!
    c.sinkStalled = false
    c.brokerStalled = false
    this.tick()
  }
}

const notice = (topic: string, lost: number): Norm => ({ type: 'error', code: ErrorCode.SLOW_CONSUMER, topic, lost })

// ---------------------------------------------------------------- operations

type Op =
  | { op: 'connect' }
  | { op: 'disconnect'; c: number }
  | { op: 'subscribe'; c: number; topic: string; lastN: number }
  | { op: 'unsubscribe'; c: number; topic: string }
  | { op: 'publish'; c: number | null; topic: string }
  | { op: 'ping'; c: number }
  | { op: 'create'; topic: string }
  | { op: 'delete'; topic: string }
  | { op: 'stall'; c: number }
  | { op: 'resume'; c: number }
  | { op: 'tick' }

const conn = fc.nat({ max: 5 })
const topic = fc.constantFrom(...TOPICS)
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ op: 'connect' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('disconnect' as const), c: conn }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('subscribe' as const), c: conn, topic, lastN: fc.oneof(fc.constant(0), fc.nat({ max: 6 })) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('unsubscribe' as const), c: conn, topic }) },
  { weight: 10, arbitrary: fc.record({ op: fc.constant('publish' as const), c: fc.option(conn, { nil: null }), topic }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('ping' as const), c: conn }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('create' as const), topic }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), topic }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('stall' as const), c: conn }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('resume' as const), c: conn }) },
  { weight: 4, arbitrary: fc.constant({ op: 'tick' as const }) },
)

interface Run {
  broker: TestBroker
  model: Model
  sessions: Connection[]
  sinks: FakeSink[]
  /** Per connection: request ids sent, in order. */
  requests: string[][]
  internalErrors: unknown[]
  /** For the invariants, by request id: the topic's seq when each subscribe / unsubscribe was sent, and last_n. */
  subscribes: Map<string, { seq: number; lastN: number }>
  unsubscribes: Map<string, number>
  /** Per topic name: its seq at each deletion. */
  deletedAtSeq: Map<string, number[]>
}

let uuidCounter = 0
const nextUuid = () => `00000000-0000-4000-8000-${(++uuidCounter).toString(16).padStart(12, '0')}`

async function execute(ops: Op[], policy: Policy = 'drop_oldest', native = false): Promise<Run> {
  const broker = new TestBroker({ queueSize: QUEUE, historySize: HISTORY, slowConsumerPolicy: policy, socketHighWaterBytes: HIGH_WATER, stallPollMs: 5 })
  const fanout = native ? new FakeNativeFanout() : undefined
  if (fanout) broker.hub.useNativeFanout(fanout)
  const model = new Model(policy)
  const run: Run = { broker, model, sessions: [], sinks: [], requests: [], internalErrors: [], subscribes: new Map(), unsubscribes: new Map(), deletedAtSeq: new Map() }
  const logInternal = (error: unknown) => run.internalErrors.push(error)
  let rid = 0
  const open = () => {
    const sink = fanout ? new NativeFakeSink(fanout) : new FakeSink()
    run.sinks.push(sink)
    run.sessions.push(broker.connect(sink))
    run.requests.push([])
    model.connect()
  }
  /** Ops address connections by index modulo the ones that exist and are open; none open → skipped. */
  const pick = (c: number): number | undefined => {
    const live = model.conns.flatMap((m, i) => (m.open ? [i] : []))
    return live.length === 0 ? undefined : live[c % live.length]
  }
  const send = (i: number, frame: Record<string, unknown>) => {
    const request_id = `q${++rid}`
    run.requests[i]!.push(request_id)
    dispatch(broker.pubsub, run.sessions[i]!, { ...frame, request_id }, logInternal)
    return request_id
  }

  open()
  open()
  for (const o of ops) {
    switch (o.op) {
      case 'connect':
        open()
        break
      case 'disconnect': {
        const i = pick(o.c)
        if (i === undefined) break
        broker.disconnect(run.sessions[i]!)
        model.disconnect(i)
        break
      }
      case 'subscribe': {
        const i = pick(o.c)
        if (i === undefined) break
        const r = send(i, { type: 'subscribe', topic: o.topic, client_id: `c${i}`, last_n: o.lastN })
        run.subscribes.set(r, { seq: model.topics.get(o.topic)?.seq ?? -1, lastN: o.lastN })
        model.subscribe(i, o.topic, o.lastN, r)
        break
      }
      case 'unsubscribe': {
        const i = pick(o.c)
        if (i === undefined) break
        const r = send(i, { type: 'unsubscribe', topic: o.topic, client_id: `c${i}` })
        run.unsubscribes.set(r, model.topics.get(o.topic)?.seq ?? -1)
        model.unsubscribe(i, o.topic, r)
        break
      }
      case 'publish': {
        const id = nextUuid()
        const i = o.c === null ? undefined : pick(o.c)
        if (i === undefined) {
          // As REST would: straight to the broker, no reply.
          let threw: unknown
          try {
            broker.publish(o.topic, { id, payload: null })
          } catch (error) {
            threw = error
          }
          expect(threw === undefined ? undefined : (threw as HeraldError).code).toBe(model.topics.has(o.topic) ? undefined : ErrorCode.TOPIC_NOT_FOUND)
          model.publish(undefined, o.topic, id, '')
        } else {
          const r = send(i, { type: 'publish', topic: o.topic, message: { id, payload: { n: uuidCounter } } })
          model.publish(i, o.topic, id, r)
        }
        break
      }
      case 'ping': {
        const i = pick(o.c)
        if (i === undefined) break
        model.ping(i, send(i, { type: 'ping' }))
        break
      }
      case 'create': {
        let code: string | undefined
        try {
          broker.createTopic(o.topic)
        } catch (error) {
          code = (error as HeraldError).code
        }
        expect(code).toBe(model.createTopic(o.topic) ? undefined : ErrorCode.TOPIC_EXISTS)
        break
      }
      case 'delete': {
        const seq = model.topics.get(o.topic)?.seq
        let code: string | undefined
        try {
          broker.deleteTopic(o.topic)
        } catch (error) {
          code = (error as HeraldError).code
        }
        expect(code).toBe(model.deleteTopic(o.topic) ? undefined : ErrorCode.TOPIC_NOT_FOUND)
        if (seq !== undefined) run.deletedAtSeq.set(o.topic, [...(run.deletedAtSeq.get(o.topic) ?? []), seq])
        break
      }
      case 'stall': {
        const i = pick(o.c)
        if (i === undefined) break
        run.sinks[i]!.stalled = true
        model.conns[i]!.sinkStalled = true
        break
      }
      case 'resume': {
        const i = pick(o.c)
        if (i === undefined) break
        run.sinks[i]!.stalled = false
        broker.drained(run.sessions[i]!)
        await turn()
        model.resume(i)
        break
      }
      case 'tick':
        await turn()
        model.tick()
        break
    }
  }
  // The end: every sink catches up.
  model.conns.forEach((m, i) => {
    if (!m.open) return
    run.sinks[i]!.stalled = false
    broker.drained(run.sessions[i]!)
    m.sinkStalled = false
    m.brokerStalled = false
  })
  await turn()
  model.tick()
  return run
}

// ---------------------------------------------------------------- invariants on what was received

/**
 * Checks what one connection received without the model's queue simulation:
 * replies, per-topic subscription windows, replay, seq order, loss accounting.
 */
function checkInvariants(run: Run, i: number): void {
  const received = run.sinks[i]!.sent.map(normalize)
  const model = run.model.conns[i]!

  // Exactly one reply per request, in request order (a closed connection loses what was not yet written).
  const replies = received.flatMap((f) => ('request_id' in f && f.request_id !== undefined ? [f.request_id] : []))
  if (!model.open) expect(replies).toEqual(run.requests[i]!.slice(0, replies.length))
  else expect(replies).toEqual(run.requests[i]!)

  // Per topic, a window opens at a subscribe ack and closes at an unsubscribe ack or topic_deleted.
  interface Window {
    /** The next live seq owed. */
    next: number
    /** Right after a subscribe ack: the replay still to come, oldest first. */
    replay: number[]
  }
  const windows = new Map<string, Window>()
  for (const f of received) {
    if (f.type === 'ack' && f.request_id !== undefined && run.subscribes.has(f.request_id)) {
      const { seq, lastN } = run.subscribes.get(f.request_id)!
      const count = Math.min(lastN, HISTORY, seq)
      const replay = Array.from({ length: count }, (_, k) => seq - count + 1 + k) // the newest `count`, oldest first
      const w = windows.get(f.topic!)
      if (w) w.replay = replay // re-subscribe: replays again, the live window goes on
      else windows.set(f.topic!, { next: seq + 1, replay })
      continue
    }
    const w = 'topic' in f && f.topic !== undefined ? windows.get(f.topic) : undefined
    if (w && w.replay.length > 0 && !(f.type === 'event' && f.seq === w.replay[0])) throw new Error(`replay cut short on connection ${i}: ${JSON.stringify(f)}`)
    if (f.type === 'ack' && f.request_id !== undefined && run.unsubscribes.has(f.request_id)) {
      // Delivered + reported lost = published while subscribed.
      if (w) expect(w.next - 1).toBe(run.unsubscribes.get(f.request_id)!)
      windows.delete(f.topic!)
    } else if (f.type === 'info' && f.msg === 'topic_deleted') {
      expect(w).toBeDefined()
      expect(run.deletedAtSeq.get(f.topic!) ?? []).toContain(w!.next - 1)
      windows.delete(f.topic!)
    } else if (f.type === 'error' && f.lost !== undefined) {
      expect(w).toBeDefined() // no notice outside a subscription
      expect(f.lost).toBeGreaterThan(0)
      w!.next += f.lost
    } else if (f.type === 'event') {
      expect(w).toBeDefined() // nothing before the subscribe ack or after the unsubscribe ack / topic_deleted
      if (w!.replay.length > 0) {
        w!.replay.shift()
        continue
      }
      // Live: exactly the next seq (no silent gap, no duplicate, monotonic).
      expect(f.seq).toBe(w!.next)
      w!.next++
    }
  }
  if (model.open) for (const [topic, w] of windows) expect(w.next - 1).toBe(run.model.topics.get(topic)!.seq) // nothing still owed
}

function checkRun(run: Run): void {
  expect(run.internalErrors).toEqual([])
  run.sinks.forEach((sink, i) => {
    const m = run.model.conns[i]!
    expect(sink.sent.map(normalize).map(clean)).toEqual(m.expected.map(clean))
    expect(sink.sentAfterClose).toBe(0)
    if (m.evicted) expect(sink.closedWith?.code).toBe(4000)
    else expect(sink.closedWith).toBeUndefined()
    checkInvariants(run, i)
  })
  // The broker's own view agrees with the model.
  const subscribers = [...run.model.topics.values()].reduce((n, t) => n + t.subscribers.size, 0)
  expect(run.broker.health()).toEqual({ topics: run.model.topics.size, subscribers, connections: run.model.conns.filter((c) => c.open).length })
  for (const [name, t] of run.model.topics) expect(run.broker.stats()[name]!.messages).toBe(t.seq)
  expect(run.broker.idle()).toBe(true)
  expect(run.broker.backlog()).toEqual({ queued: 0, stalled: 0, oldestQueuedSeconds: 0 })
}

/** Every connection leaves: nothing is held, and no stall poll is left running. */
function checkReleased(run: Run): void {
  run.sessions.forEach((s) => run.broker.disconnect(s))
  expect(run.broker.health().subscribers).toBe(0)
  expect(run.broker.health().connections).toBe(0)
  expect(run.broker.hub.polling()).toBe(false)
}

describe('MemoryBroker against a reference model', () => {
  // Each policy with the hub's per-connection flush alone, and with the native fan-out on (sinks that join topics natively): the same model, the same checks.
  test.each([
    ['drop_oldest', false],
    ['disconnect', false],
    ['drop_oldest', true],
    ['disconnect', true],
  ] as const)('%s, native fan-out %p: random operation sequences: exactly once, order, drop-oldest accounting, seq, no delivery after unsubscribe/delete', async (policy, native) => {
    let sawDrops = false
    let sawEviction = false
    let sawDeleteWhileSubscribed = false
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 120, size: 'max' }), async (ops) => {
        const run = await execute([{ op: 'create', topic: 'a' }, { op: 'create', topic: 'b' }, ...ops], policy, native)
        checkRun(run)
        checkReleased(run)
        const all = run.sinks.flatMap((s) => s.sent.map(normalize))
        sawDrops ||= all.some((f) => f.type === 'error' && f.lost !== undefined)
        sawEviction ||= run.model.conns.some((c) => c.evicted)
        sawDeleteWhileSubscribed ||= all.some((f) => f.type === 'info')
      }),
      { seed: SEED, numRuns: RUNS },
    )
    // The generator reaches the interesting cases (else the property proves little).
    expect(sawDrops).toBe(policy === 'drop_oldest') // with disconnect, an overflow closes the connection instead of a notice
    expect(sawDeleteWhileSubscribed).toBe(true)
    if (RUNS >= 100) expect(sawEviction).toBe(true)
    if (native) expect(FakeNativeFanout.published).toBeGreaterThan(0)
  }, 60_000)

  test('a hand-written scenario: a stalled subscriber loses the oldest, is told how many, then gets the newest', async () => {
    const ops: Op[] = [
      { op: 'create', topic: 'a' },
      { op: 'subscribe', c: 0, topic: 'a', lastN: 0 },
      { op: 'tick' },
      { op: 'stall', c: 0 },
      ...Array.from({ length: 8 }, () => ({ op: 'publish' as const, c: 1, topic: 'a' })),
      { op: 'tick' },
      { op: 'resume', c: 0 },
      { op: 'unsubscribe', c: 0, topic: 'a' },
      { op: 'publish', c: 1, topic: 'a' },
    ]
    const run = await execute(ops)
    checkRun(run)
    const got = run.sinks[0]!.sent.map(normalize)
    expect(got.map((f) => (f.type === 'event' ? f.seq : f.type === 'error' ? `lost ${f.lost}` : f.type))).toEqual(['ack', 'lost 5', 6, 7, 8, 'ack'])
    checkReleased(run)
  })
})

describe('the native fan-out against the model, by hand', () => {
  test('a burst longer than the queue, then the socket backs up before the flush: nothing is dropped that the per-connection path would have written', async () => {
    const ops: Op[] = [
      { op: 'create', topic: 'a' },
      { op: 'subscribe', c: 0, topic: 'a', lastN: 0 },
      { op: 'tick' },
      ...Array.from({ length: QUEUE + 2 }, () => ({ op: 'publish' as const, c: null, topic: 'a' })),
      { op: 'stall', c: 0 },
      { op: 'tick' },
      { op: 'resume', c: 0 },
      { op: 'tick' },
    ]
    for (const native of [false, true]) {
      const run = await execute(ops, 'drop_oldest', native)
      checkRun(run)
      const got = run.sinks[0]!.sent.map(normalize)
      expect(got.filter((f) => f.type === 'error')).toEqual([])
      expect(got.filter((f) => f.type === 'event').map((f) => (f as { seq: number }).seq)).toEqual(Array.from({ length: QUEUE + 2 }, (_, i) => i + 1))
      checkReleased(run)
    }
  })
})

describe('unexpected exceptions inside frame handling', () => {
  // The core's operations (what the dispatcher calls) replaced by ones that fail in an unexpected way.
  const cases: [string, (broker: TestBroker) => void][] = [
    ['publish throws an Error', (b) => (b.pubsub.publish = () => { throw new Error('boom at /src/engine/memory-engine.ts:1') })],
    ['subscribe throws a TypeError', (b) => (b.pubsub.subscribe = () => { throw new TypeError("Cannot read properties of undefined (reading 'x')") })],
    ['unsubscribe throws a non-Error', (b) => (b.pubsub.unsubscribe = () => { throw 'a string' })],
  ]
  const frames: Record<string, object> = {
    publish: { type: 'publish', topic: 'a', message: { id: nextUuid(), payload: 1 } },
    subscribe: { type: 'subscribe', topic: 'a', client_id: 'x' },
    unsubscribe: { type: 'unsubscribe', topic: 'a', client_id: 'x' },
  }

  for (const [name, breakIt] of cases)
    test(`${name}: one INTERNAL error for that request, logged once, connection kept`, async () => {
      const broker = new TestBroker({ queueSize: QUEUE, historySize: HISTORY, slowConsumerPolicy: 'drop_oldest', socketHighWaterBytes: HIGH_WATER })
      broker.createTopic('a')
      const sink = new FakeSink()
      const session = broker.connect(sink)
      const logged: { error: unknown; context: { connection: number; type?: string } }[] = []
      const log = (error: unknown, context: { connection: number; type?: string }) => logged.push({ error, context })
      breakIt(broker)
      const type = name.split(' ')[0]!
      dispatch(broker.pubsub, session, { ...frames[type], request_id: 'req-7' }, log)
      dispatch(broker.pubsub, session, { type: 'ping', request_id: 'after' }, log)
      await turn()

      const got = sink.sent.map((t) => JSON.parse(t))
      expect(got.map((f) => [f.type, f.request_id, f.error?.code])).toEqual([
        ['error', 'req-7', 'INTERNAL'],
        ['pong', 'after', undefined],
      ])
      // Nothing of the exception reaches the client.
      expect(got[0].error.message).toBe('internal error')
      expect(sink.sent.join('\n')).not.toMatch(/boom|\/src\/|Cannot read|a string|\bat /)
      expect(logged).toHaveLength(1)
      expect(logged[0]!.context).toEqual({ connection: session.id, type })
      expect(sink.closedWith).toBeUndefined()
      expect(broker.health().connections).toBe(1)
      broker.disconnect(session)
    })
})
