/**
 * `npm run screenshots`: the dashboard's pictures in docs/img/ (shown in the README), taken in
 * Debian's chromium (apt-get install chromium) from a real server on a loopback port, with some
 * traffic so the numbers and the chart move: the overview and a topic page, at 1280×800 and
 * 390×844, light and dark. Every request outside the server is blocked; the script fails if the
 * page made one.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../src/config'
import { startHerald } from '../src/server'
import { CHROMIUM, launchBrowser } from '../test/helpers/browser'

const OUT = join(import.meta.dir, '..', 'docs', 'img')
const TOPICS = ['orders', 'payments', 'audit.log', 'chat:lobby', 'sensors.temperature']
/** How long traffic runs before the first picture: the chart needs some history. */
const WARM_UP_MS = Number(process.env.WARM_UP_MS ?? 40_000)
const SHOTS = [
  { name: 'desktop', viewport: { width: 1280, height: 800 } },
  { name: 'mobile', viewport: { width: 390, height: 844 } },
] as const
const SCHEMES = ['light', 'dark'] as const

if (!(await Bun.file(CHROMIUM).exists())) {
  console.error(`screenshots: ${CHROMIUM} is missing (apt-get install chromium)`)
  process.exit(1)
}
mkdirSync(OUT, { recursive: true })

const herald = startHerald({ ...loadConfig({}), host: '127.0.0.1', port: 0, historySize: 200 })
const base = `http://127.0.0.1:${herald.port}`
for (const name of TOPICS) await fetch(`${base}/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) })

const open = (url: string) =>
  new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.onopen = () => resolve(ws)
    ws.onerror = () => reject(new Error(`cannot connect to ${url}`))
  })
const wsUrl = `ws://127.0.0.1:${herald.port}/ws`

// Subscribers: a few per topic, so that delivered/s is a multiple of published/s.
const subscribers: WebSocket[] = []
for (const [i, topic] of TOPICS.entries())
  for (let k = 0; k < 4 - (i % 3); k++) {
    const ws = await open(wsUrl)
    ws.send(JSON.stringify({ type: 'subscribe', topic, client_id: `worker-${i}-${k}` }))
    subscribers.push(ws)
  }

// A publisher whose rate swings between about 10 and 60 messages per second.
const publisher = await open(wsUrl)
const started = performance.now()
let n = 0
const sample = (i: number) => {
  const topic = TOPICS[i % TOPICS.length]!
  if (topic === 'orders') return { order_id: `ORD-${10_000 + i}`, amount: Math.round(Math.random() * 50_000) / 100, currency: 'EUR', items: 1 + (i % 4) }
  if (topic === 'payments') return { payment_id: `pay_${i.toString(36)}`, status: i % 7 ? 'captured' : 'declined' }
  if (topic === 'sensors.temperature') return { sensor: `t-${i % 12}`, celsius: Math.round((19 + 4 * Math.sin(i / 30)) * 10) / 10 }
  if (topic === 'chat:lobby') return { from: ['ada', 'lin', 'sam'][i % 3], text: 'hello there' }
  return { actor: 'admin', action: 'login', ip: '127.0.0.1' }
}
const traffic = setInterval(() => {
  const t = (performance.now() - started) / 1000
  const perTick = Math.max(1, Math.round(3 + 2.5 * Math.sin(t / 3)))
  for (let k = 0; k < perTick; k++, n++)
    publisher.send(JSON.stringify({ type: 'publish', topic: TOPICS[n % TOPICS.length], message: { id: crypto.randomUUID(), payload: sample(n) } }))
}, 100)

const browser = await launchBrowser()
const tab = await browser.open(base)
try {
  await tab.page.goto(`${base}/`)
  await tab.page.getByRole('table', { name: 'Topics' }).waitFor()
  await Bun.sleep(WARM_UP_MS)
  for (const scheme of SCHEMES) {
    await tab.page.emulateMedia({ colorScheme: scheme })
    for (const shot of SHOTS) {
      await tab.page.setViewportSize(shot.viewport)
      await Bun.sleep(300)
      await tab.page.screenshot({ path: join(OUT, `overview-${shot.name}-${scheme}.png`) })
    }
  }
  await tab.page.goto(`${base}/#/topic/orders`)
  await tab.page.getByRole('region', { name: 'Live events' }).locator('.event').nth(5).waitFor()
  await tab.page.getByLabel('Message payload').fill('{\n  "order_id": "ORD-42",\n  "amount": 99.5\n}')
  await tab.page.getByRole('button', { name: 'Publish' }).click()
  await tab.page.getByText(/Published as seq \d+/).waitFor()
  for (const scheme of SCHEMES) {
    await tab.page.emulateMedia({ colorScheme: scheme })
    for (const shot of SHOTS) {
      await tab.page.setViewportSize(shot.viewport)
      await Bun.sleep(300)
      await tab.page.screenshot({ path: join(OUT, `topic-${shot.name}-${scheme}.png`) })
    }
  }
  if (tab.outside.length > 0) throw new Error(`the page asked for other origins: ${tab.outside.join(', ')}`)
  console.log(`screenshots: ${SHOTS.length * SCHEMES.length * 2} pictures in docs/img/`)
} finally {
  clearInterval(traffic)
  await tab.close()
  await browser.close()
  for (const ws of [publisher, ...subscribers]) ws.close()
  await herald.shutdown()
}
