/**
 * User tokens on /ws (issue 12): real signatures (HS256, RS256, ES256, a JWKS
 * with two keys), refused before the upgrade with one body whatever is wrong,
 * topic permissions per frame, client_id bound to sub, refresh, and expiry
 * closing with 4401 within a second of exp.
 */
import { describe, expect, test } from 'bun:test'
import { createLogger } from '../../src/log'
import { type Config, loadConfig } from '../../src/config'
import { startHerald } from '../../src/server'
import { scrape } from '../helpers/prometheus'
import { startServer } from '../helpers/server'
import { HMAC_SECRET, at, hmacKey, keyPair, mint, unsecured, writeKeyFile } from '../helpers/tokens'
import { encodeClientFrame, json, rawConnect } from '../helpers/raw-ws'
import { rawUpgrade } from '../helpers/upgrade'
import { within } from '../helpers/wait'
import { connect, uuid } from '../helpers/ws-client'

const KEY = 'admin-key'
const admin = { 'x-api-key': KEY }
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

describe('token keys: each key source verifies its own tokens, on the Authorization header and ?token=', () => {
  test('HS256 (TOKEN_HMAC_SECRET)', async () => {
    await using server = startServer({ tokenHmacSecret: HMAC_SECRET })
    const token = await mint(hmacKey)
    using viaHeader = await connect(server.ws, bearer(token))
    expect((await viaHeader.request({ type: 'ping' })).type).toBe('pong')
    using viaQuery = await connect(`${server.ws}?token=${token}`)
    expect((await viaQuery.request({ type: 'ping' })).type).toBe('pong')
  })

  for (const alg of ['RS256', 'ES256'] as const)
    test(`${alg} (TOKEN_PUBLIC_KEY_FILE, a PEM public key)`, async () => {
      const pair = await keyPair(alg)
      await using server = startServer({ tokenPublicKeyFile: writeKeyFile(`${alg}.pem`, pair.publicPem) })
      using c = await connect(server.ws, bearer(await mint(pair.signing)))
      expect((await c.request({ type: 'ping' })).type).toBe('pong')
      // The same claims signed by another key of the same type: refused.
      const other = await keyPair(alg)
      expect((await rawUpgrade(server.port, '/ws', { authorization: `Bearer ${await mint(other.signing)}` })).status).toBe(401)
      // Algorithm confusion: HS256 "signed" with the server's public key as the HMAC secret. Refused.
      const confused = await mint({ alg: 'HS256', key: new TextEncoder().encode(pair.publicPem) })
      expect((await rawUpgrade(server.port, '/ws', { authorization: `Bearer ${confused}` })).status).toBe(401)
      expect((await rawUpgrade(server.port, '/ws', { authorization: `Bearer ${unsecured({})}` })).status).toBe(401)
    })

  test('a JWKS with two keys: kid selects the key', async () => {
    const rsa = await keyPair('RS256', 'rsa-1')
    const ec = await keyPair('ES256', 'ec-1')
    await using server = startServer({ tokenJwksFile: writeKeyFile('jwks.json', JSON.stringify({ keys: [rsa.publicJwk, ec.publicJwk] })) })
    for (const pair of [rsa, ec]) {
      using c = await connect(server.ws, bearer(await mint(pair.signing)))
      expect((await c.request({ type: 'ping' })).type).toBe('pong')
    }
    // A kid naming the other key, or no key at all: refused.
    expect((await rawUpgrade(server.port, '/ws', { authorization: `Bearer ${await mint({ ...rsa.signing, kid: 'ec-1' })}` })).status).toBe(401)
    expect((await rawUpgrade(server.port, '/ws', { authorization: `Bearer ${await mint({ ...rsa.signing, kid: 'nope' })}` })).status).toBe(401)
  })
})

