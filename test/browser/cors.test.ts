/**
 * CORS from a real browser (issue 12): Debian's chromium driven by
 * playwright-core; a page on one origin calls the REST API of a herald on
 * another (another port). The header rules: test/integration/cors.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { type Browser, chromium } from 'playwright-core'
import { CHROMIUM, requireChromium } from '../helpers/browser'
import { startServer } from '../helpers/server'

const KEY = 'cors-key'
/** The flags of test/helpers/browser.ts. */
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking']

describe.if(requireChromium())('CORS from a real browser (chromium)', () => {
  // Not launchBrowser().open(): its request interception (context.route, which keeps pages off the
  // internet) changes CORS itself — with a route installed, the real request was sent although the
  // preflight was refused (the topic got created, the page saw "Failed to fetch"). Plain contexts here.
  let browser: Browser
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS })
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
