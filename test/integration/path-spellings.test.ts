/**
 * Issue 8, part 2: the access decision must hold on exactly the requests
 * that reach a handler, whatever the path spelling. Every spelling is sent
 * verbatim on a raw TCP socket (a client library would normalize it). For
 * /ws: which spellings reach the upgrade is measured on an open server
 * (101), then every one of them must get 401 / 403 / 503 when the decision
 * says no, and no spelling at all may get 101. For REST: no spelling of a
 * protected route may run its handler without the key.
 */
import { describe, expect, test } from 'bun:test'
import { type Socket, connect as tcpConnect } from 'node:net'
import { startServer } from '../helpers/server'
import { HMAC_SECRET, hmacKey, mint } from '../helpers/tokens'
import { rawUpgrade } from '../helpers/upgrade'
import { within } from '../helpers/wait'
import { connect } from '../helpers/ws-client'

const WS_SPELLINGS = [
  '/ws', '/ws?', '/ws?x=1', '/ws#f', '/ws/', '/ws\\', '/ws/.', '/ws/..', '/ws//', '/ws/./', '/ws/?x', '/ws.', '/ws;', '/ws%20',
  '/ws%2f', '/ws%2F', '/ws%5c', '/%77s', '/w%73', '/WS', '/Ws', '//ws', '/./ws', '/x/../ws', '/topics/../ws', '/x/..\\ws', '/%2e/ws',
  '/ws/%2e', '/ws/x/..', 'http://127.0.0.1/ws', 'http://127.0.0.1/ws/', 'http://127.0.0.1/./ws',
]

