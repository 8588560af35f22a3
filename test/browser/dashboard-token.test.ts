/**
 * The dashboard with a user token instead of the API key (issue 12's tokens), and its live tail
 * across a server restart (the client SDK reconnects and resubscribes). A real server on port 0,
 * tokens signed in the test with the server's HMAC secret; every request to another origin is
 * aborted and counted: it must stay 0.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Locator, Page } from 'playwright-core'
import { type TestBrowser, launchBrowser, requireChromium } from '../helpers/browser'
import { startServer } from '../helpers/server'
import { tcpProxy } from '../helpers/tcp-proxy'
import { HMAC_SECRET, at, hmacKey, mint } from '../helpers/tokens'
import { until } from '../helpers/wait'
import { connect, uuid } from '../helpers/ws-client'

const KEY = 'admin-key'
const admin = { 'x-api-key': KEY }

const textBecomes = (locator: Locator, want: string | RegExp, ms = 5000) =>
  until(async () => {
    const text = (await locator.textContent())?.trim() ?? ''
    return (typeof want === 'string' ? text === want : want.test(text)) ? true : undefined
  }, ms, `text ${want}`)

/** Answers the credential form with a token (the page asks once /stats answers 401). */
async function pasteToken(page: Page, token: string) {
  await page.getByLabel('a user token').check()
  await page.getByLabel('Token', { exact: true }).fill(token)
  await page.getByRole('button', { name: 'Continue', exact: true }).click()
}