describe('refusals: HTTP 401 before the upgrade, the same body whatever was wrong', () => {
  test('wrong key, wrong alg, alg none, expired, not yet valid, wrong iss/aud, missing sub/exp, malformed, too long, none at all', async () => {
    const rsa = await keyPair('RS256')
    await using server = startServer({ tokenHmacSecret: HMAC_SECRET, tokenIssuer: 'https://issuer.example', tokenAudience: 'herald' })
    const good = { iss: 'https://issuer.example', aud: 'herald' }
    using ok = await connect(server.ws, bearer(await mint(hmacKey, good)))
    expect((await ok.request({ type: 'ping' })).type).toBe('pong')

    const bad: Record<string, string | undefined> = {
      'wrong key': await mint({ alg: 'HS256', key: new TextEncoder().encode('another-secret-0123456789-abcdefghijkl') }, good),
      'wrong alg (RS256 for an HS256 server)': await mint(rsa.signing, good),
      'alg none': unsecured(good),
      expired: await mint(hmacKey, { ...good, exp: at(-10) }),
      'not yet valid': await mint(hmacKey, { ...good, nbf: at(600) }),
      'wrong issuer': await mint(hmacKey, { ...good, iss: 'https://evil.example' }),
      'no issuer': await mint(hmacKey, { aud: 'herald' }),
      'wrong audience': await mint(hmacKey, { ...good, aud: 'other' }),
      'missing sub': await mint(hmacKey, { ...good, sub: undefined }),
      'empty sub': await mint(hmacKey, { ...good, sub: '' }),
      'missing exp': await mint(hmacKey, { ...good, exp: undefined }),
      'permissions not a list': await mint(hmacKey, { ...good, herald: { subscribe: 'orders' as unknown as string[] } }),
      'an invalid pattern': await mint(hmacKey, { ...good, herald: { subscribe: ['a.>.b'] } }),
      malformed: 'not-a-token',
      'three garbage parts': 'abc.def.ghi',
      'longer than TOKEN_MAX_BYTES': 'a'.repeat(8193),
      'no credential': undefined,
    }
    const bodies = new Set<string>()
    for (const [what, token] of Object.entries(bad)) {
      for (const where of ['header', 'query'] as const) {
        const answer =
          token === undefined
            ? await rawUpgrade(server.port, '/ws')
            : where === 'header'
              ? await rawUpgrade(server.port, '/ws', { authorization: `Bearer ${token}` })
              : await rawUpgrade(server.port, `/ws?token=${encodeURIComponent(token)}`)
        expect({ what, where, status: answer.status }).toEqual({ what, where, status: 401 })
        bodies.add(answer.body)
      }
    }
    expect([...bodies]).toEqual([JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'missing or invalid credential (API key or token)' } })])
    // A 100 KB token does not even reach herald: Bun answers 431 for a request head over 16 KiB.
    expect((await rawUpgrade(server.port, '/ws', { authorization: `Bearer ${'a'.repeat(100_000)}` })).status).toBe(431)
    // Nothing was opened by the refused upgrades; the good connection is still served.
    expect((await fetch(`${server.http}/health`).then((r) => r.json() as Promise<any>)).connections).toBe(1)
    expect((await ok.request({ type: 'ping' })).type).toBe('pong')
  })

  test('with tokens configured, the API key still opens /ws (everything allowed); a wrong key is refused even with a good token', async () => {
    await using server = startServer({ tokenHmacSecret: HMAC_SECRET, apiKey: KEY })
    using c = await connect(server.ws, { headers: admin })
    expect(await server.createTopic('anything', admin)).toBe(201)
    expect((await c.request({ type: 'subscribe', topic: 'anything', client_id: 'ops' })).type).toBe('ack')
    expect((await c.request({ type: 'publish', topic: 'anything', message: { id: uuid(), payload: 1 } })).type).toBe('ack')
    const token = await mint(hmacKey)
    expect((await rawUpgrade(server.port, '/ws', { 'x-api-key': 'wrong', authorization: `Bearer ${token}` })).status).toBe(401)
    // A token never opens REST: admin routes need the key.
    const res = await fetch(`${server.http}/topics`, { headers: { authorization: `Bearer ${token}` } })
    expect(res.status).toBe(401)
  })
})

