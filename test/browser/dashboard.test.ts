/**
 * The dashboard in a real browser (Debian's chromium) against a real server on port 0: live numbers,
 * topic create/delete, a topic's live tail and publish form, the API-key flow. Every request to
 * another origin is aborted and counted: it must stay 0.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Locator } from 'playwright-core'
import { type TestBrowser, launchBrowser, requireChromium } from '../helpers/browser'
import { rest } from '../helpers/http'
import { startServer } from '../helpers/server'
import { until } from '../helpers/wait'
import { connect, uuid } from '../helpers/ws-client'

/** Waits until the locator's text is `want` (the page polls every second: give it a few). */
const textBecomes = (locator: Locator, want: string, ms = 5000) =>
  until(async () => ((await locator.textContent())?.trim() === want ? true : undefined), ms, `text "${want}"`)

if (requireChromium()) {
  describe('dashboard', () => {
    let browser: TestBrowser
    beforeAll(async () => {
      browser = await launchBrowser()
    })
    afterAll(() => browser?.close())

    test('the overview shows the live numbers: a publish from a test client raises the published count', async () => {
      await using server = startServer()
      expect(await server.createTopic('orders')).toBe(201)
      await using tab = await browser.open(server.http)
      await tab.page.goto(`${server.http}/`)
      const published = tab.page.getByRole('group', { name: 'Published', exact: true }).locator('.value')
      await textBecomes(published, '0')
      await textBecomes(tab.page.getByRole('group', { name: 'Topics', exact: true }).locator('.value'), '1')

      using pub = await connect(server.ws)
      for (let i = 0; i < 3; i++) expect((await pub.request({ type: 'publish', topic: 'orders', message: { id: uuid(), payload: { i } } })).type).toBe('ack')
      await textBecomes(published, '3')
      await textBecomes(tab.page.getByRole('group', { name: 'Connections', exact: true }).locator('.value'), '1')
      const row = tab.page.getByRole('table', { name: 'Topics' }).getByRole('row', { name: /orders/ })
      await textBecomes(row.locator('td').nth(1), '3') // the messages column
      expect(tab.outside).toEqual([])
    })

    test('create a topic in the page → GET /topics has it; delete it after confirming → gone', async () => {
      await using server = startServer()
      await using tab = await browser.open(server.http)
      await tab.page.goto(`${server.http}/`)
      expect(await server.createTopic('orders')).toBe(201)
      await tab.page.getByLabel('New topic name').fill('audit.log')
      await tab.page.getByRole('button', { name: 'Create topic', exact: true }).click()
      const names = async () => (await rest(server.http, 'GET', '/topics')).body.topics.map((t: { name: string }) => t.name)
      await until(async () => ((await names()).includes('audit.log') ? true : undefined), 5000, 'the topic in GET /topics')
      const table = tab.page.getByRole('table', { name: 'Topics' })
      const row = table.getByRole('row', { name: /audit\.log/ })
      await row.waitFor({ timeout: 5000 })

      // The filter box narrows the table.
      const orders = table.getByRole('row', { name: /orders/ })
      await orders.waitFor({ timeout: 5000 })
      await tab.page.getByLabel('Filter topics').fill('aud')
      await orders.waitFor({ state: 'hidden', timeout: 2000 })
      expect(await row.isVisible()).toBe(true)
      await tab.page.getByLabel('Filter topics').fill('')

      // Cancel keeps it: the confirmation is what protects the topic.
      await row.getByRole('button', { name: 'Delete', exact: true }).click()
      const dialog = tab.page.getByRole('dialog', { name: 'Delete topic?' })
      await dialog.getByRole('button', { name: 'Cancel', exact: true }).click()
      await dialog.waitFor({ state: 'hidden', timeout: 2000 })
      expect((await names()).sort()).toEqual(['audit.log', 'orders'])

      await row.getByRole('button', { name: 'Delete', exact: true }).click()
      await dialog.getByRole('button', { name: 'Delete', exact: true }).click()
      await until(async () => ((await names()).includes('audit.log') ? undefined : true), 5000, 'the topic gone from GET /topics')
      expect(await names()).toEqual(['orders'])
      await row.waitFor({ state: 'detached', timeout: 5000 })
      expect(tab.outside).toEqual([])
    })

    test('a topic page: a test client’s publish is in "Live events" within 2 s, newest first; the page’s publish reaches a test subscriber and shows its seq', async () => {
      await using server = startServer()
      expect(await server.createTopic('orders')).toBe(201)
      using sub = await connect(server.ws)
      expect((await sub.request({ type: 'subscribe', topic: 'orders', client_id: 'test-sub' })).type).toBe('ack')
      using pub = await connect(server.ws)

      await using tab = await browser.open(server.http)
      await tab.page.goto(`${server.http}/#/topic/orders`)
      const live = tab.page.getByRole('region', { name: 'Live events' })
      await textBecomes(live.locator('.badge'), 'live')

      for (const n of ['first', 'second']) expect((await pub.request({ type: 'publish', topic: 'orders', message: { id: uuid(), payload: { n } } })).type).toBe('ack')
      for (const n of ['first', 'second']) expect((await sub.nextOfType('event')).message.payload).toEqual({ n })
      await live.getByText('"second"').waitFor({ timeout: 2000 })
      const events = live.locator('.event')
      expect(await events.count()).toBe(2)
      expect(await events.nth(0).locator('.seq').textContent()).toBe('#2')
      expect(await events.nth(1).locator('pre').textContent()).toContain('"first"')

      // Invalid JSON is refused in the page, before anything is sent.
      const payload = tab.page.getByLabel('Message payload')
      await payload.fill('{"oops": ')
      await tab.page.getByRole('button', { name: 'Publish', exact: true }).click()
      await tab.page.getByText(/Not valid JSON/).waitFor({ timeout: 2000 })

      await payload.fill('{"from": "the page", "amount": 99.5}')
      await tab.page.getByRole('button', { name: 'Publish', exact: true }).click()
      const event = await sub.nextOfType('event', 3000)
      expect(event.message.payload).toEqual({ from: 'the page', amount: 99.5 })
      expect(event.seq).toBe(3) // the invalid one was never sent
      await tab.page.getByText(`Published as seq ${event.seq}`).waitFor({ timeout: 3000 })

      // A large payload is shown collapsed.
      const big = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`field${i}`, i]))
      expect((await pub.request({ type: 'publish', topic: 'orders', message: { id: uuid(), payload: big } })).type).toBe('ack')
      const collapsed = events.nth(0).locator('details')
      await collapsed.waitFor({ timeout: 2000 })
      expect(await collapsed.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false)
      expect(await collapsed.locator('summary').textContent()).toStartWith('42 lines')

      // Pause holds new events back; Resume shows them.
      await live.getByRole('button', { name: 'Pause', exact: true }).click()
      expect((await pub.request({ type: 'publish', topic: 'orders', message: { id: uuid(), payload: { n: 'held back' } } })).type).toBe('ack')
      await live.getByText('1 new').waitFor({ timeout: 2000 })
      expect(await live.getByText('"held back"').count()).toBe(0)
      await live.getByRole('button', { name: 'Resume', exact: true }).click()
      await live.getByText('"held back"').waitFor({ timeout: 2000 })
      expect(tab.outside).toEqual([])
    })

    test('API key: the page asks for it; a wrong key gets a clear message, the right one works; the key is in no URL but /ws', async () => {
      const key = 'dashboard-s3cret'
      await using server = startServer({ apiKey: key })
      expect(await server.createTopic('orders', { 'x-api-key': key })).toBe(201)
      await using tab = await browser.open(server.http)
      const urls: string[] = []
      const sockets: string[] = []
      tab.page.on('request', (r) => urls.push(r.url()))
      tab.page.on('websocket', (ws) => sockets.push(ws.url()))
      await tab.page.goto(`${server.http}/`)

      const field = tab.page.getByLabel('API key', { exact: true })
      await field.fill('wrong-key')
      await tab.page.getByRole('button', { name: 'Continue', exact: true }).click()
      await tab.page.getByRole('alert').getByText('The server refused this API key').waitFor({ timeout: 5000 })
      expect(await tab.page.evaluate(() => sessionStorage.getItem('herald.apiKey'))).toBeNull()

      await field.fill(key)
      await tab.page.getByRole('button', { name: 'Continue', exact: true }).click()
      await tab.page.getByRole('table', { name: 'Topics' }).getByRole('row', { name: /orders/ }).waitFor({ timeout: 5000 })
      expect(await tab.page.evaluate(() => sessionStorage.getItem('herald.apiKey'))).toBe(key)

      await tab.page.goto(`${server.http}/#/topic/orders`)
      await textBecomes(tab.page.getByRole('region', { name: 'Live events' }).locator('.badge'), 'live')
      expect(urls.length).toBeGreaterThan(3)
      expect(urls.filter((u) => u.includes(key))).toEqual([])
      expect(sockets).toEqual([`${server.ws}?api_key=${key}`])
      expect(tab.outside).toEqual([])
    })
  })
}
