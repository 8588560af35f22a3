/**
 * The SDK's side of protocol parts herald does not serve yet, against a
 * scripted WebSocket server (test/helpers/scripted-server.ts) that answers
 * as those issues specify. Real-server versions are the test.todo entries in
 * sdk.test.ts and restart.test.ts; these stay as the SDK's own contract.
 */
import { describe, expect, test } from 'bun:test'
import { HeraldClient } from '../../src/client'
import { collect, eventsReach, nextEvent, nextState } from '../helpers/client-events'
import { FakeTimers } from '../helpers/fake-timers'
import { type ScriptedConnection, scriptedServer } from '../helpers/scripted-server'

const TS = '2026-01-01T00:00:00.000Z'
const event = (topic: string, seq: number) => ({ type: 'event', topic, seq, message: { id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`, payload: seq }, ts: TS })

/** Takes the client's subscribe frame and acks it with `fields`. */
async function ackSubscribe(conn: ScriptedConnection, fields: Record<string, unknown>): Promise<any> {
  const frame = await conn.next()
  expect(frame.type).toBe('subscribe')
  conn.send({ type: 'ack', request_id: frame.request_id, topic: frame.topic, status: 'ok', ts: TS, ...fields })
  return frame
}

/** An unsigned JWT-shaped token with `exp` (the SDK only reads exp; the server verifies). */
function tokenWithExp(expSeconds: number, sub = 'alice'): string {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, exp: expSeconds })}.sig`
}

describe('recovery (issue 10): since_seq + epoch', () => {
  test('after a reconnect: since_seq of the last event and its epoch; recovered:true → the replay is delivered once, duplicates dropped', async () => {
    using server = scriptedServer()
    const client = new HeraldClient(server.http, { minReconnectDelayMs: 10 })
    try {
      void client.connect()
      const first = await server.nextConnection()
      const sub = client.subscribe('orders')
      const events = collect(sub)
      const frame = await ackSubscribe(first, { seq: 0, epoch: 'E1' })
      expect(frame).not.toHaveProperty('since_seq')
      for (const seq of [1, 2, 3]) first.send(event('orders', seq))
      await eventsReach(sub, events, 3)
      expect(sub.position()).toEqual({ seq: 3, epoch: 'E1' })
      first.close(1012, 'restart')
      const second = await server.nextConnection()
      const subscribed = nextEvent(sub, 'subscribed')
      const resume = await ackSubscribe(second, { seq: 5, epoch: 'E1', recovered: true })
      expect(resume).toMatchObject({ topic: 'orders', since_seq: 3, epoch: 'E1' })
      expect(resume).not.toHaveProperty('last_n')
      expect(await subscribed).toEqual({ resubscribed: true, wasRecovering: true, recovered: true, seq: 5, epoch: 'E1' })
      for (const seq of [2, 3, 4, 5, 6]) second.send(event('orders', seq))
      await eventsReach(sub, events, 6)
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6])
    } finally {
      client.close()
    }
  })

  test('an ack without recovered (a server that ignored since_seq) is recovered:false, missed:null; a new epoch resets the position', async () => {
    using server = scriptedServer()
    const client = new HeraldClient(server.http, { minReconnectDelayMs: 10 })
    try {
      void client.connect()
      const first = await server.nextConnection()
      const sub = client.subscribe('t', { lastN: 5 })
      const events = collect(sub)
      const frame = await ackSubscribe(first, { seq: 7, epoch: 'E1' })
      expect(frame.last_n).toBe(5)
      for (const seq of [6, 7, 8]) first.send(event('t', seq)) // last_n replay then live
      await eventsReach(sub, events, 3)
      first.close(1012)
      const second = await server.nextConnection()
      const subscribed = nextEvent(sub, 'subscribed')
      expect(await ackSubscribe(second, { seq: 2, epoch: 'E2' })).toMatchObject({ since_seq: 8, epoch: 'E1' })
      expect(await subscribed).toMatchObject({ resubscribed: true, wasRecovering: true, recovered: false, missed: null, epoch: 'E2' })
      // seq 3 of the new epoch is below the old position but is new: delivered.
      second.send(event('t', 3))
      await eventsReach(sub, events, 4)
      expect(sub.position()).toEqual({ seq: 3, epoch: 'E2' })
      second.close(1012)
      const third = await server.nextConnection()
      const missed = nextEvent(sub, 'subscribed')
      await ackSubscribe(third, { seq: 60, epoch: 'E2', recovered: false, missed: 57 })
      expect((await missed).missed).toBe(57)
    } finally {
      client.close()
    }
  })

  test('subscribe({ sinceSeq, epoch }) resumes from a saved position on the first subscribe', async () => {
    using server = scriptedServer()
    const client = new HeraldClient(server.http)
    try {
      void client.connect()
      const conn = await server.nextConnection()
      const sub = client.subscribe('t', { sinceSeq: 41, epoch: 'E9' })
      expect(await ackSubscribe(conn, { seq: 42, epoch: 'E9', recovered: true })).toMatchObject({ since_seq: 41, epoch: 'E9' })
      expect(await sub.ready).toMatchObject({ resubscribed: false, wasRecovering: true, recovered: true })
    } finally {
      client.close()
    }
  })
})