describe('permissions on the socket', () => {
  async function setup() {
    const server = startServer({ tokenHmacSecret: HMAC_SECRET, apiKey: KEY })
    for (const t of ['orders', 'chat.room1', 'secret']) expect(await server.createTopic(t, admin)).toBe(201)
    return server
  }

  test('subscribe and publish where the token allows; FORBIDDEN elsewhere, with request_id, and nothing happens', async () => {
    await using server = await setup()
    using alice = await connect(server.ws, bearer(await mint(hmacKey, { herald: { subscribe: ['orders', 'chat.*'], publish: ['chat.*'] } })))
    using watcher = await connect(server.ws, { headers: admin })
    expect((await watcher.request({ type: 'subscribe', topic: 'orders', client_id: 'w' })).type).toBe('ack')

    expect(await alice.request({ type: 'subscribe', topic: 'orders' })).toMatchObject({ type: 'ack', topic: 'orders' })
    expect(await alice.request({ type: 'subscribe', topic: 'chat.room1', client_id: 'alice' })).toMatchObject({ type: 'ack' })
    const refused = await alice.request({ type: 'subscribe', topic: 'secret' })
    expect(refused).toMatchObject({ type: 'error', request_id: expect.any(String), error: { code: 'FORBIDDEN' } })
    // A forbidden topic that does not exist is FORBIDDEN too: a token holder learns nothing about other topics.
    expect((await alice.request({ type: 'subscribe', topic: 'nope' })).error.code).toBe('FORBIDDEN')
    expect((await alice.request({ type: 'publish', topic: 'chat.room1', message: { id: uuid(), payload: 'hi' } })).type).toBe('ack')
    expect((await alice.request({ type: 'publish', topic: 'orders', message: { id: uuid(), payload: 'forged' } })).error.code).toBe('FORBIDDEN')
    // The forbidden publish reached nobody; the forbidden subscribe holds nothing.
    expect((await within(alice.nextOfType('event'), 3000, 'chat event')).topic).toBe('chat.room1')
    const marker = uuid()
    using publisher = await connect(server.ws, { headers: admin })
    for (const topic of ['secret', 'orders']) expect((await publisher.request({ type: 'publish', topic, message: { id: marker, payload: topic } })).type).toBe('ack')
    const next = await watcher.nextOfType('event')
    expect(next.message.payload).toBe('orders') // not 'forged'
    const aliceNext = await alice.nextOfType('event')
    expect(aliceNext).toMatchObject({ topic: 'orders', message: { payload: 'orders' } })
    expect(alice.inbox.filter((f) => f.type === 'event')).toEqual([])
  })

  test('client_id must be the token’s sub (a user cannot pose as another); absent means sub', async () => {
    await using server = await setup()
    using alice = await connect(server.ws, bearer(await mint(hmacKey, { herald: { subscribe: ['orders'] } })))
    const posing = await alice.request({ type: 'subscribe', topic: 'orders', client_id: 'bob' })
    expect(posing).toMatchObject({ type: 'error', error: { code: 'FORBIDDEN', message: expect.stringContaining('sub') } })
    expect((await fetch(`${server.http}/topics`, { headers: admin }).then((r) => r.json() as Promise<any>)).topics.find((t: any) => t.name === 'orders').subscribers).toBe(0)
    expect((await alice.request({ type: 'subscribe', topic: 'orders' })).type).toBe('ack')
    expect((await alice.request({ type: 'unsubscribe', topic: 'orders', client_id: 'bob' })).error.code).toBe('FORBIDDEN')
    expect((await alice.request({ type: 'unsubscribe', topic: 'orders' })).type).toBe('ack')
  })

  test('a refresh that narrows the permissions ends the subscriptions it no longer allows', async () => {
    await using server = await setup()
    using alice = await connect(server.ws, bearer(await mint(hmacKey, { herald: { subscribe: ['orders', 'chat.*'] } })))
    for (const topic of ['orders', 'chat.room1']) expect((await alice.request({ type: 'subscribe', topic })).type).toBe('ack')

    // Refused refreshes leave everything as it was.
    expect((await alice.request({ type: 'refresh', token: await mint(hmacKey, { sub: 'bob', herald: { subscribe: ['>'] } }) })).error.code).toBe('FORBIDDEN')
    expect((await alice.request({ type: 'refresh', token: 'garbage' })).error.code).toBe('UNAUTHORIZED')
    expect((await alice.request({ type: 'refresh', token: await mint(hmacKey, { exp: at(-5) }) })).error.code).toBe('UNAUTHORIZED')

    const ack = await alice.request({ type: 'refresh', token: await mint(hmacKey, { herald: { subscribe: ['orders'] } }) })
    expect(ack).toMatchObject({ type: 'ack' })
    // The notice came before the ack.
    const notice = alice.inbox.find((f) => f.type === 'info')
    expect(notice).toMatchObject({ type: 'info', msg: 'unsubscribed', topic: 'chat.room1', reason: expect.any(String) })
    using publisher = await connect(server.ws, { headers: admin })
    for (const topic of ['chat.room1', 'orders']) expect((await publisher.request({ type: 'publish', topic, message: { id: uuid(), payload: topic } })).type).toBe('ack')
    expect(await alice.nextOfType('event')).toMatchObject({ topic: 'orders' })
    expect(alice.inbox.filter((f) => f.type === 'event')).toEqual([])
    expect((await alice.request({ type: 'subscribe', topic: 'chat.room1' })).error.code).toBe('FORBIDDEN')
  })

  test('one refresh at a time: a second one while the first is verified gets BAD_REQUEST; the first still applies', async () => {
    await using server = await setup()
    const raw = await rawConnect(server.port, `/ws?token=${await mint(hmacKey, { herald: { subscribe: ['orders'] } })}`)
    try {
      const token = await mint(hmacKey, { herald: { subscribe: ['orders', 'chat.*'] } })
      // Both frames in one TCP write: the server reads them in one turn, so the second arrives while the first is verified.
      const frame = (request_id: string) => encodeClientFrame(1, Buffer.from(JSON.stringify({ type: 'refresh', token, request_id })))
      raw.write(Buffer.concat([frame('first'), frame('second')]))
      const replies = (await raw.waitForTextFrames(2, 3000)).map(json).sort((a, b) => a.request_id.localeCompare(b.request_id))
      expect(replies.map((r) => [r.request_id, r.type, r.error?.code])).toEqual([
        ['first', 'ack', undefined],
        ['second', 'error', 'BAD_REQUEST'],
      ])
      await raw.subscribe('chat.room1', 'alice')
    } finally {
      raw.destroy()
    }
  })

  test('a refresh on a connection without a token is FORBIDDEN', async () => {
    await using server = await setup()
    using c = await connect(server.ws, { headers: admin })
    expect((await c.request({ type: 'refresh', token: await mint(hmacKey) })).error.code).toBe('FORBIDDEN')
  })
})

