/**
 * The browser bundle of the SDK also runs in Node ≥ 20, which has no global
 * WebSocket: with the `WebSocket` option (here from the `ws` package), a
 * round trip against a real server; without it, a clear error.
 */
import { expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildClientBundle } from '../helpers/client-bundle'
import { startServer } from '../helpers/server'
import { ROOT, runToEnd } from '../helpers/spawn'

const SCRIPT = `
import { createRequire } from 'node:module'
const [bundle, root, url] = process.argv.slice(2)
const { HeraldClient } = await import(bundle)
const WebSocket = createRequire(root + '/package.json')('ws')
let withoutOption = null
if (typeof globalThis.WebSocket === 'undefined') {
  try { new HeraldClient(url) } catch (e) { withoutOption = { name: e.name, code: e.code, message: e.message } }
}
const client = new HeraldClient(url, { WebSocket })
await client.connect()
const sub = client.subscribe('t')
await sub.ready
const got = new Promise((resolve) => sub.on('event', resolve))
const published = await client.publish('t', { from: 'node' })
const event = await got
const error = await client.publish('nope', 1).catch((e) => ({ name: e.name, code: e.code }))
client.close()
console.log(JSON.stringify({ node: process.version, seq: event.seq, payload: event.message.payload, sameId: event.message.id === published.id, error, withoutOption, state: client.state }))
`

test('the SDK bundle in Node with the ws package: connect, subscribe, publish, typed error; without WebSocket on Node 20 a clear error', async () => {
  const node = Bun.which('node')
  expect(node).not.toBeNull() // CI runs on a machine with Node.js and npm (.ci/run)
  using bundle = await buildClientBundle()
  const script = join(bundle.dir, 'run.mjs')
  writeFileSync(script, SCRIPT)
  await using server = startServer()
  await server.createTopic('t')
  const run = await runToEnd([node!, script, bundle.path, ROOT, server.http], {}, 20_000)
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' })
  const out = JSON.parse(run.stdout)
  expect(out).toMatchObject({ seq: 1, payload: { from: 'node' }, sameId: true, error: { name: 'HeraldError', code: 'TOPIC_NOT_FOUND' }, state: 'closed' })
  if (Number(/^v(\d+)/.exec(out.node)![1]) < 22) expect(out.withoutOption).toMatchObject({ name: 'HeraldError', code: 'INVALID_ARGUMENT', message: expect.stringContaining('pass the WebSocket option') })
}, 30_000)

test('the bundle is small and holds nothing of the server: no TypeBox, Elysia, pino', async () => {
  using bundle = await buildClientBundle()
  expect(bundle.code.length).toBeLessThan(32 * 1024)
  for (const server of ['elysia', 'pino', 'sinclair', 'TypeCompiler', 'prom-client']) expect({ server, found: bundle.code.includes(server) }).toEqual({ server, found: false })
})

test("package.json exports the SDK as 'herald/client'", async () => {
  const viaExport = await import('herald/client')
  const direct = await import('../../src/client')
  expect(viaExport.HeraldClient).toBe(direct.HeraldClient)
})
