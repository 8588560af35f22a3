/**
 * Fuzzing a live server (in-process, port 0) with fast-check.
 *
 * Main fuzz connection (Bun's WebSocket): batches of random and mutated
 * frames — valid frames with one field broken, wrong types, huge numbers,
 * last_n of 1e12, deep nesting, __proto__ / constructor keys, long and odd
 * unicode (lone surrogates, NUL, RTL, emoji), empty and truncated frames,
 * binary frames. After each batch a sentinel ping; its pong proves every reply
 * to the batch has arrived (replies are ordered per connection), so each
 * batch is checked for:
 * - exactly one reply (ack, pong or error) per frame, in order, echoing the
 *   frame's request_id when it had a string one;
 * - valid frames answered with ack/pong, never with an error;
 * - no reply leaks internals: never INTERNAL, no stack frames, no file paths,
 *   and every error message is one of the protocol's documented sentences.
 * Meanwhile a side publisher publishes on its own connection and a healthy
 * side subscriber must receive every one of its messages, in order, with
 * consecutive seqs; the server's RSS stays bounded.
 *
 * Raw TCP connections (test/helpers/raw-ws.ts) cover what Bun's client will
 * not send: fragmented text frames (with a ping between fragments, split
 * inside multi-byte characters) get exactly one reply; invalid UTF-8 closes
 * that connection with 1007 and protocol violations with 1002, and the server
 * and every other client carry on.
 *
 * REST gets the same treatment: random bodies to POST /topics and odd names
 * to DELETE /topics/:name never produce a 5xx or a leak.
 *
 * Seed: FUZZ_SEED (default 42). Size: FUZZ_RUNS batches of up to 40 frames
 * (default 1000, about 20 000 frames, ~10 s); a long run: FUZZ_RUNS=20000 (see
 * docs/hardening-tests.md).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { heapStats } from 'bun:jsc'
import fc from 'fast-check'
import { MAX_FRAME_DEPTH } from '../../src/protocol/decode-frame'
import { type TestServer, startServer } from '../helpers/server'
import { type Frame, type TestClient, connect, uuid } from '../helpers/ws-client'
import { encodeClientFrame, json, type RawClient, rawConnect } from '../helpers/raw-ws'
import { until, within } from '../helpers/wait'

const SEED = Number(process.env.FUZZ_SEED ?? 42)
const RUNS = Number(process.env.FUZZ_RUNS ?? 1000)
const TOPICS = ['fz', 'fz.two'] as const
/**
 * Memory growth allowed over the whole fuzz run (the server is in this process; other test files may have run
 * before in it, hence growth, not totals). RSS includes what the allocator keeps after peaks (it levels off near
 * +130 MB); the JS heap after a full GC holds only live objects (+3 MB whether 10 000 or 100 000 frames were
 * sent). A server that kept each frame it received grows the heap by 1.2 GB in the default run. RSS is the coarse
 * bound (+110 MB alone, up to +170 MB after the rest of the suite), the heap the precise one.
 */
const RSS_BUDGET = 384 * 1024 * 1024
const HEAP_BUDGET = 32 * 1024 * 1024

// ---------------------------------------------------------------- generators

type Sent = { kind: 'text'; data: string; valid: boolean } | { kind: 'binary'; data: Uint8Array }

const requestId = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 12 }), fc.constantFrom('', '__proto__', 'constructor'))
const topic = fc.constantFrom(...TOPICS)
const uuidArb = fc.tuple(fc.uuid(), fc.boolean()).map(([u, upper]) => (upper ? u.toUpperCase() : u)) // any version, any case
const payload = fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.constant(null))

const validFrame: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ type: fc.constant('ping'), request_id: requestId }),
  fc.record(
    { type: fc.constant('subscribe'), topic, client_id: fc.string({ minLength: 1, maxLength: 20 }), last_n: fc.oneof(fc.nat({ max: 200 }), fc.constant(1e12)), request_id: requestId },
    { requiredKeys: ['type', 'topic', 'client_id', 'request_id'] },
  ),
  fc.record({ type: fc.constant('unsubscribe'), topic, client_id: fc.string({ minLength: 1, maxLength: 20 }), request_id: requestId }),
  fc.record({ type: fc.constant('publish'), topic, message: fc.record({ id: uuidArb, payload }), request_id: requestId }),
)

