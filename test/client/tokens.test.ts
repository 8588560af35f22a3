/**
 * The SDK with user tokens against a real server (TOKEN_HMAC_SECRET, tokens
 * signed with jose): client_id from the token's sub, getToken() + refresh
 * before exp keeping the connection, and TOKEN_EXPIRED / 4401 → a reconnect
 * with a fresh token and a resubscribe.
 */
import { describe, expect, test } from 'bun:test'
import { HeraldClient, type StateChange } from '../../src/client'
import { collect, eventsReach, nextEvent, nextState } from '../helpers/client-events'
import { startServer } from '../helpers/server'
import { at, HMAC_SECRET, hmacKey, mint } from '../helpers/tokens'

const PERMISSIONS = { herald: { subscribe: ['orders'], publish: ['orders'] } }

describe('HeraldClient with tokens', () => {
  test('a token client subscribes and publishes as its sub (client_id from the token)', async () => {
    await using server = startServer({ tokenHmacSecret: HMAC_SECRET })
    await server.createTopic('orders')
    const token = await mint(hmacKey, { sub: 'alice', ...PERMISSIONS })
    const client = new HeraldClient(server.http, { token })
    try {
      await client.connect()
      expect(client.clientId).toBe('alice')
      const sub = client.subscribe('orders')
      const events = collect(sub)
      await sub.ready
      await client.publish('orders', 1)
      await eventsReach(sub, events, 1)
      // Not allowed by the token: FORBIDDEN, typed.
      expect(await client.publish('other', 1).catch((e) => e)).toMatchObject({ name: 'HeraldError', code: 'FORBIDDEN' })
    } finally {
      client.close()
    }
  })

  test('getToken() before exp: the refresh frame is accepted and the connection outlives the first token', async () => {
    await using server = startServer({ tokenHmacSecret: HMAC_SECRET })
    await server.createTopic('orders')
    let calls = 0
    const getToken = () => mint(hmacKey, { sub: 'alice', exp: at(2 + 60 * calls++), ...PERMISSIONS })
    // First token: 2 s; refreshed 1.5 s before exp.
    const client = new HeraldClient(server.http, { getToken, tokenRefreshMarginMs: 1500 })
    const states: StateChange[] = []
    client.on('state', (s) => states.push(s))
    const errors: unknown[] = []
    client.on('error', (e) => errors.push(e))
    try {
      await client.connect()
      const sub = client.subscribe('orders')
      const events = collect(sub)
      await sub.ready
      // Past the first token's exp (2 s) plus the server's one-second bound: still the same connection.
      await Bun.sleep(3200) // an observation window, not a synchronization
      expect(calls).toBe(2)
      expect(errors).toEqual([])
      expect(states.map((s) => s.state)).toEqual(['connecting', 'connected'])
      await client.publish('orders', 'after the first exp')
      await eventsReach(sub, events, 1)
    } finally {
      client.close()
    }
  }, 15_000)

  test('no refresh in time: TOKEN_EXPIRED, close 4401, then a reconnect with a fresh token from getToken() and a resubscribe', async () => {
    await using server = startServer({ tokenHmacSecret: HMAC_SECRET })
    await server.createTopic('orders')
    let calls = 0
    const getToken = () => mint(hmacKey, { sub: 'alice', exp: at(calls++ === 0 ? 1 : 3600), ...PERMISSIONS })
    // A refresh margin below zero: the refresh would come after exp, so the server expires the token first.
    const client = new HeraldClient(server.http, { getToken, tokenRefreshMarginMs: -60_000, minReconnectDelayMs: 50 })
    try {
      await client.connect()
      const sub = client.subscribe('orders')
      const events = collect(sub)
      await sub.ready
      const expired = nextEvent(client, 'error', (e) => e.code === 'TOKEN_EXPIRED', 5000)
      const lost = nextState(client, 'disconnected', 5000)
      await expired
      expect((await lost).closeCode).toBe(4401)
      const resubscribed = await nextEvent(sub, 'subscribed', (s) => s.resubscribed, 5000)
      // Nothing was published while it reconnected, and the same server holds the topic: it resumes with nothing missed.
      expect(resubscribed).toMatchObject({ resubscribed: true, wasRecovering: true, recovered: true })
      expect(calls).toBe(2)
      await client.publish('orders', 'with the new token')
      await eventsReach(sub, events, 1)
    } finally {
      client.close()
    }
  }, 15_000)
})
