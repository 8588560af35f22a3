import { describe, expect, test } from 'bun:test'
import { encodeClientFrame, json, rawConnect } from '../helpers/raw-ws'
import { rest } from '../helpers/http'
import { startServer } from '../helpers/server'
import { connect, uuid } from '../helpers/ws-client'
import { within } from '../helpers/wait'

const UUID = '550e8400-e29b-41d4-a716-446655440000'

// Each bad text frame, and the message the BAD_REQUEST error must carry.
const BAD_TEXT: [string, string][] = [
  ['{not json', 'invalid JSON'],
  ['', 'invalid JSON'],
  ['{"type":"ping"', 'invalid JSON'],
  ['42', 'frame must be a JSON object'],
  ['-1.5', 'frame must be a JSON object'],
  ['[1,2,3]', 'frame must be a JSON object'],
  ['[{"type":"ping"}]', 'frame must be a JSON object'],
  ['null', 'frame must be a JSON object'],
  ['true', 'frame must be a JSON object'],
  ['{}', 'type is required: one of subscribe, unsubscribe, publish, ping, refresh'],
  ['{"type":"shout"}', 'unknown type "shout": expected one of subscribe, unsubscribe, publish, ping, refresh'],
  ['{"type":null}', 'unknown type null: expected one of subscribe, unsubscribe, publish, ping, refresh'],
  ['{"type":"subscribe","client_id":"c"}', 'topic must be 1–200 characters of A-Z a-z 0-9 . _ : -'],
  ['{"type":"subscribe","topic":7,"client_id":"c"}', 'topic must be 1–200 characters of A-Z a-z 0-9 . _ : -'],
  ['{"type":"subscribe","topic":"t","client_id":["c"]}', 'client_id must be a non-empty string'],
  ['{"type":"subscribe","topic":"t","client_id":"c","last_n":"5"}', 'last_n must be a non-negative integer'],
  ['{"type":"unsubscribe","topic":"t","client_id":0}', 'client_id must be a non-empty string'],
  ['{"type":"publish","topic":"t"}', 'message must be an object with id and payload'],
  ['{"type":"publish","topic":"t","message":[1]}', 'message must be an object with id and payload'],
  [`{"type":"publish","topic":"t","message":{"id":"${UUID}"}}`, 'message.payload: Expected required property'],
  ['{"type":"publish","topic":"t","message":{"id":"x","payload":1}}', 'message.id must be a valid UUID'],
  ['{"type":"ping","request_id":{"a":1}}', 'request_id must be a string'],
]

