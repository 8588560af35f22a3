import { describe, expect, test } from 'bun:test'
import { rawConnect } from '../helpers/raw-ws'
import { rest } from '../helpers/http'
import { startServer } from '../helpers/server'
import { connect } from '../helpers/ws-client'
import { connect as tcpConnect } from 'node:net'
import { within } from '../helpers/wait'

const KEY = 's3cr3t-key'

/** Sends a WebSocket upgrade request on a raw socket and returns the response's status line. */
async function upgradeStatusLine(port: number, path: string, extraHeaders = ''): Promise<string> {
  const socket = tcpConnect({ host: '127.0.0.1', port })
  try {
    let text = ''
    const head = new Promise<string>((resolve) => {
      socket.on('data', (chunk) => {
        text += chunk.toString()
        if (text.includes('\r\n\r\n')) resolve(text)
      })
      socket.on('close', () => resolve(text))
    })
    socket.on('error', () => {})
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`,
    )
    return (await within(head, 3000, 'upgrade response')).split('\r\n')[0]!
  } finally {
    socket.destroy()
  }
}

describe('decision 15: API key', () => {
  test('REST routes but /health need X-API-Key: 401 UNAUTHORIZED otherwise', async () => {
    await using server = startServer({ apiKey: KEY })
    const routes: [string, string, unknown?][] = [
      ['GET', '/topics'],
      ['POST', '/topics', { name: 'orders' }],
      ['DELETE', '/topics/orders'],
      ['GET', '/stats'],
    ]
    for (const headers of [{}, { 'x-api-key': 'wrong' }, { 'x-api-key': '' }, { 'x-api-key': KEY + 'x' }, { authorization: `Bearer ${KEY}` }] as Record<string, string>[])
      for (const [method, path, json] of routes) {
        const reply = await rest(server.http, method, path, { json, headers })
        expect({ method, path, status: reply.status }).toEqual({ method, path, status: 401 })
        expect(reply.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } })
      }
    // ?api_key= is for the WebSocket only, not REST.
    expect((await rest(server.http, 'GET', `/topics?api_key=${KEY}`)).status).toBe(401)
    // Nothing was created by the refused requests.
    const auth = { 'x-api-key': KEY }
    expect((await rest(server.http, 'GET', '/topics', { headers: auth })).body).toEqual({ topics: [] })
    // With the key, every route works.
    expect((await rest(server.http, 'POST', '/topics', { json: { name: 'orders' }, headers: auth })).status).toBe(201)
    expect((await rest(server.http, 'GET', '/stats', { headers: auth })).status).toBe(200)
    expect((await rest(server.http, 'DELETE', '/topics/orders', { headers: auth })).status).toBe(200)
    // /health needs no key.
    const health = await rest(server.http, 'GET', '/health')
    expect(health.status).toBe(200)
    expect(typeof health.body.uptime_sec).toBe('number')
  })

  test('the /ws upgrade is refused with HTTP 401 before the upgrade without a valid key', async () => {
    await using server = startServer({ apiKey: KEY })
    expect(await upgradeStatusLine(server.port, '/ws')).toMatch(/^HTTP\/1\.1 401 /)
    expect(await upgradeStatusLine(server.port, '/ws?api_key=wrong')).toMatch(/^HTTP\/1\.1 401 /)
    expect(await upgradeStatusLine(server.port, '/ws', 'X-API-Key: wrong\r\n')).toMatch(/^HTTP\/1\.1 401 /)
    expect(await upgradeStatusLine(server.port, '/ws?api_key=')).toMatch(/^HTTP\/1\.1 401 /)
    // A standard client fails to connect at all.
    await expect(connect(server.ws)).rejects.toThrow()
    expect((await rest(server.http, 'GET', '/health')).body.connections).toBe(0)
  })

  test('the /ws upgrade succeeds with the X-API-Key header or ?api_key=', async () => {
    await using server = startServer({ apiKey: KEY })
    expect(await upgradeStatusLine(server.port, '/ws', `X-API-Key: ${KEY}\r\n`)).toMatch(/^HTTP\/1\.1 101 /)
    expect(await upgradeStatusLine(server.port, `/ws?api_key=${KEY}`)).toMatch(/^HTTP\/1\.1 101 /)
    using viaHeader = await connect(server.ws, { headers: { 'X-API-Key': KEY } })
    expect((await viaHeader.request({ type: 'ping' })).type).toBe('pong')
    using viaQuery = await connect(`${server.ws}?api_key=${encodeURIComponent(KEY)}`)
    expect((await viaQuery.request({ type: 'ping' })).type).toBe('pong')
    const raw = await rawConnect(server.port, '/ws', `X-API-Key: ${KEY}\r\n`)
    raw.destroy()
  })

  test('without API_KEY configured, nothing needs a key', async () => {
    await using server = startServer()
    expect((await rest(server.http, 'GET', '/topics')).status).toBe(200)
    expect((await rest(server.http, 'GET', '/stats')).status).toBe(200)
    expect(await upgradeStatusLine(server.port, '/ws')).toMatch(/^HTTP\/1\.1 101 /)
  })
})
