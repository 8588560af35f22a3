/**
 * Replies written at once inside the connection's own message handler
 * (Hub.enterHandler, Hub.writeThrough): only when nothing else waits on the
 * connection and its socket has room; otherwise they queue in order, and a
 * backpressured write stalls the connection as a flush would. The hub alone,
 * with fake sinks.
 */
import { describe, expect, test } from 'bun:test'
import { Hub } from '../../src/hub/hub'
import { ackFrame } from '../../src/protocol/server-frames'
import { FakeNativeFanout, FakeSink, NativeFakeSink, publication, turn } from '../helpers/fake-sink'

const HIGH_WATER = 1 << 16

/** A sink whose writes report backpressure (-1) while `pressed`, as Bun's sendText does once it has to buffer. */
class PressedSink extends FakeSink {
  pressed = false
  override send(text: string): number {
    const n = super.send(text)
    return this.pressed && n > 0 ? -1 : n
  }
}

function setUp() {
  const hub = new Hub({ queueSize: 10, historySize: 10, slowConsumerPolicy: 'drop_oldest', socketHighWaterBytes: HIGH_WATER, stallPollMs: 60_000 })
  const sink = new PressedSink()
  const connection = hub.connect(sink)
  return { hub, sink, connection }
}

/** Runs `fn` as the transport runs a message handler: between enterHandler and leaveHandler. */
function inHandler(hub: Hub, connection: ReturnType<Hub['connect']>, fn: () => void): void {
  hub.enterHandler(connection)
  try {
    fn()
  } finally {
    hub.leaveHandler()
  }
}

const pong = (id: string) => JSON.stringify({ type: 'pong', request_id: id })

describe('Hub: replies written through in the message handler', () => {
  test('with nothing waiting, a reply in the handler is written at once; outside it, at the next turn', async () => {
    const { hub, sink, connection } = setUp()
    inHandler(hub, connection, () => {
      hub.reply(connection, pong('a'))
      hub.reply(connection, pong('b'))
    })
    expect(sink.take().map((f) => f.request_id)).toEqual(['a', 'b'])
    hub.reply(connection, pong('c'))
    expect(sink.frames).toEqual([])
    await turn()
    expect(sink.take().map((f) => f.request_id)).toEqual(['c'])
    hub.closeAll(1001, 'done')
  })

  test('behind a queued reply or event, a reply in the handler queues and keeps its place', async () => {
    const { hub, sink, connection } = setUp()
    const sub = hub.beginSubscribe(connection, 't', 'c')
    const position = { seq: 0, epoch: 'e' }
    hub.activate(sub, ackFrame('s', 't', position), { position, publications: [] })
    hub.reply(connection, pong('queued'))
    hub.publication(publication('t', 1))
    inHandler(hub, connection, () => hub.reply(connection, pong('after')))
    expect(sink.frames).toEqual([])
    await turn()
    expect(sink.take().map((f) => f.request_id ?? `event ${f.seq}`)).toEqual(['s', 'queued', 'event 1', 'after'])
    hub.closeAll(1001, 'done')
  })

  test('behind an event deferred for the native fan-out, a reply in the handler waits for it', async () => {
    const hub = new Hub({ queueSize: 10, historySize: 10, slowConsumerPolicy: 'drop_oldest', socketHighWaterBytes: HIGH_WATER })
    const fanout = new FakeNativeFanout()
    hub.useNativeFanout(fanout)
    const sink = new NativeFakeSink(fanout)
    const connection = hub.connect(sink)
    const sub = hub.beginSubscribe(connection, 't', 'c')
    const position = { seq: 0, epoch: 'e' }
    hub.activate(sub, ackFrame('s', 't', position), { position, publications: [] })
    await turn()
    expect(sink.take().map((f) => f.request_id)).toEqual(['s'])
    // Deferred, not queued: the connection has no flush pending, only the mark.
    hub.publication(publication('t', 1))
    inHandler(hub, connection, () => hub.reply(connection, pong('after')))
    await turn()
    expect(sink.take().map((f) => f.request_id ?? `event ${f.seq}`)).toEqual(['event 1', 'after'])
    hub.closeAll(1001, 'done')
  })

  test('a socket at the high-water mark gets its reply through the queue', async () => {
    const { hub, sink, connection } = setUp()
    sink.buffered = HIGH_WATER
    inHandler(hub, connection, () => hub.reply(connection, pong('a')))
    expect(sink.frames).toEqual([])
    sink.buffered = 0
    await turn()
    expect(sink.take().map((f) => f.request_id)).toEqual(['a'])
    hub.closeAll(1001, 'done')
  })

  test('a written-through reply that meets backpressure stalls the connection: the next ones wait for the drain, in order', async () => {
    const { hub, sink, connection } = setUp()
    sink.pressed = true
    inHandler(hub, connection, () => {
      hub.reply(connection, pong('a'))
      hub.reply(connection, pong('b'))
    })
    expect(sink.take().map((f) => f.request_id)).toEqual(['a'])
    inHandler(hub, connection, () => hub.reply(connection, pong('c')))
    await turn()
    expect(sink.frames).toEqual([])
    sink.pressed = false
    hub.drained(connection)
    expect(sink.take().map((f) => f.request_id)).toEqual(['b', 'c'])
    hub.closeAll(1001, 'done')
  })
})