describe('decision 14: bad frames', () => {
  test('every kind of bad text frame gets exactly one BAD_REQUEST saying what is wrong; the connection stays usable', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using c = await connect(server.ws)
    for (const [text, message] of BAD_TEXT) {
      c.sendRaw(text)
      c.send({ type: 'ping', request_id: 'after' })
      const reply = await c.next()
      expect({ text, type: reply.type, error: reply.error }).toEqual({ text, type: 'error', error: { code: 'BAD_REQUEST', message } })
      expect(JSON.stringify(reply)).not.toContain(' at ') // no stack trace
      // Exactly one reply: the next frame is the pong of the ping sent after it.
      expect(await c.next()).toMatchObject({ type: 'pong', request_id: 'after' })
    }
    expect(c.inbox).toEqual([])
  })

  // Regression: with Elysia's .ws(), a text frame starting with '"' was JSON-parsed by Elysia and then again by
  // herald, so a JSON string whose content is a frame was executed as that frame. The route now gets the raw text.
  test('a JSON string is not a frame, even one that contains a frame (BAD_REQUEST "frame must be a JSON object")', async () => {
    await using server = startServer()
    using c = await connect(server.ws)
    for (const text of ['"just a string"', JSON.stringify(JSON.stringify({ type: 'ping', request_id: 'wrapped' }))]) {
      c.sendRaw(text)
      expect(await c.next()).toMatchObject({ type: 'error', error: { code: 'BAD_REQUEST', message: 'frame must be a JSON object' } })
    }
  })

  test('a JSON string frame still gets a BAD_REQUEST (whatever its wording) and the connection stays usable', async () => {
    await using server = startServer()
    using c = await connect(server.ws)
    c.sendRaw('"just a string"')
    expect(await c.next()).toMatchObject({ type: 'error', error: { code: 'BAD_REQUEST' } })
    expect((await c.request({ type: 'ping' })).type).toBe('pong')
  })

  test('the request_id of an invalid frame is echoed in its error', async () => {
    await using server = startServer()
    using c = await connect(server.ws)
    c.sendRaw(JSON.stringify({ type: 'publish', topic: 't', message: { id: 'bad', payload: 1 }, request_id: 'r-bad' }))
    expect(await c.next()).toMatchObject({ type: 'error', request_id: 'r-bad', error: { code: 'BAD_REQUEST' } })
    c.sendRaw(JSON.stringify({ type: 'teleport', request_id: 'r-unknown' }))
    expect(await c.next()).toMatchObject({ type: 'error', request_id: 'r-unknown', error: { code: 'BAD_REQUEST' } })
  })

  test('a binary frame gets BAD_REQUEST and the connection stays open', async () => {
    await using server = startServer()
    using c = await connect(server.ws)
    for (const bytes of [new Uint8Array([1, 2, 3]), new TextEncoder().encode('{"type":"ping","request_id":"bin"}'), new Uint8Array(0)]) {
      c.sendRaw(bytes)
      const reply = await c.next()
      expect(reply.type).toBe('error')
      expect(reply.error).toEqual({ code: 'BAD_REQUEST', message: 'binary frames are not supported: send JSON text frames' })
    }
    expect((await c.request({ type: 'ping' })).type).toBe('pong')
  })

  test('bad frames over a raw socket (fragmented, odd bytes) never close the connection', async () => {
    await using server = startServer()
    const raw = await rawConnect(server.port)
    try {
      // A text message split over two fragments, then invalid UTF-8-free garbage JSON.
      const whole = Buffer.from('{"type":"ping","request_id":"frag"}')
      raw.write(encodeClientFrame(1, whole.subarray(0, 10), false))
      raw.write(encodeClientFrame(0, whole.subarray(10), true))
      raw.sendText('}{')
      raw.sendText('{"type":"ping","request_id":"end"}')
      const frames = (await raw.waitForTextFrames(3, 3000)).map(json)
      expect(frames[0]).toMatchObject({ type: 'pong', request_id: 'frag' })
      expect(frames[1]).toMatchObject({ type: 'error', error: { code: 'BAD_REQUEST', message: 'invalid JSON' } })
      expect(frames[2]).toMatchObject({ type: 'pong', request_id: 'end' })
      expect(raw.socket.destroyed).toBe(false)
    } finally {
      raw.destroy()
    }
  })

  test('while one client sends garbage, other clients keep being served', async () => {
    await using server = startServer()
    expect(await server.createTopic('t')).toBe(201)
    using sub = await connect(server.ws)
    expect((await sub.request({ type: 'subscribe', topic: 't', client_id: 's' })).type).toBe('ack')
    using bad = await connect(server.ws)
    using pub = await connect(server.ws)
    for (let i = 1; i <= 20; i++) {
      const [text] = BAD_TEXT[i % BAD_TEXT.length]!
      bad.sendRaw(text)
      bad.sendRaw(new Uint8Array([i]))
      pub.send({ type: 'publish', topic: 't', message: { id: uuid(), payload: i } })
    }
    const got: number[] = []
    while (got.length < 20) got.push((await sub.nextOfType('event')).message.payload)
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    // The bad client got one error per bad frame (40), nothing else, and is still open.
    const errors = []
    while (errors.length < 40) errors.push(await bad.next())
    expect(errors.every((f) => f.type === 'error' && f.error.code === 'BAD_REQUEST')).toBe(true)
    expect((await bad.request({ type: 'ping' })).type).toBe('pong')
    expect((await rest(server.http, 'GET', '/health')).status).toBe(200)
  })

  test('a frame larger than MAX_PAYLOAD_BYTES closes only that connection with 1009', async () => {
    await using server = startServer({ maxPayloadBytes: 1024 })
    using big = await connect(server.ws)
    using other = await connect(server.ws)
    big.sendRaw(JSON.stringify({ type: 'ping', request_id: 'x'.repeat(2048) }))
    expect((await big.closed).code).toBe(1009)
    expect((await other.request({ type: 'ping' })).type).toBe('pong')
  })

  test('wire-level garbage closes only the offending connection; the server keeps serving', async () => {
    await using server = startServer()
    using other = await connect(server.ws)
    for (const garbage of [
      Buffer.from('GET / HTTP/1.1\r\n\r\n'), // not a frame at all
      Buffer.from([0x83, 0x80, 0, 0, 0, 0]), // reserved opcode 3
      Buffer.from([0x81, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f]), // unmasked client frame
      Buffer.from([0xf1, 0x80, 0, 0, 0, 0]), // reserved bits set
    ]) {
      const raw = await rawConnect(server.port)
      try {
        raw.write(garbage)
        await within(raw.ended, 5000, 'the server to drop the connection')
      } finally {
        raw.destroy()
      }
      expect((await other.request({ type: 'ping' })).type).toBe('pong')
    }
    expect((await rest(server.http, 'GET', '/health')).status).toBe(200)
  })
})

test('a plain GET /ws without an upgrade gets 400 BAD_REQUEST with the error body', async () => {
  await using server = startServer()
  const res = await fetch(`${server.http}/ws`)
  expect(res.status).toBe(400)
  expect(((await res.json()) as any).error.code).toBe('BAD_REQUEST')
})
