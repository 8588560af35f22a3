import { describe, expect, test } from 'bun:test'
import { MemoryEngine } from '../../src/engine/memory-engine'
import { HeraldError } from '../../src/errors'
import { MAX_FRAME_DEPTH, decodeFrame, toJsonValue } from '../../src/protocol/decode-frame'
import { FakeSink, turn } from '../helpers/fake-sink'
import { dispatch, memoryPubSub } from '../helpers/pubsub'

const UUID = '550e8400-e29b-41d4-a716-446655440000'

function badRequest(value: unknown): string {
  try {
    decodeFrame(toJsonValue(value))
  } catch (error) {
    expect(error).toBeInstanceOf(HeraldError)
    expect((error as HeraldError).code).toBe('BAD_REQUEST')
    return (error as HeraldError).message
  }
  throw new Error(`accepted ${JSON.stringify(value)}`)
}

describe('decodeFrame: what is wrong, in one sentence', () => {
  test.each([
    ['{not json', 'invalid JSON'],
    [new Uint8Array([1, 2, 3]), 'binary frames are not supported: send JSON text frames'],
    [42, 'frame must be a JSON object'],
    [[{ type: 'ping' }], 'frame must be a JSON object'],
    [null, 'frame must be a JSON object'],
    [{}, 'type is required: one of subscribe, unsubscribe, publish, ping, refresh'],
    [{ type: 'shout' }, 'unknown type "shout": expected one of subscribe, unsubscribe, publish, ping, refresh'],
    [{ type: 7 }, 'unknown type 7: expected one of subscribe, unsubscribe, publish, ping, refresh'],
    [{ type: 'subscribe', client_id: 'c' }, 'topic must be 1–200 characters of A-Z a-z 0-9 . _ : -'],
    [{ type: 'subscribe', topic: 'has space', client_id: 'c' }, 'topic must be 1–200 characters of A-Z a-z 0-9 . _ : -'],
    [{ type: 'subscribe', topic: 't' }, 'client_id must be a non-empty string'],
    [{ type: 'subscribe', topic: 't', client_id: '' }, 'client_id must be a non-empty string'],
    [{ type: 'subscribe', topic: 't', client_id: 5 }, 'client_id must be a non-empty string'],
    [{ type: 'unsubscribe', topic: 't' }, 'client_id must be a non-empty string'],
    [{ type: 'subscribe', topic: 't', client_id: 'c', last_n: -1 }, 'last_n must be a non-negative integer'],
    [{ type: 'subscribe', topic: 't', client_id: 'c', last_n: 2.5 }, 'last_n must be a non-negative integer'],
    [{ type: 'subscribe', topic: 't', client_id: 'c', last_n: '3' }, 'last_n must be a non-negative integer'],
    [{ type: 'publish', topic: 't' }, 'message must be an object with id and payload'],
    [{ type: 'publish', topic: 't', message: 'hi' }, 'message must be an object with id and payload'],
    [{ type: 'publish', topic: 't', message: { payload: 1 } }, 'message.id must be a valid UUID'],
    [{ type: 'publish', topic: 't', message: { id: 'not-a-uuid', payload: 1 } }, 'message.id must be a valid UUID'],
    [{ type: 'publish', topic: 't', message: { id: UUID + '0', payload: 1 } }, 'message.id must be a valid UUID'],
    [{ type: 'ping', request_id: 12 }, 'request_id must be a string'],
  ] as [unknown, string][])('%j → %s', (value, message) => {
    expect(badRequest(value)).toBe(message)
  })

  test('accepts UUIDs of any version and case, any JSON payload, any request_id string', () => {
    for (const id of [UUID, UUID.toUpperCase(), '00000000-0000-0000-0000-000000000000', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '017f22e2-79b0-7cc3-98c4-dc0c0c07398f'])
      for (const payload of ['text', 3.5, null, [1, 2], { a: { b: [true] } }, false])
        expect(decodeFrame({ type: 'publish', topic: 't', message: { id, payload }, request_id: 'not a uuid at all' }).type).toBe('publish')
    expect(decodeFrame(toJsonValue('{"type":"ping"}'))).toEqual({ type: 'ping' })
    expect(decodeFrame({ type: 'subscribe', topic: 'a.b_c:d-1', client_id: 'c', last_n: 0 }).type).toBe('subscribe')
  })
})

