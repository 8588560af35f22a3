import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { rest } from '../helpers/http'
import { ROOT, runToEnd, spawnServer } from '../helpers/spawn'
import { connect } from '../helpers/ws-client'

const ENTRY = [process.execPath, 'run', join(ROOT, 'src', 'index.ts')]
const ENV_NAMES = ['PORT', 'HOST', 'API_KEY', 'QUEUE_SIZE', 'HISTORY_SIZE', 'HEARTBEAT_INTERVAL_MS', 'SLOW_CONSUMER_POLICY', 'MAX_PAYLOAD_BYTES', 'SHUTDOWN_GRACE_MS']

describe('configuration on the command line (bun run src/index.ts)', () => {
  test('--help lists every variable and flag with its default and exits 0', async () => {
    const { code, stdout } = await runToEnd([...ENTRY, '--help'])
    expect(code).toBe(0)
    for (const name of ENV_NAMES) {
      expect(stdout).toContain(name)
      expect(stdout).toContain('--' + name.toLowerCase().replaceAll('_', '-'))
    }
    expect(stdout).toContain('8080')
  })

  test('a bad value exits non-zero with a clear message naming the variable, before listening', async () => {
    for (const [env, args, name] of [
      [{ QUEUE_SIZE: 'lots' }, [], 'QUEUE_SIZE'],
      [{ SLOW_CONSUMER_POLICY: 'block' }, [], 'SLOW_CONSUMER_POLICY'],
      [{}, ['--port', 'abc'], '--port'],
      [{}, ['--bogus'], '--bogus'],
    ] as [Record<string, string>, string[], string][]) {
      const { code, stdout, stderr } = await runToEnd([...ENTRY, ...args], { PORT: '0', HOST: '127.0.0.1', ...env })
      expect(code).not.toBe(0)
      expect(stderr).toContain(name)
      expect(stderr).not.toContain('    at ') // a message, not a stack trace
      expect(stdout).not.toContain('"listening"')
    }
  })

  test('flags override the environment in the running server', async () => {
    // API_KEY from the environment is replaced by --api-key.
    await using child = await spawnServer({ env: { API_KEY: 'from-env' }, args: ['--api-key', 'from-flag'] })
    expect((await rest(child.http, 'GET', '/topics', { headers: { 'x-api-key': 'from-env' } })).status).toBe(401)
    expect((await rest(child.http, 'GET', '/topics', { headers: { 'x-api-key': 'from-flag' } })).status).toBe(200)
    using c = await connect(`${child.ws}?api_key=from-flag`)
    expect((await c.request({ type: 'ping' })).type).toBe('pong')
    // The start-up log line never contains the key.
    expect(child.lines.join('\n')).not.toContain('from-flag')
  })
})