/** Values of every JSON type, including the awkward ones. */
const weird = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(1e12, -1, -0, 1.5, 2 ** 53 + 2, -(2 ** 63), 1e308, -1e308, 5e-324, '', ' ', '5', 'true', null, true, false, [], {}, [null], { __proto__: null }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
  fc.constantFrom('\u0000', '\u202e\u0041', '\ud800', '\udfff', '𝕳𝖊𝖗𝖆𝖑𝖉', 'a\u0301', '\ufeff', '\u2028\u2029', 'ＰＩＮＧ', 'pıng'),
)

/** A valid frame with exactly one thing broken. */
const mutated: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(validFrame, fc.nat(), weird, fc.constantFrom('delete', 'replace', 'replaceNested', 'type', 'extraKey'))
  .map(([frame, n, value, how]) => {
    const out: Record<string, unknown> = { ...frame }
    const keys = Object.keys(out)
    const key = keys[n % keys.length]!
    switch (how) {
      case 'delete':
        delete out[key]
        break
      case 'replace':
        out[key] = value
        break
      case 'replaceNested':
        if (typeof out.message === 'object' && out.message !== null) out.message = { ...(out.message as object), [n % 2 ? 'id' : 'payload']: value }
        else out.last_n = value
        break
      case 'type':
        out.type = [value, 'PING', 'Ping', 'ping ', 'toString', 'hasOwnProperty', '__proto__', 'constructor', 'valueOf'][n % 9]
        break
      case 'extraKey':
        Object.defineProperty(out, ['constructor', 'prototype', 'toString', 'hasOwnProperty', 'seq', 'status'][n % 6]!, { value, enumerable: true, writable: true, configurable: true })
        break
    }
    return out
  })

/** JSON text the serializer would never produce: __proto__ keys, duplicates, deep nesting, truncation. */
const textual: fc.Arbitrary<string> = fc.oneof(
  validFrame.map((f) => JSON.stringify(f).replace(/^\{/, '{"__proto__":{"type":"ping","request_id":"proto"},')),
  validFrame.map((f) => JSON.stringify(f).replace(/^\{/, '{"constructor":{"prototype":{"type":"publish"}},')),
  validFrame.map((f) => JSON.stringify(f).replace(/\}$/, ',"type":"nope"}')), // duplicate key: the last one wins
  fc.tuple(validFrame, fc.nat()).map(([f, n]) => {
    const s = JSON.stringify(f)
    return s.slice(0, n % s.length) // truncated
  }),
  fc.tuple(fc.integer({ min: 1, max: 4000 }), fc.constantFrom('[', '{"a":')).map(([depth, open]) => `{"type":"ping","request_id":"deep","x":${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}}`),
  fc.tuple(fc.integer({ min: 1, max: 50_000 }), uuidArb).map(([depth, id]) => `{"type":"publish","topic":"fz","request_id":"deep-pub","message":{"id":"${id}","payload":${'['.repeat(depth)}${']'.repeat(depth)}}}`),
  fc.integer({ min: 1, max: 50_000 }).map((depth) => `{"type":${'['.repeat(depth)}${']'.repeat(depth)},"request_id":"deep-type"}`),
  fc.constantFrom('', ' ', '\n', '{}', '[]', 'null', '0', '-0', '1e999', 'true', '"ping"', '{"type":"ping"', '{type:"ping"}', "{'type':'ping'}", '\u0000', '{"type":"ping"}\u0000', '{"type":"ping"} {"type":"ping"}', '/', '//x'),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'binary', minLength: 20_000, maxLength: 60_000 }).map((s) => JSON.stringify({ type: 'ping', request_id: 'long', pad: s })),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }).map((s) => JSON.stringify({ type: 'subscribe', topic: s, client_id: s, request_id: 'odd-topic' })),
)