if (requireChromium()) {
  describe('dashboard with a user token', () => {
    let browser: TestBrowser
    beforeAll(async () => {
      browser = await launchBrowser()
    })
    afterAll(() => browser?.close())

    test('token mode: no Create/Delete; tails and publishes on orders.eu; a topic outside the token shows FORBIDDEN; the token is in no URL but /ws', async () => {
      await using server = startServer({ apiKey: KEY, tokenHmacSecret: HMAC_SECRET })
      for (const name of ['orders.eu', 'payments']) expect(await server.createTopic(name, admin)).toBe(201)
      const token = await mint(hmacKey, { sub: 'alice', herald: { subscribe: ['orders.*'], publish: ['orders.*'] } })
      using sub = await connect(server.ws, { headers: admin })
      expect((await sub.request({ type: 'subscribe', topic: 'orders.eu', client_id: 'test-sub' })).type).toBe('ack')
      using pub = await connect(server.ws, { headers: admin })

      await using tab = await browser.open(server.http)
      const urls: string[] = []
      const sockets: string[] = []
      tab.page.on('request', (r) => urls.push(r.url()))
      tab.page.on('websocket', (ws) => sockets.push(ws.url()))
      await tab.page.goto(`${server.http}/`)
      await pasteToken(tab.page, token)

      // The overview: the public numbers, no topic list, no admin action.
      await tab.page.getByRole('heading', { name: 'Open a topic' }).waitFor({ timeout: 5000 })
      await textBecomes(tab.page.getByRole('group', { name: 'Topics', exact: true }).locator('.value'), '2')
      await textBecomes(tab.page.getByRole('group', { name: 'Published', exact: true }).locator('.detail'), '/metrics needs the API key')
      expect(await tab.page.getByRole('table', { name: 'Topics' }).count()).toBe(0)
      expect(await tab.page.getByRole('button', { name: 'Create topic' }).count()).toBe(0)
      expect(await tab.page.getByRole('button', { name: 'Delete' }).count()).toBe(0)
      expect(await tab.page.getByRole('button', { name: 'Forget token (alice)' }).isVisible()).toBe(true)
      expect(await tab.page.evaluate(() => [sessionStorage.getItem('herald.token'), sessionStorage.getItem('herald.apiKey')])).toEqual([token, null])

      await tab.page.getByLabel('Topic name').fill('orders.eu')
      await tab.page.getByRole('button', { name: 'Open topic', exact: true }).click()
      const live = tab.page.getByRole('region', { name: 'Live events' })
      await textBecomes(live.locator('.badge'), 'live')
      await textBecomes(live.getByTestId('connection'), 'connected')
      expect(await tab.page.getByRole('button', { name: 'Delete' }).count()).toBe(0)

      expect((await pub.request({ type: 'publish', topic: 'orders.eu', message: { id: uuid(), payload: { from: 'a test client' } } })).type).toBe('ack')
      await live.getByText('"a test client"').waitFor({ timeout: 2000 })
      expect((await sub.nextOfType('event')).seq).toBe(1)

      await tab.page.getByLabel('Message payload').fill('{"from": "the page"}')
      await tab.page.getByRole('button', { name: 'Publish', exact: true }).click()
      const event = await sub.nextOfType('event', 3000)
      expect(event.message.payload).toEqual({ from: 'the page' })
      await tab.page.getByText(`Published as seq ${event.seq}`).waitFor({ timeout: 3000 })
      expect(event.seq).toBe(2)

      // A topic the token does not allow: the subscribe and the publish are refused, and the page says FORBIDDEN.
      await tab.page.goto(`${server.http}/#/topic/payments`)
      await textBecomes(live.locator('.badge'), 'not subscribed')
      await live.getByText(/Not subscribed — FORBIDDEN/).waitFor({ timeout: 3000 })
      await tab.page.getByRole('button', { name: 'Publish', exact: true }).click()
      await tab.page.getByText(/Not published — FORBIDDEN/).waitFor({ timeout: 3000 })
      expect((await (await fetch(`${server.http}/stats`, { headers: admin })).json()).topics.payments.messages).toBe(0)

      // The token went only into the /ws address (the check, then one socket per topic page).
      expect(urls.filter((u) => u.includes(token))).toEqual([])
      expect(sockets.length).toBe(3)
      for (const s of sockets) expect(s).toBe(`${server.ws}?token=${token}`)
      expect(tab.outside).toEqual([])
    }, 30_000)

    test('a token that expires: the page says so and asks for a new one; an expired token is refused before it is sent, a forged one by the server', async () => {
      await using server = startServer({ apiKey: KEY, tokenHmacSecret: HMAC_SECRET })
      expect(await server.createTopic('orders.eu', admin)).toBe(201)
      await using tab = await browser.open(server.http)
      await tab.page.goto(`${server.http}/#/topic/orders.eu`)
      await pasteToken(tab.page, await mint(hmacKey, { exp: at(-5), herald: { subscribe: ['orders.*'] } }))
      await tab.page.getByRole('alert').getByText(/This token expired at/).waitFor({ timeout: 3000 })
      const forged = await mint({ alg: 'HS256', key: new TextEncoder().encode('not-the-server-secret-0123456789abcdef') }, { herald: { subscribe: ['orders.*'] } })
      await pasteToken(tab.page, forged)
      await tab.page.getByRole('alert').getByText(/The server refused this token/).waitFor({ timeout: 6000 })
      expect(await tab.page.evaluate(() => sessionStorage.getItem('herald.token'))).toBeNull()

      // exp within 2–3 s (whole seconds): the page is live first, then asks again.
      await pasteToken(tab.page, await mint(hmacKey, { exp: at(3), herald: { subscribe: ['orders.*'] } }))
      const live = tab.page.getByRole('region', { name: 'Live events' })
      await textBecomes(live.locator('.badge'), 'live')
      await tab.page.getByRole('alert').getByText('Your token has expired. Paste a new one to go on.').waitFor({ timeout: 6000 })
      expect(await tab.page.getByLabel('a user token').isChecked()).toBe(true)
      expect(await tab.page.evaluate(() => sessionStorage.getItem('herald.token'))).toBeNull()

      // A fresh token: back to the topic page.
      await pasteToken(tab.page, await mint(hmacKey, { herald: { subscribe: ['orders.*'] } }))
      await textBecomes(live.locator('.badge'), 'live')
      expect(tab.outside).toEqual([])
    }, 30_000)
  })

  describe('dashboard live tail across a server restart', () => {
    let browser: TestBrowser
    beforeAll(async () => {
      browser = await launchBrowser()
    })
    afterAll(() => browser?.close())

    test('the SDK reconnects and resubscribes; the page says the subscription was not recovered, keeps what it showed, and shows new events', async () => {
      const first = startServer()
      const port = first.port
      expect(await first.createTopic('orders')).toBe(201)
      // Page and /ws through a proxy that refuses connections until the new server has its topic (tcp-proxy.ts).
      using proxy = tcpProxy(port)
      await using tab = await browser.open(proxy.http)
      const sockets: string[] = []
      tab.page.on('websocket', (ws) => sockets.push(ws.url()))
      await tab.page.goto(`${proxy.http}/#/topic/orders`)
      const live = tab.page.getByRole('region', { name: 'Live events' })
      await textBecomes(live.locator('.badge'), 'live')
      {
        using pub = await connect(first.ws)
        expect((await pub.request({ type: 'publish', topic: 'orders', message: { id: uuid(), payload: 'before' } })).type).toBe('ack')
      }
      await live.getByText('"before"').waitFor({ timeout: 2000 })

      proxy.refuse = true
      await first.shutdown()
      await textBecomes(live.locator('.badge'), 'reconnecting…')
      await using second = startServer({ port })
      expect(await second.createTopic('orders')).toBe(201)
      proxy.refuse = false

      await textBecomes(live.getByTestId('recovery'), '· resubscribed after a reconnect, not recovered', 15_000)
      await textBecomes(live.locator('.badge'), 'live')
      expect(await live.getByTestId('connection').textContent()).toBe('connected')
      await live.getByText(/Reconnected: resubscribed, not recovered/).waitFor({ timeout: 2000 })
      using pub = await connect(second.ws)
      expect((await pub.request({ type: 'publish', topic: 'orders', message: { id: uuid(), payload: 'after' } })).type).toBe('ack')
      await live.getByText('"after"').waitFor({ timeout: 2000 })
      expect(await live.getByText('"before"').count()).toBe(1)
      expect(sockets.length).toBeGreaterThanOrEqual(2)
      expect(tab.outside).toEqual([])
    }, 40_000)
  })
}
