/**
 * Starts herald in this process on port 0; `await using` stops it at the end
 * of the scope. With TEST_ENGINE=redis (`npm run test:redis`, see
 * engine-preload.ts) every server uses the Redis engine on REDIS_URL, each on
 * a REDIS_PREFIX of its own.
 */
import { type Config, loadConfig } from '../../src/config'
import { type Herald, startHerald } from '../../src/server'
import { uniquePrefix } from './redis-server'

/** The engine settings of TEST_ENGINE: none for the memory engine (the default). */
export function testEngine(): Partial<Config> {
  if (process.env.TEST_ENGINE !== 'redis') return {}
  const redisUrl = process.env.REDIS_URL
  if (!redisUrl) throw new Error('TEST_ENGINE=redis needs REDIS_URL (npm run test:redis starts a redis-server and sets it)')
  return { engine: 'redis', redisUrl, redisPrefix: uniquePrefix('server') }
}

export interface TestServer extends Herald {
  readonly http: string
  readonly ws: string
  /** POST /topics; returns the status. */
  createTopic(name: string, headers?: Record<string, string>): Promise<number>
  [Symbol.asyncDispose](): Promise<void>
}

export function startServer(overrides: Partial<Config> = {}): TestServer {
  const config: Config = { ...loadConfig({}), host: '127.0.0.1', port: 0, shutdownGraceMs: 500, ...testEngine(), ...overrides }
  const herald = startHerald(config)
  const http = `http://127.0.0.1:${herald.port}`
  return {
    ...herald,
    http,
    ws: `ws://127.0.0.1:${herald.port}/ws`,
    async createTopic(name, headers = {}) {
      const res = await fetch(`${http}/topics`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ name }) })
      await res.body?.cancel()
      return res.status
    },
    [Symbol.asyncDispose]: () => herald.shutdown(),
  }
}