const sentArb: fc.Arbitrary<Sent> = fc.oneof(
  { weight: 3, arbitrary: validFrame.map((f): Sent => ({ kind: 'text', data: JSON.stringify(f), valid: true })) },
  { weight: 6, arbitrary: mutated.map((f): Sent => ({ kind: 'text', data: JSON.stringify(f), valid: false })) },
  { weight: 4, arbitrary: textual.map((s): Sent => ({ kind: 'text', data: s, valid: false })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((data): Sent => ({ kind: 'binary', data })) },
)

// ---------------------------------------------------------------- what a reply may say

/** Every error message the protocol may send for bad input: anything else (an exception's text, a stack) is a leak. */
const KNOWN_ERRORS: RegExp[] = [
  /^invalid JSON$/,
  /^binary frames are not supported: send JSON text frames$/,
  /^frame must be a JSON object$/,
  new RegExp(`^frame nests deeper than ${MAX_FRAME_DEPTH} levels$`),
  /^type is required: one of subscribe, unsubscribe, publish, ping, refresh$/,
  /^unknown type .{0,64}: expected one of subscribe, unsubscribe, publish, ping, refresh$/s,
  /^topic must be 1–200 characters of A-Z a-z 0-9 \. _ : -$/,
  /^client_id must be a non-empty string$/,
  /^last_n must be a non-negative integer$/,
  /^request_id must be a string$/,
  /^message\.id must be a valid UUID$/,
  /^message must be an object with id and payload$/,
  /^message\.payload: Expected required property$/,
  /^Topic '[A-Za-z0-9._:-]{1,200}' does not exist$/,
]
const REPLY_TYPES = new Set(['ack', 'pong', 'error'])

/** The reply must not carry anything from inside the server. */
function assertNoLeak(text: string): void {
  expect(text).not.toContain(process.cwd())
  expect(text).not.toContain('node_modules')
  expect(text).not.toMatch(/\/src\/|\.ts:\d+|\n\s+at |\bat \S+ \(|Maximum call stack|TypeError|RangeError|SyntaxError|ReferenceError/)
}

/** The request_id the server must echo: the frame's own string request_id, when it is a JSON object. */
function expectedRequestId(sent: Sent): string | undefined | null {
  if (sent.kind === 'binary') return undefined
  let value: unknown
  try {
    value = JSON.parse(sent.data)
  } catch {
    return undefined
  }
  // A JSON string literal is decoded once more by the server (Elysia parses text starting with '"'): no claim then.
  if (typeof value === 'string') return null
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const id = (value as { request_id?: unknown }).request_id
  return typeof id === 'string' ? id : undefined
}

// ---------------------------------------------------------------- the live server and its side traffic

let server: TestServer
let fuzz: TestClient
let sideSub: TestClient
let sidePub: TestClient
const sideIds: string[] = []
let framesSent = 0
let rssBefore = 0
let heapBefore = 0

beforeAll(async () => {
  server = startServer({ historySize: 50 })
  for (const t of [...TOPICS, 'side']) expect(await server.createTopic(t)).toBe(201)
  fuzz = await connect(server.ws)
  sideSub = await connect(server.ws)
  sidePub = await connect(server.ws)
  expect((await sideSub.request({ type: 'subscribe', topic: 'side', client_id: 'side' })).type).toBe('ack')
  Bun.gc(true)
  rssBefore = process.memoryUsage().rss
  heapBefore = heapStats().heapSize
})

afterAll(async () => {
  fuzz?.close()
  sideSub?.close()
  sidePub?.close()
  await server?.shutdown()
})

let sentinel = 0
/** Sends a batch and a sentinel ping; returns the replies to the batch (everything before the sentinel's pong), events and notices set aside. */
async function roundTrip(batch: Sent[]): Promise<Frame[]> {
  const id = `sentinel-${++sentinel}`
  const arrived = new Promise<void>((resolve) => {
    const on = (e: MessageEvent) => {
      if (JSON.parse(String(e.data)).request_id !== id) return
      fuzz.socket.removeEventListener('message', on)
      resolve()
    }
    fuzz.socket.addEventListener('message', on)
  })
  for (const s of batch) fuzz.sendRaw(s.data)
  fuzz.sendRaw(JSON.stringify({ type: 'ping', request_id: id }))
  framesSent += batch.length + 1
  await within(arrived, 10_000, `the pong to ${id}`)
  // The client's own listener ran first, so everything up to the sentinel is in the inbox, in arrival order.
  const end = fuzz.inbox.findIndex((f) => f.type === 'pong' && f.request_id === id)
  expect(end).toBeGreaterThanOrEqual(0)
  const received = fuzz.inbox.splice(0, end + 1).slice(0, -1)
  // Events and info frames are not replies; neither is a SLOW_CONSUMER notice (no request_id).
  return received.filter((f) => REPLY_TYPES.has(f.type) && !(f.type === 'error' && f.error?.code === 'SLOW_CONSUMER' && f.request_id === undefined))
}

describe('fuzz against a live server', () => {
  test(`${RUNS} batches of random and mutated frames: one reply each, nothing leaked, side traffic intact (seed ${SEED})`, async () => {
    // Raw texts of the replies, to check for leaks byte for byte.
    const rawReplies: string[] = []
    const onMessage = (e: MessageEvent) => rawReplies.push(String(e.data))
    fuzz.socket.addEventListener('message', onMessage)
    let batches = 0
    let peakRss = 0

    await fc.assert(
      fc.asyncProperty(fc.array(sentArb, { minLength: 1, maxLength: 40, size: 'max' }), async (batch) => {
        batches++
        // The side publisher goes on, concurrently with the fuzz traffic.
        const id = uuid()
        sideIds.push(id)
        sidePub.send({ type: 'publish', topic: 'side', message: { id, payload: { n: sideIds.length } } })

        const replies = await roundTrip(batch)
        expect(replies.length).toBe(batch.length)
        batch.forEach((sent, k) => {
          const reply = replies[k]!
          const want = expectedRequestId(sent)
          if (want !== null) expect(reply.request_id).toBe(want)
          if (reply.type === 'error') {
            expect(reply.error.code).not.toBe('INTERNAL')
            if (!KNOWN_ERRORS.some((re) => re.test(reply.error.message))) throw new Error(`unexpected error message ${JSON.stringify(reply.error.message)} for ${JSON.stringify(String(sent.data).slice(0, 200))}`)
          }
          if (sent.kind === 'text' && sent.valid) expect(reply.type).not.toBe('error')
          if (sent.kind === 'binary') expect(reply.error?.code).toBe('BAD_REQUEST')
        })
        for (const text of rawReplies.splice(0)) assertNoLeak(text)
        peakRss = Math.max(peakRss, process.memoryUsage().rss)
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    )
    fuzz.socket.removeEventListener('message', onMessage)
    expect(batches).toBe(RUNS)

    // The side subscriber got every side message, in order, seqs consecutive.
    const sideEvents = await within(
      (async () => {
        const got: Frame[] = []
        while (got.length < sideIds.length) got.push(await sideSub.nextOfType('event', 5000))
        return got
      })(),
      15_000,
      'every side message',
    )
    expect(sideEvents.map((e) => e.message.id)).toEqual(sideIds)
    expect(sideEvents.map((e) => e.seq)).toEqual(sideIds.map((_, k) => k + 1))
    expect(sideSub.inbox.filter((f) => f.type === 'error')).toEqual([])
    // Side publisher: one ack per publish, no error.
    expect(sidePub.inbox.filter((f) => f.type === 'error')).toEqual([])
    expect(sidePub.inbox.filter((f) => f.type === 'ack')).toHaveLength(sideIds.length)

    // Still serving, and memory bounded.
    expect((await fuzz.request({ type: 'ping' })).type).toBe('pong')
    const health = await getJson('/health')
    expect(health.connections).toBe(3)
    Bun.gc(true)
    const rssAfter = process.memoryUsage().rss
    const heap = heapStats().heapSize
    console.log(`fuzz: ${framesSent} frames in ${RUNS} batches; rss ${mb(rssBefore)} → peak ${mb(peakRss)} → ${mb(rssAfter)} MB; JS heap ${mb(heapBefore)} → ${mb(heap)} MB`)
    expect(rssAfter - rssBefore).toBeLessThan(RSS_BUDGET)
    expect(heap - heapBefore).toBeLessThan(HEAP_BUDGET)
  }, 120_000)

  test('regression: a payload nested 50 000 deep is refused with BAD_REQUEST and takes no seq', async () => {
    using sub = await connect(server.ws)
    expect((await sub.request({ type: 'subscribe', topic: 'fz.two', client_id: 'deep' })).type).toBe('ack')
    const depth = 50_000
    const before = (await getJson('/stats')).topics['fz.two'].messages
    fuzz.sendRaw(`{"type":"publish","topic":"fz.two","request_id":"deep","message":{"id":"${uuid()}","payload":${'['.repeat(depth)}${']'.repeat(depth)}}}`)
    const reply = await fuzz.nextOfType('error', 5000)
    expect(reply.request_id).toBe('deep')
    expect(reply.error).toEqual({ code: 'BAD_REQUEST', message: `frame nests deeper than ${MAX_FRAME_DEPTH} levels` })
    fuzz.sendRaw(`{"type":${'['.repeat(depth)}${']'.repeat(depth)},"request_id":"deep-type"}`)
    expect((await fuzz.nextOfType('error', 5000)).error.code).toBe('BAD_REQUEST')
    // At the limit it is accepted, and the next publish gets the next seq: no gap.
    fuzz.sendRaw(`{"type":"publish","topic":"fz.two","request_id":"ok","message":{"id":"${uuid()}","payload":${'['.repeat(MAX_FRAME_DEPTH - 2)}${']'.repeat(MAX_FRAME_DEPTH - 2)}}}`)
    expect((await fuzz.nextOfType('ack', 5000)).request_id).toBe('ok')
    const event = await sub.nextOfType('event', 5000)
    expect(event.seq).toBe(before + 1)
  })
})

// ---------------------------------------------------------------- REST

describe('REST under random bodies and names', () => {
  test('POST /topics and DELETE /topics/:name: never a 500, always the error body, nothing leaked', async () => {
    const created: string[] = []
    const statuses = new Set<string>()
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.record({ name: weird }).map((v) => JSON.stringify(v)),
      fc.string({ unit: 'grapheme', maxLength: 250 }).map((name) => JSON.stringify({ name })),
      fc.stringMatching(/^[A-Za-z0-9._:-]{1,20}$/).map((name) => JSON.stringify({ name: `rest.${name}` })),
      fc.constantFrom(...TOPICS).map((name) => JSON.stringify({ name })), // exists already
      fc.string({ unit: 'binary', maxLength: 200 }),
      textual,
    )
    const check = async (res: Response, what: string) => {
      const text = await res.text()
      statuses.add(`${what.split(' ')[0]} ${res.status}`)
      expect(res.status, what).toBeLessThan(500)
      assertNoLeak(text)
      if (res.status >= 400) {
        const parsed = JSON.parse(text)
        expect(Object.keys(parsed), what).toEqual(['error'])
        expect(typeof parsed.error.code, what).toBe('string')
        expect(typeof parsed.error.message, what).toBe('string')
      }
    }
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('application/json', 'text/plain', ''), async (data, type) => {
        const res = await fetch(`${server.http}/topics`, { method: 'POST', headers: type ? { 'content-type': type } : {}, body: data })
        if (res.status === 201) created.push(JSON.parse(data).name)
        await check(res, `POST ${data.slice(0, 100)}`)
      }),
      { seed: SEED, numRuns: 300 },
    )
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 250 }), fc.constantFrom('..', '.', '%', '__proto__', 'constructor', 'a/b', ' ', '\u0000')), async (name) => {
        await check(await fetch(`${server.http}/topics/${encodeURIComponent(name)}`, { method: 'DELETE' }), `DELETE ${name}`)
      }),
      { seed: SEED, numRuns: 300 },
    )
    // The generators reached each outcome: created, refused as invalid, unknown topic, exists.
    expect([...statuses].sort()).toEqual(expect.arrayContaining(['DELETE 400', 'DELETE 404', 'POST 201', 'POST 400', 'POST 409']))
    for (const name of created) {
      const res = await fetch(`${server.http}/topics/${encodeURIComponent(name)}`, { method: 'DELETE' })
      await res.body?.cancel()
    }
    await serverStillServes()
  }, 60_000)
})

