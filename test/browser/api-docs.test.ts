/** /openapi renders the REST routes in a real browser with every request outside the server aborted. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { type TestBrowser, launchBrowser, requireChromium } from '../helpers/browser'
import { rest } from '../helpers/http'
import { startServer } from '../helpers/server'

if (requireChromium()) {
  describe('/openapi offline', () => {
    let browser: TestBrowser
    beforeAll(async () => {
      browser = await launchBrowser()
    })
    afterAll(() => browser?.close())

    test('shows every route of /openapi/json, with no request to another origin', async () => {
      await using server = startServer()
      const doc = (await rest(server.http, 'GET', '/openapi/json')).body
      const routes = Object.entries<Record<string, unknown>>(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`))
      expect(routes.length).toBeGreaterThanOrEqual(6)

      await using tab = await browser.open(server.http)
      await tab.page.goto(`${server.http}/openapi`)
      await tab.page.getByRole('heading', { name: 'herald REST API' }).waitFor({ timeout: 5000 })
      for (const route of routes) expect({ route, shown: await tab.page.getByRole('heading', { name: route, exact: true }).count() }).toEqual({ route, shown: 1 })
      // Which routes need the key comes from the document too.
      expect(await tab.page.getByRole('region', { name: 'GET /health' }).getByText('no key needed').count()).toBe(1)
      expect(await tab.page.getByRole('region', { name: 'GET /stats' }).getByText('X-API-Key').count()).toBe(1)
      expect(tab.outside).toEqual([])
    })
  })
}