describe('dispatchFrame', () => {
  async function run(received: unknown, engine = new MemoryEngine({ historySize: 10 })) {
    const pubsub = memoryPubSub({ engine })
    pubsub.createTopic('t')
    const sink = new FakeSink()
    const connection = pubsub.connect(sink)
    const logged: unknown[] = []
    dispatch(pubsub, connection, received, (error) => logged.push(error))
    await turn()
    return { frames: sink.take(), logged }
  }

  test('exactly one reply per frame, echoing request_id', async () => {
    expect((await run({ type: 'ping', request_id: 'p1' })).frames).toMatchObject([{ type: 'pong', request_id: 'p1' }])
    expect((await run({ type: 'subscribe', topic: 't', client_id: 'c', request_id: 's1' })).frames).toMatchObject([{ type: 'ack', request_id: 's1', topic: 't', status: 'ok' }])
    expect((await run({ type: 'unsubscribe', topic: 't', client_id: 'c', request_id: 'u1' })).frames).toMatchObject([{ type: 'ack', request_id: 'u1', topic: 't', status: 'ok' }])
    expect((await run({ type: 'publish', topic: 't', message: { id: UUID, payload: 1 }, request_id: 'x1' })).frames).toMatchObject([{ type: 'ack', request_id: 'x1', topic: 't' }])
  })

  test('errors echo the request_id even when the rest of the frame is invalid', async () => {
    const { frames } = await run(JSON.stringify({ type: 'publish', topic: 't', message: { id: 'nope', payload: 1 }, request_id: 'bad-1' }))
    expect(frames).toMatchObject([{ type: 'error', request_id: 'bad-1', error: { code: 'BAD_REQUEST', message: 'message.id must be a valid UUID' } }])
    const missing = await run({ type: 'subscribe', topic: 'missing', client_id: 'c', request_id: 'nf' })
    expect(missing.frames).toMatchObject([{ type: 'error', request_id: 'nf', error: { code: 'TOPIC_NOT_FOUND', message: "Topic 'missing' does not exist" } }])
    const raw = await run('{oops')
    expect(raw.frames).toMatchObject([{ type: 'error', error: { code: 'BAD_REQUEST', message: 'invalid JSON' } }])
    expect(raw.frames[0]!.request_id).toBeUndefined()
  })

  test('an unexpected failure becomes INTERNAL "internal error", logged, with no stack on the wire', async () => {
    // An engine whose publish fails in an unexpected way (not a HeraldError).
    const failing = new MemoryEngine({ historySize: 10 })
    failing.publish = () => {
      throw new Error('boom: secret detail')
    }
    const { frames, logged } = await run({ type: 'publish', topic: 't', message: { id: UUID, payload: 1 }, request_id: 'i1' }, failing)
    expect(frames).toMatchObject([{ type: 'error', request_id: 'i1', error: { code: 'INTERNAL', message: 'internal error' } }])
    expect(JSON.stringify(frames)).not.toContain('boom')
    expect(logged).toHaveLength(1)
  })
})

describe('decodeFrame: the depth bound with the text length given (the transport path)', () => {
  // The frame object is level 1; `x` opens `levels - 1` arrays inside it.
  const nested = (levels: number) => `{"type":"ping","x":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`

  test('a text nesting one level past the bound is refused; one at the bound is accepted', () => {
    const deep = nested(MAX_FRAME_DEPTH + 1)
    expect(() => decodeFrame(JSON.parse(deep), deep.length)).toThrow(`frame nests deeper than ${MAX_FRAME_DEPTH} levels`)
    const atBound = nested(MAX_FRAME_DEPTH)
    expect(decodeFrame(JSON.parse(atBound), atBound.length).type).toBe('ping')
  })

  test('a short text is accepted with its length; a value handed in without its text is still walked', () => {
    const short = '{"type":"ping","x":[[[1]]]}'
    expect(decodeFrame(JSON.parse(short), short.length).type).toBe('ping')
    // A parsed value handed in directly (no text): walked, whatever its size.
    let value: unknown = 1
    for (let i = 0; i < MAX_FRAME_DEPTH; i++) value = [value]
    expect(() => decodeFrame({ type: 'ping', x: value })).toThrow(`frame nests deeper than ${MAX_FRAME_DEPTH} levels`)
  })
})
