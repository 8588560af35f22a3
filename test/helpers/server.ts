/** Starts herald in this process on port 0; `await using` stops it at the end of the scope. */
import { type Config, loadConfig } from '../../src/config'
import { type Herald, startHerald } from '../../src/server'

export interface TestServer extends Herald {
  readonly http: string
  readonly ws: string
  /** POST /topics; returns the status. */
  createTopic(name: string, headers?: Record<string, string>): Promise<number>
  [Symbol.asyncDispose](): Promise<void>
}

export function startServer(overrides: Partial<Config> = {}): TestServer {
  const config: Config = { ...loadConfig({}), host: '127.0.0.1', port: 0, shutdownGraceMs: 500, ...overrides }
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
