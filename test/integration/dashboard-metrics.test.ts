/**
 * The dashboard reads its totals from /metrics by name: these tests tie its reader to the metrics
 * the server really exposes, so renaming one breaks a test instead of silently showing 0.
 */
import { expect, test } from 'bun:test'
import { readTotals, sumSamples } from '../../src/dashboard/prometheus'
import { startServer } from '../helpers/server'
import { connect, uuid } from '../helpers/ws-client'

test('sumSamples adds every sample of a name whose labels match, and no other name sharing its prefix', () => {
  const text = [
    '# HELP herald_x_total A counter.',
    '# TYPE herald_x_total counter',
    'herald_x_total{action="notice"} 3',
    'herald_x_total{action="disconnect"} 2',
    'herald_x_total_created 1700000000',
    'herald_x_totalish 99',
    'herald_y 7',
  ].join('\n')
  expect(sumSamples(text, 'herald_x_total')).toBe(5)
  expect(sumSamples(text, 'herald_x_total', { action: 'notice' })).toBe(3)
  expect(sumSamples(text, 'herald_y')).toBe(7)
  expect(sumSamples(text, 'herald_missing')).toBe(0)
})

test("readTotals on a real server's /metrics: the published and delivered counts of a publish", async () => {
  await using server = startServer()
  expect(await server.createTopic('orders')).toBe(201)
  using sub = await connect(server.ws)
  expect((await sub.request({ type: 'subscribe', topic: 'orders', client_id: 's' })).type).toBe('ack')
  using pub = await connect(server.ws)
  for (let i = 0; i < 2; i++) expect((await pub.request({ type: 'publish', topic: 'orders', message: { id: uuid(), payload: i } })).type).toBe('ack')
  for (let i = 0; i < 2; i++) await sub.nextOfType('event')
  const text = await (await fetch(`${server.http}/metrics`)).text()
  expect(readTotals(text)).toEqual({ published: 2, delivered: 2, dropped: 0, slowNotices: 0, slowDisconnects: 0 })
  // The names it reads exist (a renamed metric would read as 0 above without failing this).
  for (const name of ['herald_messages_published_total', 'herald_messages_delivered_total', 'herald_messages_dropped_total', 'herald_slow_consumer_total'])
    expect(text).toContain(`# TYPE ${name} counter`)
})
