/** GET /ready (for load balancers) and the engine fields of GET /health, on the default memory engine. */
import { describe, expect, test } from 'bun:test'
import { rest } from '../helpers/http'
import { startServer } from '../helpers/server'

describe('GET /ready and the engine fields of /health', () => {
  test('/ready answers 200 {"ready":true} without the API key; /health names the instance and the engine', async () => {
    await using server = startServer({ apiKey: 'k'.repeat(32), engine: 'memory', instanceId: 'web-1' })
    expect(await rest(server.http, 'GET', '/ready')).toMatchObject({ status: 200, body: { ready: true } })
    expect((await rest(server.http, 'GET', '/stats')).status).toBe(401) // the rest still needs the key
    const health = await rest(server.http, 'GET', '/health')
    expect(health.status).toBe(200)
    expect(health.body).toMatchObject({ instance: 'web-1', engine: 'memory', instances: 1, engine_ready: true, topics: 0, subscribers: 0, connections: 0 })
  })

  test('without INSTANCE_ID the instance is the hostname plus a random suffix, different for two servers on one host', async () => {
    await using a = startServer({ engine: 'memory', instanceId: '' })
    await using b = startServer({ engine: 'memory', instanceId: '' })
    const [ia, ib] = await Promise.all([a, b].map(async (s) => (await rest(s.http, 'GET', '/health')).body.instance as string))
    expect(ia).toMatch(/^[A-Za-z0-9._-]+-[0-9a-f]{6}$/)
    expect(ia).not.toBe(ib)
  })
})
