/** The dashboard's routes over plain HTTP: served from the server itself, public with an API key, gone with DASHBOARD=false. */
import { expect, test } from 'bun:test'
import { rest } from '../helpers/http'
import { startServer } from '../helpers/server'

/** The page's own asset paths (/chunk-….js, /chunk-….css), as the bundler wrote them into the HTML. */
const assetsOf = (html: string) => [...html.matchAll(/(?:src|href)="(\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!)

test('GET / serves the page; its script and style come from the same server, and nothing refers to another origin', async () => {
  await using server = startServer()
  const page = await fetch(`${server.http}/`)
  expect(page.status).toBe(200)
  expect(page.headers.get('content-type')).toStartWith('text/html')
  const html = await page.text()
  expect(html).toContain('<main id="view">')
  expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//)
  const assets = assetsOf(html)
  expect(assets.map((a) => a.split('.').pop()).sort()).toEqual(['css', 'js'])
  for (const asset of assets) {
    const res = await fetch(server.http + asset)
    expect({ asset, status: res.status }).toEqual({ asset, status: 200 })
    const body = await res.text()
    // No outside URL for fonts, scripts or styles in the bundle.
    expect(body).not.toMatch(/url\(\s*["']?https?:|@import\s+["']?https?:|fonts\.googleapis/)
  }
})

test('with an API key the page is still served (it asks for the key), and the data behind it is not', async () => {
  await using server = startServer({ apiKey: 'k' })
  expect((await fetch(`${server.http}/`)).status).toBe(200)
  expect((await rest(server.http, 'GET', '/stats')).status).toBe(401)
})

test('DASHBOARD=false: no page at / (404 NOT_FOUND), and the API docs page does not link to it', async () => {
  await using server = startServer({ dashboard: false })
  const reply = await rest(server.http, 'GET', '/')
  expect(reply.status).toBe(404)
  expect(reply.body.error.code).toBe('NOT_FOUND')
  expect(await (await fetch(`${server.http}/openapi`)).text()).toContain('"dashboardHref":null')
})
