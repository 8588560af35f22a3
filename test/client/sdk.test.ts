/** The client SDK against a real herald in this process (port 0, Bun's WebSocket). */
import { describe, expect, test } from 'bun:test'
import { HeraldClient, HeraldError } from '../../src/client'
import { collect, eventsReach, nextEvent, nextState } from '../helpers/client-events'
import { rest } from '../helpers/http'
import { startServer } from '../helpers/server'
import { tcpProxy } from '../helpers/tcp-proxy'
import { within } from '../helpers/wait'

describe('HeraldClient against a real server', () => {
  test('publish/subscribe round trip: the event carries the seq and the message; publish resolves with the id', async () => {
    await using server = startServer()
    await server.createTopic('orders')
    const client = new HeraldClient(server.http)
    try {
      await client.connect()
      expect(client.state).toBe('connected')
      const sub = client.subscribe('orders')
      const events = collect(sub)
      expect(await sub.ready).toMatchObject({ resubscribed: false, wasRecovering: false, recovered: false })
      expect(sub.state).toBe('subscribed')
      const result = await client.publish('orders', { order_id: 'ORD-1' })
      await eventsReach(sub, events, 1)
      expect(events[0]).toMatchObject({ type: 'event', topic: 'orders', seq: 1, message: { id: result.id, payload: { order_id: 'ORD-1' } } })
      const second = await client.publish('orders', 'two', { id: '550e8400-e29b-41d4-a716-446655440000' })
      expect(second.id).toBe('550e8400-e29b-41d4-a716-446655440000')
      await eventsReach(sub, events, 2)
      expect(events.map((e) => e.seq)).toEqual([1, 2])
    } finally {
      client.close()
    }
  })

  test('the ws:// form of the URL and ?api_key= work; a wrong key fails the first connect with CONNECT_FAILED', async () => {
    await using server = startServer({ apiKey: 'k3y' })
    const good = new HeraldClient(server.ws, { apiKey: 'k3y' })
    await good.connect()
    expect(await good.ping()).toBeGreaterThanOrEqual(0)
    good.close()
    const bad = new HeraldClient(server.http, { apiKey: 'wrong' })
    expect(await bad.connect().catch((e) => e)).toMatchObject({ code: 'CONNECT_FAILED' })
  })

  test('lastN replays past messages once, in order', async () => {
    await using server = startServer()
    await server.createTopic('t')
    const client = new HeraldClient(server.http)
    try {
      await client.connect()
      for (const n of [1, 2, 3]) await client.publish('t', n)
      const sub = client.subscribe('t', { lastN: 2 })
      const events = collect(sub)
      await sub.ready
      await eventsReach(sub, events, 2)
      await client.publish('t', 4)
      await eventsReach(sub, events, 3)
      expect(events.map((e) => [e.seq, e.message.payload])).toEqual([
        [2, 2],
        [3, 3],
        [4, 4],
      ])
    } finally {
      client.close()
    }
  })

  test('errors are typed: publish or subscribe to an unknown topic → HeraldError TOPIC_NOT_FOUND; bad options are refused before sending', async () => {
    await using server = startServer()
    const client = new HeraldClient(server.http)
    try {
      await client.connect()
      const error = await client.publish('nope', 1).catch((e) => e)
      expect(error).toBeInstanceOf(HeraldError)
      expect(error).toMatchObject({ code: 'TOPIC_NOT_FOUND', details: { topic: undefined } })
      const sub = client.subscribe('nope')
      const subError = nextEvent(sub, 'error')
      expect(await sub.ready.catch((e) => e)).toMatchObject({ code: 'TOPIC_NOT_FOUND' })
      expect((await subError).code).toBe('TOPIC_NOT_FOUND')
      expect(sub.state).toBe('unsubscribed')
      // Refused subscription is forgotten: the topic can be subscribed again.
      await server.createTopic('nope')
      expect((await client.subscribe('nope').ready).recovered).toBe(false)
      expect(await client.publish('nope', { n: 1n }).catch((e) => e)).toMatchObject({ name: 'HeraldError', code: 'INVALID_ARGUMENT' })
      expect(client.state).toBe('connected')
      expect(() => client.subscribe('x', { sinceSeq: 3 })).toThrow('sinceSeq needs the epoch')
      expect(() => client.subscribe('x', { sinceSeq: 3, epoch: 'e', lastN: 2 })).toThrow('not both')
      const big = await client.publish('nope', 'x'.repeat(2 * 1024 * 1024)).catch((e) => e)
      expect(big).toBeInstanceOf(HeraldError)
    } finally {
      client.close()
    }
  })

  test('publish times out with TIMEOUT when the server never replies', async () => {
    // A WebSocket server that accepts and never answers.
    const silent = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: (req, s) => (s.upgrade(req) ? undefined : new Response('no', { status: 400 })), websocket: { message() {} } })
    try {
      const client = new HeraldClient(`http://127.0.0.1:${silent.port}`, { requestTimeoutMs: 200 })
      await client.connect()
      expect(await client.publish('t', 1).catch((e) => e)).toMatchObject({ name: 'HeraldError', code: 'TIMEOUT' })
      client.close()
    } finally {
      silent.stop(true)
    }
  })

  test('unsubscribe: no event after its ack', async () => {
    await using server = startServer()
    await server.createTopic('t')
    const client = new HeraldClient(server.http)
    try {
      await client.connect()
      const sub = client.subscribe('t')
      const events = collect(sub)
      await sub.ready
      await client.publish('t', 1)
      await eventsReach(sub, events, 1)
      await sub.unsubscribe()
      expect(sub.state).toBe('unsubscribed')
      // The publisher's own event would precede this ack on the same connection.
      await client.publish('t', 2)
      expect(events.map((e) => e.seq)).toEqual([1])
      expect((await rest(server.http, 'GET', '/topics')).body.topics).toEqual([{ name: 't', subscribers: 0 }])
    } finally {
      client.close()
    }
  })

  test('a deleted topic ends the subscription with a deleted event; the connection stays', async () => {
    await using server = startServer()
    await server.createTopic('t')
    const client = new HeraldClient(server.http)
    try {
      await client.connect()
      const sub = client.subscribe('t')
      await sub.ready
      const deleted = nextEvent(sub, 'deleted')
      expect((await rest(server.http, 'DELETE', '/topics/t')).status).toBe(200)
      expect(await deleted).toEqual({ topic: 't' })
      expect(sub.state).toBe('unsubscribed')
      expect(client.state).toBe('connected')
    } finally {
      client.close()
    }
  })

  test('graceful shutdown: shutdown event, close 1001 → reconnect at once (retryInMs 0), resubscribe on the new server with recovered:false', async () => {
    const first = startServer()
    const port = first.port
    await first.createTopic('t')
    // Through a proxy that refuses connections until the new server has its topic (see tcp-proxy.ts).
    using proxy = tcpProxy(port)
    const client = new HeraldClient(proxy.http, { minReconnectDelayMs: 100, maxReconnectDelayMs: 100 })
    try {
      await client.connect()
      const sub = client.subscribe('t')
      const events = collect(sub)
      await sub.ready
      await client.publish('t', 'before')
      await eventsReach(sub, events, 1)
      const shutdown = nextEvent(client, 'shutdown')
      const disconnected = nextState(client, 'disconnected')
      proxy.refuse = true
      await first.shutdown()
      expect((await shutdown).ts).toEqual(expect.any(String))
      expect(await disconnected).toMatchObject({ closeCode: 1001, retryInMs: 0 })
      // The immediate attempt after a 1001 finds nothing yet; the next ones back off (≤ 100 ms).
      await using second = startServer({ port })
      await second.createTopic('t')
      proxy.refuse = false
      const resubscribed = await nextEvent(sub, 'subscribed', (s) => s.resubscribed)
      // Today's server has no epoch: the SDK cannot resume, and says so instead of claiming a recovery.
      expect(resubscribed).toMatchObject({ resubscribed: true, recovered: false, missed: null })
      expect(client.state).toBe('connected')
      await client.publish('t', 'after')
      await eventsReach(sub, events, 2)
      expect(events.map((e) => e.message.payload)).toEqual(['before', 'after'])
    } finally {
      client.close()
    }
  })

  test('dead connection: no frame from the server within heartbeatTimeoutMs → the client replaces the connection', async () => {
    // The server's heartbeat is an hour: silence; the client gives up after 300 ms.
    await using server = startServer({ heartbeatIntervalMs: 3_600_000 })
    const client = new HeraldClient(server.http, { heartbeatTimeoutMs: 300, minReconnectDelayMs: 10 })
    try {
      await client.connect()
      const started = performance.now()
      const lost = await nextState(client, 'disconnected', 3000)
      expect(lost.closeReason).toBe('no frame from the server for 300 ms')
      expect(performance.now() - started).toBeGreaterThanOrEqual(250)
      await nextState(client, 'connected', 3000)
    } finally {
      client.close()
    }
  })

  test('the server heartbeat keeps a quiet connection alive', async () => {
    await using server = startServer({ heartbeatIntervalMs: 100 })
    const client = new HeraldClient(server.http, { heartbeatTimeoutMs: 400 })
    try {
      await client.connect()
      let changes = 0
      client.on('state', () => changes++)
      // Observation window of five client timeouts (not a synchronization): pings must keep it connected.
      await Bun.sleep(2000)
      expect({ changes, state: client.state }).toEqual({ changes: 0, state: 'connected' })
    } finally {
      client.close()
    }
  })

  test('a close code that says not to retry (1009, frame too large) ends the client: closed, error with the code, no reconnect', async () => {
    await using server = startServer({ maxPayloadBytes: 1024 })
    await server.createTopic('t')
    const client = new HeraldClient(server.http, { minReconnectDelayMs: 1 })
    await client.connect()
    const closed = nextState(client, 'closed')
    const error = nextEvent(client, 'error')
    const publish = client.publish('t', 'x'.repeat(4096)).catch((e) => e)
    expect(await closed).toMatchObject({ closeCode: 1009 })
    expect(await error).toMatchObject({ code: 'CLOSED', details: { closeCode: 1009 } })
    expect(await publish).toMatchObject({ code: 'DISCONNECTED' })
    expect(await client.connect().catch((e) => e)).toMatchObject({ code: 'CLOSED' })
  })

  test('close(): pending requests reject with CLOSED, the state is closed', async () => {
    await using server = startServer()
    const client = new HeraldClient(server.http, { waitForFirstConnect: true })
    // Not connected yet: the publish waits for a connection that close() ends.
    const publish = client.publish('t', 1).catch((e) => e)
    client.close()
    expect(await within(publish, 1000, 'publish to reject')).toMatchObject({ code: 'CLOSED' })
    expect(client.state).toBe('closed')
  })

  test('a publish made while disconnected is sent once connected', async () => {
    await using server = startServer()
    await server.createTopic('t')
    const client = new HeraldClient(server.http)
    try {
      const publish = client.publish('t', 'early')
      await client.connect()
      expect((await publish).id).toEqual(expect.any(String))
      expect((await rest(server.http, 'GET', '/stats')).body.topics.t.messages).toBe(1)
    } finally {
      client.close()
    }
  })

  test('publish resolves with the seq and epoch of the ack; a topic created again counts in a new epoch', async () => {
    await using server = startServer()
    await server.createTopic('t')
    const client = new HeraldClient(server.http)
    try {
      await client.connect()
      const first = await client.publish('t', 1)
      const second = await client.publish('t', 2)
      expect(first).toMatchObject({ seq: 1, epoch: expect.any(String) })
      expect(second).toMatchObject({ seq: 2, epoch: first.epoch })
      expect((await rest(server.http, 'DELETE', '/topics/t')).status).toBe(200)
      await server.createTopic('t')
      const again = await client.publish('t', 3)
      expect(again.seq).toBe(1)
      expect(again.epoch).not.toBe(first.epoch)
    } finally {
      client.close()
    }
  })

  /** A subscriber behind a proxy whose connection the test cuts, while a publisher on the server goes on. */
  async function cutAndResume(options: { historySize: number; publishedWhileCut: number }) {
    await using server = startServer({ historySize: options.historySize })
    await server.createTopic('t')
    using proxy = tcpProxy(server.port)
    const subscriber = new HeraldClient(proxy.http, { minReconnectDelayMs: 20, maxReconnectDelayMs: 50 })
    const publisher = new HeraldClient(server.http)
    try {
      await Promise.all([subscriber.connect(), publisher.connect()])
      const sub = subscriber.subscribe('t')
      const events = collect(sub)
      await sub.ready
      for (let i = 1; i <= 3; i++) await publisher.publish('t', i)
      await eventsReach(sub, events, 3)
      proxy.refuse = true
      const lost = nextState(subscriber, 'disconnected')
      proxy.cut()
      await lost
      for (let i = 0; i < options.publishedWhileCut; i++) await publisher.publish('t', `while cut ${i}`)
      const resumed = nextEvent(sub, 'subscribed', (s) => s.resubscribed, 10_000)
      proxy.refuse = false
      const info = await resumed
      await publisher.publish('t', 'live')
      await within(
        (async () => {
          while (events.at(-1)?.message.payload !== 'live') await nextEvent(sub, 'event')
        })(),
        5000,
        'the live event after the resume',
      )
      return { info, seqs: events.map((e) => e.seq) }
    } finally {
      subscriber.close()
      publisher.close()
    }
  }

  test('a cut connection → the SDK resubscribes with since_seq + epoch → recovered:true and exactly the missed events, no duplicate', async () => {
    const { info, seqs } = await cutAndResume({ historySize: 100, publishedWhileCut: 20 })
    expect(info).toMatchObject({ resubscribed: true, wasRecovering: true, recovered: true })
    expect(seqs).toEqual(Array.from({ length: 24 }, (_, i) => i + 1))
  })

  test('history trimmed while cut → recovered:false with missed = N − kept, and no silent gap claimed', async () => {
    const { info, seqs } = await cutAndResume({ historySize: 5, publishedWhileCut: 20 })
    expect(info).toMatchObject({ resubscribed: true, wasRecovering: true, recovered: false, missed: 15 })
    expect(seqs).toEqual([1, 2, 3, 24])
  })

  test('presence: true → presence join/leave events: its own join, one join and one leave for a client_id on two clients; none without presence', async () => {
    await using server = startServer()
    await server.createTopic('room')
    const watcher = new HeraldClient(server.http, { clientId: 'w' })
    const plain = new HeraldClient(server.http, { clientId: 'p' })
    const bobs = [new HeraldClient(server.http, { clientId: 'bob' }), new HeraldClient(server.http, { clientId: 'bob' })]
    try {
      await Promise.all([watcher, plain, ...bobs].map((c) => c.connect()))
      const sub = watcher.subscribe('room', { presence: true })
      const seen: Array<{ msg: string; client_id: string }> = []
      sub.on('presence', (p) => seen.push(p))
      const own = nextEvent(sub, 'presence')
      await sub.ready
      expect(await own).toEqual({ msg: 'join', client_id: 'w' })
      const quiet = plain.subscribe('room')
      const plainSeen: unknown[] = []
      quiet.on('presence', (p) => plainSeen.push(p))
      await quiet.ready
      const joinP = nextEvent(sub, 'presence', (p) => p.client_id === 'p')
      expect(await joinP).toEqual({ msg: 'join', client_id: 'p' })
      const bobJoin = nextEvent(sub, 'presence', (p) => p.client_id === 'bob')
      const bobSubs = bobs.map((b) => b.subscribe('room'))
      await Promise.all(bobSubs.map((b) => b.ready))
      expect(await bobJoin).toEqual({ msg: 'join', client_id: 'bob' })
      await bobSubs[0]!.unsubscribe()
      const bobLeave = nextEvent(sub, 'presence', (p) => p.client_id === 'bob')
      await bobSubs[1]!.unsubscribe()
      expect(await bobLeave).toEqual({ msg: 'leave', client_id: 'bob' })
      expect(seen).toEqual([
        { msg: 'join', client_id: 'w' },
        { msg: 'join', client_id: 'p' },
        { msg: 'join', client_id: 'bob' },
        { msg: 'leave', client_id: 'bob' },
      ])
      // Every presence frame reached the watcher before this round trip's pong; the plain subscription got none.
      await plain.ping()
      expect(plainSeen).toEqual([])
    } finally {
      for (const c of [watcher, plain, ...bobs]) c.close()
    }
  })
})
