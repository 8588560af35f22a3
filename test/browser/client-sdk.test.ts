/**
 * The SDK bundle in Debian's chromium (playwright-core drives it and downloads
 * no browser): a round trip, a typed error, and a reconnect with resubscribe
 * across a server restart, all inside the page. The page comes from another
 * origin than herald's (as a browser app's would).
 * The tab allows only the page's origin and the server's (test/helpers/browser.ts):
 * `tab.outside` stays empty.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Page } from 'playwright-core'
import { launchBrowser, requireChromium, type TestBrowser } from '../helpers/browser'
import { buildClientBundle, type ClientBundle } from '../helpers/client-bundle'
import { startServer } from '../helpers/server'
import { tcpProxy } from '../helpers/tcp-proxy'

/**
 * A page server on loopback (another origin than herald's) serving an HTML page
 * that loads the SDK bundle as `window.Herald`. A real server, not page.route:
 * chromium's local-network-access checks treat an intercepted page as public
 * and block its WebSocket to 127.0.0.1.
 */
function pageServer(bundle: ClientBundle) {
  const html = `<!doctype html><script type="module">import * as Herald from './herald-client.js'; window.Herald = Herald; window.ready = true</script>`
  return Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: (req) =>
      new URL(req.url).pathname === '/herald-client.js' ? new Response(bundle.code, { headers: { 'content-type': 'text/javascript' } }) : new Response(html, { headers: { 'content-type': 'text/html' } }),
  })
}

/** A fresh tab with the SDK page loaded, allowed to reach `server` besides the page's origin. */
async function openSdkPage(browser: TestBrowser, pageOrigin: string, server: string): Promise<{ page: Page; outside: string[]; close(): Promise<void> }> {
  const tab = await browser.open(pageOrigin, { alsoAllow: [server] })
  await tab.page.goto(pageOrigin + '/')
  await tab.page.waitForFunction(() => (globalThis as any).ready === true, undefined, { timeout: 10_000 })
  return tab
}

if (requireChromium()) {
  describe('the SDK in chromium', () => {
    let browser: TestBrowser
    let bundle: ClientBundle
    let pages: ReturnType<typeof pageServer>
    beforeAll(async () => {
      bundle = await buildClientBundle()
      pages = pageServer(bundle)
      browser = await launchBrowser()
    })
    afterAll(async () => {
      await browser?.close()
      pages?.stop(true)
      bundle?.[Symbol.dispose]()
    })

    test('connect, subscribe with lastN, publish, receive; an unknown topic rejects with a HeraldError', async () => {
      await using server = startServer()
      await server.createTopic('orders')
      const tab = await openSdkPage(browser, pages.url.origin, server.http)
      try {
        const result = await tab.page.evaluate(async (url) => {
          const { HeraldClient, HeraldError } = (globalThis as any).Herald
          const client = new HeraldClient(url)
          await client.connect()
          await client.publish('orders', { n: 1 })
          const sub = client.subscribe('orders', { lastN: 5 })
          const events: any[] = []
          const two = new Promise<void>((resolve) => sub.on('event', (e: any) => events.push(e) === 2 && resolve()))
          await sub.ready
          const published = await client.publish('orders', { n: 2 })
          await two
          const error = await client.publish('nope', 1).catch((e: any) => ({ isHeraldError: e instanceof HeraldError, code: e.code }))
          client.close()
          return { events: events.map((e) => [e.seq, e.message.payload]), lastId: events[1].message.id === published.id, error, state: client.state }
        }, server.http)
        expect(tab.outside).toEqual([])
        expect(result).toEqual({ events: [[1, { n: 1 }], [2, { n: 2 }]], lastId: true, error: { isHeraldError: true, code: 'TOPIC_NOT_FOUND' }, state: 'closed' })
      } finally {
        await tab.close()
      }
    }, 30_000)

    test('a server restart on the same port: the page reconnects, resubscribes (recovered:false reported) and receives again', async () => {
      const first = startServer()
      const port = first.port
      await first.createTopic('t')
      // Through a proxy that refuses connections until the new server has its topic (tcp-proxy.ts).
      using proxy = tcpProxy(port)
      const tab = await openSdkPage(browser, pages.url.origin, proxy.http)
      try {
        await tab.page.evaluate(async (url) => {
          const w = globalThis as any
          w.log = { states: [] as string[], subscribed: [] as any[], events: [] as any[] }
          const client = new w.Herald.HeraldClient(url, { minReconnectDelayMs: 50, maxReconnectDelayMs: 200 })
          client.on('state', (s: any) => w.log.states.push(`${s.state}${s.closeCode ? ':' + s.closeCode : ''}`))
          w.client = client
          await client.connect()
          const sub = client.subscribe('t')
          sub.on('subscribed', (s: any) => w.log.subscribed.push(s))
          sub.on('event', (e: any) => w.log.events.push(e.message.payload))
          await sub.ready
        }, proxy.http)
        proxy.refuse = true
        await first.shutdown()
        await using second = startServer({ port })
        await second.createTopic('t')
        proxy.refuse = false
        await tab.page.waitForFunction(() => (globalThis as any).log.subscribed.length === 2, undefined, { timeout: 10_000 })
        await tab.page.evaluate(() => (globalThis as any).client.publish('t', 'after restart'))
        await tab.page.waitForFunction(() => (globalThis as any).log.events.length === 1, undefined, { timeout: 5000 })
        const log = await tab.page.evaluate(() => {
          const w = globalThis as any
          w.client.close()
          return w.log
        })
        expect(log.subscribed[1]).toMatchObject({ resubscribed: true, recovered: false })
        expect(log.events).toEqual(['after restart'])
        expect(log.states).toContain('disconnected:1001')
        expect(tab.outside).toEqual([])
      } finally {
        await tab.close()
      }
    }, 30_000)
  })
}