describe('expiry', () => {
  test('at exp the server sends TOKEN_EXPIRED and closes with 4401 within one second; a refreshed connection stays', async () => {
    await using server = startServer({ tokenHmacSecret: HMAC_SECRET, apiKey: KEY })
    const exp = at(2)
    using expiring = await connect(server.ws, bearer(await mint(hmacKey, { exp })))
    using refreshed = await connect(server.ws, bearer(await mint(hmacKey, { exp })))
    expect((await refreshed.request({ type: 'refresh', token: await mint(hmacKey, { exp: exp + 30 }) })).type).toBe('ack')

    const error = await expiring.nextOfType('error', 4000)
    const closed = await within(expiring.closed, 2000, 'the close after TOKEN_EXPIRED')
    const closedAt = Date.now()
    expect(error).toMatchObject({ type: 'error', error: { code: 'TOKEN_EXPIRED' } })
    expect(closed.code).toBe(4401)
    expect(closedAt).toBeGreaterThanOrEqual(exp * 1000)
    expect(closedAt - exp * 1000).toBeLessThan(1000)
    expect((await refreshed.request({ type: 'ping' })).type).toBe('pong')
    const metrics = await scrape(server.http, admin)
    expect(metrics.value('herald_token_expired_total')).toBe(1)
    expect(metrics.value('herald_ws_connections_closed_total', { code: '4401' })).toBe(1)
  })
})

describe('observability', () => {
  test('metrics count connections by credential and refusals by reason; logs carry sub, never a token', async () => {
    const lines: string[] = []
    const config: Config = { ...loadConfig({}), host: '127.0.0.1', port: 0, shutdownGraceMs: 500, tokenHmacSecret: HMAC_SECRET, apiKey: KEY, allowedOrigins: 'https://good.example', maxConnections: 3 }
    const herald = startHerald(config, createLogger('debug', { format: 'json', write: (l) => lines.push(l) }))
    try {
      const ws = herald.url.replace('http', 'ws') + '/ws'
      const token = await mint(hmacKey, { sub: 'alice-42' })
      using a = await connect(ws, bearer(token))
      using b = await connect(`${ws}?token=${token}`)
      using k = await connect(ws, { headers: admin })
      expect((await rawUpgrade(herald.port, '/ws', { authorization: 'Bearer nope' })).status).toBe(401)
      expect((await rawUpgrade(herald.port, '/ws', { 'x-api-key': KEY, origin: 'https://evil.example' })).status).toBe(403)
      expect((await rawUpgrade(herald.port, '/ws', { 'x-api-key': KEY })).status).toBe(503)
      const m = await scrape(herald.url, admin)
      expect([m.value('herald_connections_by_auth', { auth: 'token' }), m.value('herald_connections_by_auth', { auth: 'api_key' }), m.value('herald_connections_by_auth', { auth: 'none' })]).toEqual([2, 1, 0])
      expect(m.value('herald_ws_refused_total', { reason: 'unauthorized' })).toBe(1)
      expect(m.value('herald_ws_refused_total', { reason: 'forbidden_origin' })).toBe(1)
      expect(m.value('herald_ws_refused_total', { reason: 'connection_limit' })).toBe(1)
      expect(m.value('herald_ws_refused_total', { reason: 'shutting_down' })).toBe(0)
      for (const c of [a, b, k]) expect((await c.request({ type: 'ping' })).type).toBe('pong')
      const connects = lines.map((l) => JSON.parse(l)).filter((e) => e.event === 'connect')
      expect(connects.map((e) => [e.auth, e.sub])).toEqual([
        ['token', 'alice-42'],
        ['token', 'alice-42'],
        ['api_key', undefined],
      ])
    } finally {
      await herald.shutdown()
    }
    const all = lines.join('\n')
    expect(all).toContain('"event":"disconnect"')
    expect(all).toContain('"sub":"alice-42"')
    for (const secret of [HMAC_SECRET, KEY, (await mint(hmacKey, { sub: 'alice-42' })).split('.')[2]!]) expect(all).not.toContain(secret)
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/) // no JWT anywhere
  })
})
