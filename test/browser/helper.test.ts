/** The browser helper itself: a request or WebSocket to another origin is aborted and counted (so "0" in the other tests means something). */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { type TestBrowser, launchBrowser, requireChromium } from '../helpers/browser'
import { startServer } from '../helpers/server'

if (requireChromium()) {
  let browser: TestBrowser
  beforeAll(async () => {
    browser = await launchBrowser()
  })
  afterAll(() => browser?.close())

  test('requests and WebSockets to another origin are aborted and recorded; the server’s own go through', async () => {
    await using server = startServer()
    await using tab = await browser.open(server.http)
    await tab.page.goto(`${server.http}/health`)
    // Another loopback address: nothing would leave the machine even if the block failed.
    const results = await tab.page.evaluate(async () => {
      const outside = await fetch('http://127.0.0.2:9/x').then(() => 'loaded', () => 'failed')
      const own = await fetch('/health').then((r) => r.status)
      const ws = await new Promise<string>((resolve) => {
        const socket = new WebSocket('ws://127.0.0.2:9/ws')
        socket.onopen = () => resolve('open')
        socket.onclose = () => resolve('closed')
      })
      return { outside, own, ws }
    })
    expect(results).toEqual({ outside: 'failed', own: 200, ws: 'closed' })
    expect(tab.outside).toEqual(['http://127.0.0.2:9/x', 'ws://127.0.0.2:9/ws'])
  })
}
