/**
 * CORS for the REST API (issue 12): ALLOWED_ORIGINS governs REST as it does
 * /ws. First the headers, over plain fetch; then a real browser (Debian's
 * chromium driven by playwright-core): a page on one origin calls the REST API
 * of a server on another.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'
import { requireExternal } from '../helpers/external'
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

const CHROMIUM = '/usr/bin/chromium'
const haveChromium = requireExternal('chromium', existsSync(CHROMIUM), 'apt-get install chromium')

// A minimal launcher; it should move to the shared test/helpers/browser.ts (dashboard branch) after the merge.
describe.if(haveChromium)('CORS from a real browser (chromium)', () => {
  let browser: Browser
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'], timeout: 30_000 })
  })
  afterAll(async () => {
    await browser?.close()
  })

  /** A page served from its own origin (a port of its own), for the browser to load. */
  function pageServer() {
    const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('<!doctype html><title>app</title>', { headers: { 'content-type': 'text/html' } }) })
    return { origin: `http://127.0.0.1:${server.port}`, [Symbol.dispose]: () => server.stop(true) }
  }

  /** Runs fetch in the page; resolves with the status and body, or the browser's error when CORS blocked it. */
  async function fetchFromPage(origin: string, url: string, init: { method: string; headers: Record<string, string>; body?: string }) {
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      await page.goto(origin + '/')
      return await page.evaluate(
        async ({ url, init }) => {
          try {
            const res = await fetch(url, init)
            return { status: res.status, body: await res.text() }
          } catch (error) {
            return { blocked: String(error) }
          }
        },
        { url, init },
      )
    } finally {
      await context.close()
    }
  }

  test('a page on an allowed origin creates a topic on herald (another origin) with the key; a page on another origin is blocked', async () => {
    using allowedPage = pageServer()
    using otherPage = pageServer()
    await using herald = startServer({ apiKey: KEY, allowedOrigins: allowedPage.origin })
    // Custom headers (x-api-key, a JSON content-type) make the browser send a preflight first.
    const create = (name: string, key = KEY) => ({ method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify({ name }) })

    const ok = await fetchFromPage(allowedPage.origin, `${herald.http}/topics`, create('from-browser'))
    expect(ok).toEqual({ status: 201, body: JSON.stringify({ status: 'created', topic: 'from-browser' }) })
    // The page can read a refusal too (CORS headers on the 401).
    const wrongKey = await fetchFromPage(allowedPage.origin, `${herald.http}/topics`, create('nope', 'wrong'))
    expect(wrongKey).toMatchObject({ status: 401 })

    const blocked = await fetchFromPage(otherPage.origin, `${herald.http}/topics`, create('from-elsewhere'))
    expect(blocked).toEqual({ blocked: expect.stringContaining('Failed to fetch') })
    // The preflight was refused, so the real request was never sent: nothing was created.
    const topics = await fetch(`${herald.http}/topics`, { headers: { 'x-api-key': KEY } }).then((r) => r.json() as Promise<any>)
    expect(topics.topics.map((t: { name: string }) => t.name)).toEqual(['from-browser'])
  }, 60_000)
})