describe('/ws: one decision for every path spelling that reaches the upgrade', () => {
  let reaching: string[] = []

  test('on an open server, the spellings that reach the upgrade (101)', async () => {
    await using server = startServer()
    const answers = await Promise.all(WS_SPELLINGS.map(async (path) => [path, (await rawUpgrade(server.port, path)).status] as const))
    reaching = answers.filter(([, status]) => status === 101).map(([path]) => path)
    // At least the plain spelling and its query forms; the others are whatever this Bun/Elysia router accepts.
    expect(reaching).toEqual(expect.arrayContaining(['/ws', '/ws?', '/ws?x=1', 'http://127.0.0.1/ws']))
    // Every other spelling is refused as an unknown route, never served some other way.
    for (const [path, status] of answers) if (!reaching.includes(path)) expect({ path, status }).toEqual({ path, status: 404 })
  })

  test('ALLOWED_ORIGINS: a bad Origin gets 403 on every spelling that reaches the upgrade, and no spelling gets 101', async () => {
    await using server = startServer({ allowedOrigins: 'https://good.example' })
    for (const path of WS_SPELLINGS) {
      const { status } = await rawUpgrade(server.port, path, { origin: 'https://evil.example' })
      expect({ path, status }).toEqual({ path, status: reaching.includes(path) ? 403 : 404 })
    }
    expect((await rawUpgrade(server.port, '/ws', { origin: 'https://good.example' })).status).toBe(101)
  })

  test('API_KEY: without the key every spelling that reaches the upgrade gets 401, and no spelling gets 101', async () => {
    await using server = startServer({ apiKey: 'k' })
    for (const path of WS_SPELLINGS) {
      const { status } = await rawUpgrade(server.port, path)
      // A spelling the router does not send to /ws is refused by the key check (401) or is an unknown route (404).
      expect({ path, refused: reaching.includes(path) ? status === 401 : status === 401 || status === 404 }).toEqual({ path, refused: true })
    }
  })

  test('MAX_CONNECTIONS: when full, every spelling that reaches the upgrade gets 503; the count never passes the limit', async () => {
    await using server = startServer({ maxConnections: 2 })
    using a = await connect(server.ws)
    using b = await connect(server.ws)
    for (const path of WS_SPELLINGS) {
      const { status } = await rawUpgrade(server.port, path)
      expect({ path, status }).toEqual({ path, status: reaching.includes(path) ? 503 : 404 })
    }
    expect((await fetch(`${server.http}/health`).then((r) => r.json() as Promise<any>)).connections).toBe(2)
    for (const c of [a, b]) expect((await c.request({ type: 'ping' })).type).toBe('pong')
  })

  test('MAX_CONNECTIONS under a burst: 100 concurrent upgrades (tokens being verified meanwhile) open exactly the free slots', async () => {
    for (const withToken of [false, true]) {
      await using server = startServer({ maxConnections: 5, ...(withToken ? { tokenHmacSecret: HMAC_SECRET } : {}) })
      const headers: Record<string, string> = withToken ? { authorization: `Bearer ${await mint(hmacKey)}` } : {}
      const sockets: Socket[] = []
      try {
        const statuses = await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            within(
              new Promise<string>((resolve) => {
                const socket = tcpConnect({ host: '127.0.0.1', port: server.port })
                sockets.push(socket)
                let text = ''
                socket.on('error', () => resolve('error'))
                socket.on('data', (d) => {
                  text += d.toString('latin1')
                  if (text.includes('\r\n')) resolve(text.split(' ')[1]!)
                })
                const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
                socket.on('connect', () =>
                  socket.write(`GET ${reaching[i % reaching.length]} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`),
                )
              }),
              5000,
              `the answer to upgrade ${i}`,
            ),
          ),
        )
        const count = (status: string) => statuses.filter((s) => s === status).length
        expect({ withToken, upgraded: count('101'), refused: count('503') }).toEqual({ withToken, upgraded: 5, refused: 95 })
        expect((await fetch(`${server.http}/health`).then((r) => r.json() as Promise<any>)).connections).toBe(5)
      } finally {
        for (const socket of sockets) socket.destroy()
      }
    }
  })

  test('shutdown: no spelling is upgraded once shutdown has begun, even on a request already in flight', async () => {
    const server = startServer({ shutdownGraceMs: 2000 })
    using holder = await connect(server.ws) // keeps the grace period running
    // Each request's head is half-written before shutdown begins and finished after.
    const sockets = await Promise.all(
      WS_SPELLINGS.map(async (path) => {
        const socket = tcpConnect({ host: '127.0.0.1', port: server.port })
        socket.on('error', () => {})
        let text = ''
        socket.on('data', (d) => (text += d.toString('latin1')))
        const ended = new Promise<void>((r) => socket.on('close', () => r()))
        await within(new Promise<void>((r) => socket.once('connect', () => r())), 3000, 'tcp connect')
        socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n`)
        return { path, socket, ended, answer: () => text.split('\r\n')[0]! }
      }),
    )
    const done = server.shutdown()
    expect((await holder.next()).msg).toBe('server_shutdown')
    for (const s of sockets) s.socket.write('Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
    for (const s of sockets) {
      await within(Promise.race([s.ended, new Promise<void>((r) => s.socket.once('data', () => r()))]), 5000, `an answer to ${s.path}`)
      expect({ path: s.path, upgraded: s.answer().startsWith('HTTP/1.1 101') }).toEqual({ path: s.path, upgraded: false })
      s.socket.destroy()
    }
    await done
  })
})

describe('REST: the key check holds for the route the router chose, whatever the spelling', () => {
  test('spellings whose normalized path is public (/health, the documents) but that the router sends to a protected route need the key', async () => {
    await using server = startServer({ apiKey: 'k' })
    expect(await server.createTopic('orders', { 'x-api-key': 'k' })).toBe(201)
    // Bun routes on the raw path (`/topics/:name` takes `..\health` as the name) while the URL normalizes
    // `\` to `/` and `..`: before the fix, these reached DELETE /topics/:name without the key.
    const attempts: [string, string][] = [
      ['DELETE', '/topics/..\\health'],
      ['DELETE', '/topics/x\\..\\..\\health'],
      ['DELETE', '/topics/..\\openapi'],
      ['DELETE', '/topics/..\\asyncapi.json'],
      ['DELETE', '/topics/..\\ws'], // normalized /ws: skipped by the REST front, so the route-level check must hold
      ['DELETE', '/topics/orders\\..\\..\\health'],
      ['GET', '/health\\..\\stats'],
      ['GET', '/health/..\\topics'],
      ['GET', '/openapi/json\\..\\..\\stats'],
      ['POST', '/health\\..\\topics'],
    ]
    for (const [method, path] of attempts) {
      const status = await rawStatus(server.port, method, path)
      expect({ method, path, status: status === 401 || status === 404 }).toEqual({ method, path, status: true })
      expect({ method, path, status }).not.toEqual({ method, path, status: 400 })
    }
    for (const path of ['/topics/..\\health', '/topics/..\\ws']) expect(await rawStatus(server.port, 'DELETE', path)).toBe(401)
    // The topic is still there, and the public routes are still public.
    expect((await fetch(`${server.http}/topics`, { headers: { 'x-api-key': 'k' } }).then((r) => r.json() as Promise<any>)).topics.map((t: any) => t.name)).toEqual(['orders'])
    expect((await fetch(`${server.http}/health`)).status).toBe(200)
    expect((await fetch(`${server.http}/asyncapi.json`)).status).toBe(200)
  })
})

/** Sends one request verbatim and returns its status. */
async function rawStatus(port: number, method: string, path: string): Promise<number> {
  const socket = tcpConnect({ host: '127.0.0.1', port })
  socket.on('error', () => {})
  try {
    let text = ''
    const head = new Promise<string>((resolve) => {
      socket.on('data', (d) => {
        text += d.toString('latin1')
        if (text.includes('\r\n\r\n')) resolve(text)
      })
      socket.on('close', () => resolve(text))
    })
    await within(new Promise<void>((r) => socket.once('connect', () => r())), 3000, 'tcp connect')
    socket.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`)
    return Number((await within(head, 3000, `the answer to ${method} ${path}`)).split(' ')[1])
  } finally {
    socket.destroy()
  }
}
