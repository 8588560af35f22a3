/**
 * The client subcommands (herald pub, sub, topics, stats, bench, help), each
 * run as a process (`bun run src/index.ts CMD …`) against a real server.
 */
import { describe, expect, test } from 'bun:test'
import { spawn } from 'bun'
import { join } from 'node:path'
import { rest } from '../helpers/http'
import { startServer } from '../helpers/server'
import { ROOT, runToEnd, spawnServer } from '../helpers/spawn'
import { tcpProxy } from '../helpers/tcp-proxy'
import { until, within } from '../helpers/wait'

const HERALD = [process.execPath, 'run', join(ROOT, 'src', 'index.ts')]

function herald(args: string[], env: Record<string, string> = {}, ms = 15_000) {
  return runToEnd([...HERALD, ...args], env, ms)
}

/** A long-running `herald sub` whose stdout lines are collected as they come. */
function startSub(args: string[], env: Record<string, string> = {}) {
  const proc = spawn([...HERALD, 'sub', ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  const lines: string[] = []
  let stderr = ''
  void (async () => {
    let pending = ''
    for await (const chunk of proc.stdout) {
      pending += new TextDecoder().decode(chunk)
      const parts = pending.split('\n')
      pending = parts.pop()!
      lines.push(...parts)
    }
  })()
  void (async () => {
    for await (const chunk of proc.stderr) stderr += new TextDecoder().decode(chunk)
  })()
  return {
    proc,
    lines,
    stderr: () => stderr,
    [Symbol.dispose]() {
      if (proc.exitCode === null) proc.kill('SIGKILL')
    },
  }
}

describe('herald pub / sub', () => {
  test('sub prints one payload per line (and --json the whole frame); pub prints seq and id; Ctrl-C exits 0', async () => {
    await using server = startServer()
    await server.createTopic('orders')
    using sub = startSub(['orders', '--url', server.http])
    using subJson = startSub(['orders', '--json'], { HERALD_URL: server.http })
    await until(async () => ((await rest(server.http, 'GET', '/topics')).body.topics[0].subscribers === 2 ? true : undefined), 10_000, 'two subscribers')
    const pub = await herald(['pub', 'orders', '{"order_id":"ORD-1"}', '--url', server.http])
    expect(pub).toMatchObject({ code: 0, stderr: '' })
    // seq is "-" until acks carry it (issue 9); the id is the message's UUID.
    expect(pub.stdout).toMatch(/^(\d+|-) [0-9a-f-]{36}\n$/)
    const id = pub.stdout.trim().split(' ')[1]
    await until(() => (sub.lines.length >= 1 && subJson.lines.length >= 1 ? true : undefined), 5000, 'the event lines')
    expect(sub.lines).toEqual(['{"order_id":"ORD-1"}'])
    expect(JSON.parse(subJson.lines[0]!)).toMatchObject({ type: 'event', topic: 'orders', seq: 1, message: { id, payload: { order_id: 'ORD-1' } } })
    sub.proc.kill('SIGINT')
    expect(await within(sub.proc.exited, 5000, 'sub to exit')).toBe(0)
  }, 30_000)

  test('pub without JSON publishes one message per stdin line; a bad line is reported and skipped (exit 1)', async () => {
    await using server = startServer()
    await server.createTopic('t')
    const proc = spawn([...HERALD, 'pub', 't', '--url', server.http], { cwd: ROOT, env: { PATH: process.env.PATH ?? '' }, stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' })
    proc.stdin.write('1\n"two"\nnot json\n{"n":4}')
    await proc.stdin.end()
    const [code, stdout, stderr] = await within(Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]), 15_000, 'pub to exit')
    expect(code).toBe(1)
    expect(stdout.trim().split('\n')).toHaveLength(3)
    expect(stderr).toContain('line 3 is not valid JSON')
    expect((await rest(server.http, 'GET', '/stats')).body.topics.t.messages).toBe(3)
  }, 30_000)

  test('pub --count N --rate R publishes N and prints a summary; sub --last N --count K replays and exits 0', async () => {
    await using server = startServer()
    await server.createTopic('t')
    const pub = await herald(['pub', 't', '{"k":1}', '--count', '20', '--rate', '200', '--url', server.http])
    expect(pub.code).toBe(0)
    expect(pub.stdout).toMatch(/^published 20 messages to 't' in [\d.]+ s \(\d+ msg\/s\)\n$/)
    // 20 messages at 200/s take at least 95 ms.
    expect(Number(/in ([\d.]+) s/.exec(pub.stdout)![1])).toBeGreaterThanOrEqual(0.09)
    const sub = await herald(['sub', 't', '--last', '3', '--count', '3', '--json', '--url', server.http])
    expect(sub.code).toBe(0)
    expect(sub.stdout.trim().split('\n').map((l) => JSON.parse(l).seq)).toEqual([18, 19, 20])
  }, 30_000)

  test('a reader that goes away (| head -1) ends sub and pub with status 0 and no stack trace', async () => {
    await using server = startServer()
    await server.createTopic('t')
    const cmd = HERALD.map((a) => `'${a}'`).join(' ')
    // sub only notices the closed pipe on its next write: a feeder keeps events coming (20/s) until sub has exited.
    const script = [
      `seq 1 100000 | ${cmd} pub t --rate 20 --url ${server.http} >/dev/null 2>&1 & feeder=$!`,
      `${cmd} sub t --url ${server.http} | head -1; a=\${PIPESTATUS[0]}`,
      'kill $feeder',
      `seq 1 200 | ${cmd} pub t --url ${server.http} | head -1 >/dev/null; echo "$a \${PIPESTATUS[1]}"`,
    ].join('\n')
    const r = await runToEnd(['bash', '-c', script], {}, 20_000)
    expect(r.stdout).toMatch(/^\d+\n0 0\n$/)
    expect(r.stderr).not.toContain('EPIPE')
  }, 30_000)

  test('sub reconnects after a graceful shutdown and says whether it recovered', async () => {
    const first = startServer()
    const port = first.port
    await first.createTopic('t')
    // Through a proxy that refuses connections until the new server has its topic (tcp-proxy.ts).
    using proxy = tcpProxy(port)
    using sub = startSub(['t', '--url', proxy.http])
    await until(async () => ((await rest(first.http, 'GET', '/topics')).body.topics[0].subscribers === 1 ? true : undefined), 10_000, 'the subscriber')
    proxy.refuse = true
    await first.shutdown()
    await using second = startServer({ port })
    await second.createTopic('t')
    proxy.refuse = false
    await until(() => (sub.stderr().includes('resubscribed') ? true : undefined), 10_000, 'the resubscribe line')
    expect(sub.stderr()).toContain("resubscribed to 't': recovered=false")
    expect((await herald(['pub', 't', '"after"', '--url', second.http])).code).toBe(0)
    await until(() => (sub.lines.includes('"after"') ? true : undefined), 5000, 'the event after the restart')
  }, 30_000)

  test('server errors exit 1 with the message; bad usage exits 2 with the usage', async () => {
    await using server = startServer()
    const unknown = await herald(['pub', 'nope', '1', '--url', server.http])
    expect(unknown).toMatchObject({ code: 1, stdout: '' })
    expect(unknown.stderr).toContain('TOPIC_NOT_FOUND')
    expect((await herald(['sub', 'nope', '--url', server.http])).stderr).toContain('TOPIC_NOT_FOUND')
    const badUrl = await herald(['stats', '--url', 'ftp://127.0.0.1'])
    expect(badUrl.code).toBe(2)
    expect(badUrl.stderr).toContain("--url 'ftp://127.0.0.1' is not an http(s) or ws(s) URL")
    const down = await herald(['stats', '--url', 'http://127.0.0.1:1'])
    expect(down.code).toBe(1)
    expect(down.stderr).toContain('cannot reach')
    for (const args of [['pub'], ['pub', 't', 'not-json'], ['sub', 't', '--last', '-1'], ['sub', 't', '--since', '3'], ['topics', 'rename', 'x'], ['pub', 't', '1', '--bogus'], ['bench', '--size', '8']]) {
      const r = await herald([...args, '--url', server.http])
      expect({ args, code: r.code }).toEqual({ args, code: 2 })
      expect(r.stderr).toContain('Usage: herald')
      expect(r.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/) // a message, not a stack trace
    }
  }, 60_000)
})

describe('herald pub / sub with a user token', () => {
  test('a token from herald token works for pub and sub (--token / HERALD_TOKEN); a topic it does not allow exits 1 with FORBIDDEN', async () => {
    const secret = 'cli-test-secret-0123456789-abcdefghij'
    await using server = startServer({ tokenHmacSecret: secret, apiKey: 'admin' })
    await server.createTopic('orders', { 'x-api-key': 'admin' })
    await server.createTopic('other', { 'x-api-key': 'admin' })
    const minted = await herald(['token', '--sub', 'alice', '--subscribe', 'orders', '--publish', 'orders', '--ttl', '5m'], { TOKEN_HMAC_SECRET: secret })
    expect(minted.code).toBe(0)
    const token = minted.stdout.trim()
    expect((await herald(['pub', 'orders', '{"n":1}', '--token', token, '--url', server.http])).code).toBe(0)
    const sub = await herald(['sub', 'orders', '--last', '1', '--count', '1'], { HERALD_URL: server.http, HERALD_TOKEN: token })
    expect(sub).toMatchObject({ code: 0, stdout: '{"n":1}\n' })
    const refused = await herald(['pub', 'other', '1', '--token', token, '--url', server.http])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('FORBIDDEN')
  }, 30_000)
})

describe('herald topics / stats / help', () => {
  test('topics create, list, delete; stats; the API key from --api-key or HERALD_API_KEY', async () => {
    await using server = startServer({ apiKey: 's3cret' })
    const env = { HERALD_URL: server.http, HERALD_API_KEY: 's3cret' }
    expect(await herald(['topics', 'create', 'a'], env)).toMatchObject({ code: 0, stdout: 'created a\n' })
    expect((await herald(['topics', 'create', 'a'], env)).stderr).toContain('TOPIC_EXISTS')
    expect((await herald(['topics'], env)).stdout).toBe('a\t0 subscriber(s)\n')
    expect(JSON.parse((await herald(['topics', '--json'], env)).stdout)).toEqual({ topics: [{ name: 'a', subscribers: 0 }] })
    const stats = await herald(['stats'], env)
    expect(stats.code).toBe(0)
    expect(stats.stdout).toMatch(/^uptime \d+ s, 0 connection\(s\), 1 topic\(s\), 0 subscription\(s\)\ntopic +messages/)
    expect(JSON.parse((await herald(['stats', '--json'], env)).stdout).stats.topics.a.messages).toBe(0)
    const noKey = await herald(['topics', '--url', server.http])
    expect(noKey.code).toBe(1)
    expect(noKey.stderr).toContain('401')
    expect(await herald(['topics', 'delete', 'a', '--api-key', 's3cret', '--url', server.http])).toMatchObject({ code: 0, stdout: 'deleted a\n' })
    expect((await herald(['topics', 'delete', 'a'], env)).code).toBe(1)
  }, 60_000)

  test('herald help lists every command; herald help CMD and CMD --help print its usage', async () => {
    const all = await herald(['help'])
    expect(all.code).toBe(0)
    for (const name of ['serve', 'pub', 'sub', 'topics', 'stats', 'bench', 'token']) expect(all.stdout).toContain(`  ${name}`)
    for (const name of ['pub', 'sub', 'topics', 'stats', 'bench']) {
      const r = await herald(['help', name])
      expect({ name, code: r.code }).toEqual({ name, code: 0 })
      expect(r.stdout).toContain(`Usage: herald ${name}`)
      expect(r.stdout).toContain('--url URL')
      expect((await herald([name, '--help'])).stdout).toBe(r.stdout)
    }
    expect((await herald(['help', 'nope'])).code).toBe(2)
  }, 60_000)
})

describe('herald serve', () => {
  test('herald serve starts the server like herald alone, with the same flags', async () => {
    await using child = await spawnServer({ args: ['serve', '--history-size', '7'] })
    expect((await rest(child.http, 'GET', '/health')).status).toBe(200)
    expect(child.lines.some((l) => l.includes('"historySize":7'))).toBe(true)
  })
})

describe('herald bench', () => {
  test('reports publishes/s, deliveries/s, latency percentiles and zero loss (--json), and deletes its topic', async () => {
    await using server = startServer()
    const r = await herald(['bench', '--subscribers', '3', '--publishers', '2', '--size', '64', '--duration', '1.5', '--json', '--url', server.http], {}, 30_000)
    expect(r.code).toBe(0)
    const result = JSON.parse(r.stdout)
    expect(result).toMatchObject({ subscribers: 3, publishers: 2, size: 64, zero_loss: true, lost: 0, out_of_order: 0 })
    expect(result.published).toBeGreaterThan(0)
    expect(result.delivered).toBe(result.published * 3)
    const l = result.latency_ms
    expect(l.count).toBe(result.delivered)
    expect(l.min).toBeLessThanOrEqual(l.p50)
    expect(l.p50).toBeLessThanOrEqual(l.p90)
    expect(l.p99_9).toBeLessThanOrEqual(l.max)
    expect(r.stderr).toMatch(/\[1 s\] published \d+/) // the progress line, every second (the run lasts 1.5 s)
    expect((await rest(server.http, 'GET', '/topics')).body.topics).toEqual([])
  }, 40_000)
})
