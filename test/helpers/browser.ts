/**
 * Browser tests in Debian's chromium, driven by playwright-core (which downloads no browser).
 *
 *   if (requireChromium()) {
 *     let browser: TestBrowser
 *     beforeAll(async () => (browser = await launchBrowser()))
 *     afterAll(() => browser.close())
 *     test('…', async () => {
 *       await using tab = await browser.open(server.http)   // a fresh context: no cookies, no storage
 *       await tab.page.goto(server.http + '/')
 *       …
 *       expect(tab.outside).toEqual([])                     // nothing left for another origin
 *     })
 *   }
 *
 * Every request the page makes to another origin than `origin` (HTTP or WebSocket) is aborted and
 * recorded in `outside`: a page that needs the internet fails its test instead of passing on a
 * machine that happens to have it.
 */
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core'
import { requireExternal } from './external'

export const CHROMIUM = '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking']

/** True when the tests of this file may run; see requireExternal (skip with one line, fail under CI). */
export function requireChromium(): boolean {
  return requireExternal('chromium', Bun.file(CHROMIUM).size > 0, 'install it with: apt-get install chromium')
}

export interface BrowserTab {
  readonly page: Page
  readonly context: BrowserContext
  /** URLs of requests to other origins, each aborted. */
  readonly outside: string[]
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

export interface TestBrowser {
  /** A new context and page whose requests outside `origin` (and `alsoAllow`) are aborted and recorded. */
  open(origin: string, options?: { viewport?: { width: number; height: number }; colorScheme?: 'light' | 'dark'; alsoAllow?: string[] }): Promise<BrowserTab>
  close(): Promise<void>
}

export async function launchBrowser(): Promise<TestBrowser> {
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS })
  return {
    async open(origin, options = {}) {
      const allowed = new Set([origin, ...(options.alsoAllow ?? [])].map((o) => new URL(o).host))
      const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 }, colorScheme: options.colorScheme ?? 'light' })
      const outside: string[] = []
      const isOutside = (url: URL) => !allowed.has(url.host)
      await context.route(
        (url) => isOutside(url) && url.protocol !== 'data:' && url.protocol !== 'blob:',
        (route) => {
          outside.push(route.request().url())
          return route.abort('blockedbyclient')
        },
      )
      await context.routeWebSocket(isOutside, (ws) => {
        outside.push(ws.url())
        return ws.close({ code: 1008, reason: 'outside the test origin' })
      })
      const page = await context.newPage()
      const close = () => context.close()
      return { page, context, outside, close, [Symbol.asyncDispose]: close }
    },
    close: () => browser.close(),
  }
}