// ---------------------------------------------------------------- raw frames

/** GET a REST route of the fuzzed server. */
const getJson = async (path: string): Promise<any> => (await fetch(`${server.http}${path}`)).json()
const mb = (n: number) => (n / 1024 / 1024).toFixed(0)
const closeCodeOf = (c: RawClient) => {
  const close = c.frames.find((f) => f.opcode === 8)
  return close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : undefined
}

/** The server is still fine: the side subscriber is served and a new client gets answers. */
async function serverStillServes(): Promise<void> {
  using probe = await connect(server.ws)
  expect((await probe.request({ type: 'ping' })).type).toBe('pong')
  const id = uuid()
  sideIds.push(id)
  expect((await sidePub.request({ type: 'publish', topic: 'side', message: { id, payload: null } })).type).toBe('ack')
  const event = await sideSub.nextOfType('event', 5000)
  expect(event.message.id).toBe(id)
  expect(event.seq).toBe(sideIds.length)
}

describe('raw frames', () => {
  test('fragmented text frames (split anywhere, even inside a character, a ping in between): exactly one reply each', async () => {
    const raw = await rawConnect(server.port)
    let expected = 0
    let pings = 0
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
        fc.option(fc.nat(), { nil: undefined }),
        fc.boolean(),
        async (label, cuts, pingAt, publish) => {
          const request_id = `frag-${expected}-${label}`
          const text = JSON.stringify(publish ? { type: 'publish', topic: 'fz', message: { id: uuid(), payload: label }, request_id } : { type: 'ping', request_id })
          const bytes = Buffer.from(text)
          const points = [...new Set(cuts.map((c) => c % bytes.length))].filter((c) => c > 0).sort((a, b) => a - b)
          const parts = [0, ...points, bytes.length].slice(1).map((end, k, ends) => bytes.subarray(k === 0 ? 0 : ends[k - 1], end))
          const wire = parts.map((part, k) => encodeClientFrame(k === 0 ? 1 : 0, part, k === parts.length - 1))
          if (pingAt !== undefined && wire.length > 1) {
            wire.splice(1 + (pingAt % (wire.length - 1)), 0, encodeClientFrame(9, Buffer.from('p')))
            pings++
          }
          raw.write(Buffer.concat(wire))
          expected++
          const frames = (await raw.waitForTextFrames(expected, 5000)).map(json).filter((f) => f.type !== 'event')
          expect(frames).toHaveLength(expected)
          const reply = frames.at(-1)!
          expect(reply.request_id).toBe(request_id)
          expect(reply.type).toBe(publish ? 'ack' : 'pong')
        },
      ),
      { seed: SEED, numRuns: 60 },
    )
    // Every control ping got its control pong.
    await until(() => (raw.frames.filter((f) => f.opcode === 10).length >= pings ? true : undefined), 3000, 'control pongs')
    expect(raw.frames.filter((f) => f.opcode === 10 && f.payload.toString() === 'p')).toHaveLength(pings)
    raw.destroy()
    await serverStillServes()
  }, 30_000)

  test('invalid UTF-8 in a text frame closes that connection with 1007; the server and the others carry on', async () => {
    const invalid = fc.constantFrom(
      [0xff],
      [0xc0, 0xaf], // overlong '/'
      [0xe0, 0x80, 0xaf], // overlong
      [0xed, 0xa0, 0x80], // UTF-16 surrogate
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0xe2, 0x82], // truncated
      [0x80], // stray continuation byte
    )
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 20 }), invalid, fc.string({ maxLength: 20 }), async (before, bad, after) => {
        const raw = await rawConnect(server.port)
        raw.write(encodeClientFrame(1, Buffer.concat([Buffer.from(`{"type":"ping","request_id":"${before.replace(/["\\]/g, '')}`), Buffer.from(bad), Buffer.from(`${after.replace(/["\\]/g, '')}"}`)])))
        await within(raw.ended, 5000, 'the server to close the connection')
        expect(closeCodeOf(raw)).toBe(1007)
        expect(raw.frames.filter((f) => f.opcode === 1)).toEqual([]) // no reply: the frame never reached the app
      }),
      { seed: SEED, numRuns: 15 },
    )
    await until(async () => ((await getJson('/health')).connections === 3 ? true : undefined), 3000, 'closed connections released')
    await serverStillServes()
  }, 30_000)

  test('protocol violations close that connection (1002); nothing else notices', async () => {
    const violations: [string, Buffer][] = [
      ['continuation without a start', encodeClientFrame(0, Buffer.from('{}'))],
      ['a new text frame inside a fragmented one', Buffer.concat([encodeClientFrame(1, Buffer.from('{"ty'), false), encodeClientFrame(1, Buffer.from('pe":"ping"}'))])],
      ['a fragmented control frame', encodeClientFrame(9, Buffer.from('x'), false)],
      ['a reserved opcode', encodeClientFrame(3, Buffer.from('x'))],
      ['a control frame over 125 bytes', encodeClientFrame(9, Buffer.alloc(200, 1))],
      ['RSV1 set without an extension', (() => { const f = encodeClientFrame(1, Buffer.from('{"type":"ping"}')); f[0] = f[0]! | 0x40; return f })()],
      ['an unmasked client frame', Buffer.from([0x81, 0x02, 0x7b, 0x7d])],
      ['a close frame with an invalid code', encodeClientFrame(8, Buffer.from([0x03, 0xe7]))], // 999
    ]
    for (const [what, bytes] of violations) {
      const raw = await rawConnect(server.port)
      raw.write(bytes)
      await within(raw.ended, 5000, `the server to close after ${what}`)
      expect([1002, undefined], what).toContain(closeCodeOf(raw))
      expect(raw.frames.filter((f) => f.opcode === 1), what).toEqual([])
    }
    await until(async () => ((await getJson('/health')).connections === 3 ? true : undefined), 3000, 'closed connections released')
    await serverStillServes()
  }, 30_000)
})
