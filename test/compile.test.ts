/** The `bun build --compile` single binary: builds it, runs it, its pages, one publish/subscribe round trip, SIGTERM → exit 0. */
import { expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { rest } from './helpers/http'
import { ROOT, runToEnd, spawnServer } from './helpers/spawn'
import { connect, uuid } from './helpers/ws-client'
import { until, within } from './helpers/wait'

test('the compiled binary serves: /health 200, the dashboard and its assets from inside it, /openapi, a publish/subscribe round trip, SIGTERM exits 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-compile-'))
  try {
    const binary = join(dir, 'herald')
    const build = await runToEnd([process.execPath, 'build', '--compile', join(ROOT, 'src', 'index.ts'), '--outfile', binary], {}, 50_000)
    expect({ code: build.code, stderr: build.stderr }).toEqual({ code: 0, stderr: expect.any(String) })

    await using child = await spawnServer({ command: [binary], env: { PORT: '0', HOST: '127.0.0.1' } })
    const health = await until(async () => {
      const reply = await rest(child.http, 'GET', '/health').catch(() => undefined)
      return reply?.status === 200 ? reply : undefined
    }, 5000, '/health 200')
    expect(health.body.topics).toBe(0)

    // The dashboard was bundled into the binary: the page and an asset it names, from the binary alone.
    const page = await rest(child.http, 'GET', '/')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toStartWith('text/html')
    const script = /<script type="module"[^>]* src="(\/[^"]+\.js)"/.exec(page.body)?.[1]
    expect(script).toBeDefined()
    const asset = await rest(child.http, 'GET', script!)
    expect({ status: asset.status, type: asset.headers.get('content-type') }).toEqual({ status: 200, type: expect.stringContaining('javascript') })
    expect(asset.body).toContain('/ws')
    // /openapi inlines its script from the function's source: it must survive --minify as valid JavaScript.
    const docs = await rest(child.http, 'GET', '/openapi')
    const inline = /<script type="module">([\s\S]*)<\/script>/.exec(docs.body)?.[1]
    expect(inline).toContain('openapi/json')
    expect(() => new Function(inline!)).not.toThrow()

    expect((await rest(child.http, 'POST', '/topics', { json: { name: 'orders' } })).status).toBe(201)
    using sub = await connect(child.ws)
    expect((await sub.request({ type: 'subscribe', topic: 'orders', client_id: 's' })).type).toBe('ack')
    using pub = await connect(child.ws)
    const id = uuid()
    expect((await pub.request({ type: 'publish', topic: 'orders', message: { id, payload: { order_id: 'ORD-123' } } })).type).toBe('ack')
    expect(await sub.nextOfType('event')).toMatchObject({ type: 'event', topic: 'orders', seq: 1, message: { id, payload: { order_id: 'ORD-123' } } })

    // The client subcommands are in the same binary.
    const cli = (args: string[]) => runToEnd([binary, ...args, '--url', child.http], {}, 10_000)
    expect(await cli(['topics'])).toMatchObject({ code: 0, stdout: 'orders\t1 subscriber(s)\n' })
    expect((await cli(['pub', 'orders', '{"n":2}'])).code).toBe(0)
    expect(await sub.nextOfType('event')).toMatchObject({ seq: 2, message: { payload: { n: 2 } } })
    expect(await cli(['sub', 'orders', '--last', '2', '--count', '2'])).toMatchObject({ code: 0, stdout: '{"order_id":"ORD-123"}\n{"n":2}\n' })
    expect((await cli(['stats'])).stdout).toContain('orders')
    expect((await runToEnd([binary, 'help', 'bench'])).stdout).toContain('Usage: herald bench')

    child.proc.kill('SIGTERM')
    expect((await sub.nextOfType('info', 5000)).msg).toBe('server_shutdown')
    expect((await within(sub.closed, 5000, 'close')).code).toBe(1001)
    expect(await within(child.exited, 10_000, 'exit')).toBe(0)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 60_000)
