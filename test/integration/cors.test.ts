/**
 * CORS for the REST API (issue 12): ALLOWED_ORIGINS governs REST as it does
 * /ws. The headers, over plain fetch; test/browser/cors.test.ts checks the
 * same rules from a real browser.
 */
import { describe, expect, test } from 'bun:test'
import { startServer } from '../helpers/server'

const KEY = 'cors-key'
const corsHeaders = (h: Headers) => Object.fromEntries([...h].filter(([k]) => k.startsWith('access-control-')))
const preflight = (url: string, origin: string, method = 'POST') =>
  fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'content-type, x-api-key' } })

describe('CORS headers', () => {
  test('a preflight from an allowed origin gets 204 with the origin, methods and headers, and needs no key', async () => {
    await using server = startServer({ apiKey: KEY, allowedOrigins: 'https://app.example' })
    const res = await preflight(`${server.http}/topics`, 'https://app.example')
    expect(res.status).toBe(204)
    expect(corsHeaders(res.headers)).toEqual({
      'access-control-allow-origin': 'https://app.example',
      'access-control-allow-methods': 'GET, POST, DELETE',
      'access-control-allow-headers': 'content-type, authorization, x-api-key',
      'access-control-max-age': '600',
    })
    expect(res.headers.get('vary')).toBe('Origin')
  })

  test('a disallowed origin gets no CORS header, on the preflight and on the real request', async () => {
    await using server = startServer({ apiKey: KEY, allowedOrigins: 'https://app.example' })
    const pre = await preflight(`${server.http}/topics`, 'https://evil.example')
    expect(pre.status).toBe(204)
    expect(corsHeaders(pre.headers)).toEqual({})
    const real = await fetch(`${server.http}/topics`, { headers: { origin: 'https://evil.example', 'x-api-key': KEY } })
    expect(real.status).toBe(200)
    expect(corsHeaders(real.headers)).toEqual({})
  })

  test('the real request still needs the key; its answer (401 included) carries the allowed origin', async () => {
    await using server = startServer({ apiKey: KEY, allowedOrigins: 'https://app.example' })
    const refused = await fetch(`${server.http}/topics`, { headers: { origin: 'https://app.example' } })
    expect(refused.status).toBe(401)
    expect(corsHeaders(refused.headers)).toEqual({ 'access-control-allow-origin': 'https://app.example' })
    const ok = await fetch(`${server.http}/topics`, { headers: { origin: 'https://app.example', 'x-api-key': KEY } })
    expect(ok.status).toBe(200)
    expect(corsHeaders(ok.headers)).toEqual({ 'access-control-allow-origin': 'https://app.example' })
    // An OPTIONS that is not a preflight (no Access-Control-Request-Method) is an ordinary request: it needs the key.
    expect((await fetch(`${server.http}/topics`, { method: 'OPTIONS', headers: { origin: 'https://app.example' } })).status).toBe(401)
    // Requests without Origin (same-origin, non-browser) get no CORS header.
    expect(corsHeaders((await fetch(`${server.http}/topics`, { headers: { 'x-api-key': KEY } })).headers)).toEqual({})
  })

  test('ALLOWED_ORIGINS unset: any origin is allowed, as for /ws', async () => {
    await using server = startServer()
    const res = await preflight(`${server.http}/topics`, 'https://anywhere.example', 'DELETE')
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe('https://anywhere.example')
  })
})