describe('tokens (issue 12)', () => {
  test('getToken() before each connection (?token=), and before exp a refresh frame on the open connection', async () => {
    using server = scriptedServer()
    const timers = new FakeTimers()
    const nowS = timers.epochMs() / 1000
    const tokens = [tokenWithExp(nowS + 60), tokenWithExp(nowS + 120), tokenWithExp(nowS + 600)]
    let calls = 0
    const client = new HeraldClient(server.http, { timers, getToken: () => tokens[calls++]!, tokenRefreshMarginMs: 30_000, heartbeatTimeoutMs: 0 })
    try {
      const connected = client.connect()
      const conn = await server.nextConnection()
      await connected
      expect(conn.url.searchParams.get('token')).toBe(tokens[0]!)
      expect(calls).toBe(1)
      // exp − 30 s = 30 s from now.
      timers.advance(29_999)
      expect(calls).toBe(1)
      timers.advance(1)
      const refresh = await conn.next()
      expect(refresh).toMatchObject({ type: 'refresh', token: tokens[1] })
      expect(calls).toBe(2)
      conn.send({ type: 'ack', request_id: refresh.request_id, status: 'ok', ts: TS })
      // A lost connection: the next attempt asks getToken() again.
      const lost = nextState(client, 'disconnected')
      conn.close(4401, 'token expired: reconnect with a new token')
      expect((await lost).closeCode).toBe(4401)
      timers.advance(1000)
      const next = await server.nextConnection()
      expect(next.url.searchParams.get('token')).toBe(tokens[2]!)
    } finally {
      client.close()
    }
  })

  test('getToken() returning a token that expires no later than the current one: an error event, no refresh frame (no refresh loop)', async () => {
    using server = scriptedServer()
    const timers = new FakeTimers()
    const token = tokenWithExp(timers.epochMs() / 1000 + 60)
    const client = new HeraldClient(server.http, { timers, getToken: () => token, heartbeatTimeoutMs: 0 })
    try {
      const connected = client.connect()
      const conn = await server.nextConnection()
      await connected
      const error = nextEvent(client, 'error')
      timers.advance(30_000)
      expect(await error).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringContaining('expires no later') })
      void client.ping().catch(() => undefined)
      expect((await conn.next()).type).toBe('ping') // the first frame after connecting: no refresh was sent
      expect(timers.delays().length).toBeLessThanOrEqual(1) // only the ping's timeout; nothing re-armed
    } finally {
      client.close()
    }
  })

  test('an error frame with no request (TOKEN_EXPIRED) is a client error event', async () => {
    using server = scriptedServer()
    const client = new HeraldClient(server.http)
    try {
      void client.connect()
      const conn = await server.nextConnection()
      await nextState(client, 'connected')
      const error = nextEvent(client, 'error')
      conn.send({ type: 'error', error: { code: 'TOKEN_EXPIRED', message: 'token expired' }, ts: TS })
      expect(await error).toMatchObject({ name: 'HeraldError', code: 'TOKEN_EXPIRED' })
    } finally {
      client.close()
    }
  })
})

describe('notices for a subscription', () => {
  test('SLOW_CONSUMER → slow_consumer with the count; join/leave → presence; info unsubscribed → unsubscribed and the subscription ends', async () => {
    using server = scriptedServer()
    const client = new HeraldClient(server.http)
    try {
      void client.connect()
      const conn = await server.nextConnection()
      const sub = client.subscribe('room', { presence: true })
      expect(await ackSubscribe(conn, {})).toMatchObject({ presence: true })
      const slow = nextEvent(sub, 'slow_consumer')
      conn.send({ type: 'error', topic: 'room', error: { code: 'SLOW_CONSUMER', message: "dropped 37 oldest message(s) on topic 'room': subscriber too slow (queue size 100)" }, ts: TS })
      expect((await slow).dropped).toBe(37)
      const slowField = nextEvent(sub, 'slow_consumer')
      conn.send({ type: 'error', topic: 'room', error: { code: 'SLOW_CONSUMER', message: 'x', dropped: 5 }, ts: TS })
      expect((await slowField).dropped).toBe(5)
      const join = nextEvent(sub, 'presence')
      conn.send({ type: 'info', topic: 'room', msg: 'join', client_id: 'bob', ts: TS })
      expect(await join).toEqual({ msg: 'join', client_id: 'bob' })
      const ended = nextEvent(sub, 'unsubscribed')
      conn.send({ type: 'info', topic: 'room', msg: 'unsubscribed', reason: 'token no longer allows room', ts: TS })
      expect(await ended).toEqual({ topic: 'room', reason: 'token no longer allows room' })
      expect(sub.state).toBe('unsubscribed')
      // An ended subscription is not subscribed again after a reconnect.
      conn.close(1012)
      const again = await server.nextConnection(5000)
      // Subscribes go out first on a new connection: the first frame being this ping means none was sent.
      void client.ping().catch(() => undefined)
      expect((await again.next()).type).toBe('ping')
    } finally {
      client.close()
    }
  })
})

describe('frames that are not herald’s', () => {
  test('non-JSON, null, unknown types and ill-shaped events or errors are ignored; the connection keeps working', async () => {
    using server = scriptedServer()
    const client = new HeraldClient(server.http)
    try {
      void client.connect()
      const conn = await server.nextConnection()
      const sub = client.subscribe('t')
      const events = collect(sub)
      await ackSubscribe(conn, {})
      let errors = 0
      client.on('error', () => errors++)
      for (const junk of ['not json', 'null', '42', '"text"', '{"type":"nope"}', '{"type":"event","topic":"t"}', '{"type":"event","topic":"t","seq":1}', '{"type":"error"}', '{"type":"error","error":null}']) conn.sendRaw(junk)
      conn.send(event('t', 1))
      await eventsReach(sub, events, 1)
      expect(events.map((e) => e.seq)).toEqual([1])
      expect(errors).toBe(0)
      expect(client.state).toBe('connected')
    } finally {
      client.close()
    }
  })
})
