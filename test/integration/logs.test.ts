/**
 * Structured logs: one JSON event per line, levels, redaction, the pretty
 * format, and the events the server writes for real traffic.
 */
import { describe, expect, test } from 'bun:test'
import { loadConfig } from '../../src/config'
import { createLogger } from '../../src/log'
import { startHerald } from '../../src/server'
import { rawConnect } from '../helpers/raw-ws'
import { connect, uuid } from '../helpers/ws-client'
import { until, within } from '../helpers/wait'

type Line = Record<string, any>

function capture(level: Parameters<typeof createLogger>[0] = 'debug') {
  const lines: string[] = []
  const log = createLogger(level, { format: 'json', write: (l) => lines.push(l) })
  return { log, lines, events: () => lines.map((l) => JSON.parse(l) as Line) }
}

describe('logger', () => {
  test('one JSON object per line: level, ISO time, event, fields', () => {
    const { log, lines, events } = capture('info')
    log.debug('hidden')
    log.info('hello', { n: 1 })
    log.error('boom', { code: 'X' })
    expect(lines.length).toBe(2)
    for (const l of lines) expect(l).not.toContain('\n')
    const [hello, boom] = events()
    expect(hello).toEqual({ level: 'info', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), event: 'hello', n: 1 })
    expect(boom!.level).toBe('error')
  })

  test('LOG_LEVEL filters, silent writes nothing', () => {
    const warn = capture('warn')
    warn.log.info('no')
    warn.log.warn('yes')
    expect(warn.events().map((e) => e.event)).toEqual(['yes'])
    const silent = capture('silent')
    silent.log.error('no')
    expect(silent.lines).toEqual([])
  })

  test('API keys are censored wherever a caller puts them', () => {
    const { log, lines } = capture()
    log.info('oops', { apiKey: 'sekrit-1', api_key: 'sekrit-2', headers: { 'x-api-key': 'sekrit-3' }, config: { apiKey: 'sekrit-4' } })
    expect(lines.join('\n')).not.toContain('sekrit')
    expect(lines[0]).toContain('[redacted]')
  })

  test('censoring replaces only the secret values, in the line, never in the caller’s objects', () => {
    const { log, events } = capture()
    const headers = { 'x-api-key': 'sekrit-1', accept: 'text/plain' }
    const fields = { token: 'sekrit-2', session: 's1', headers, limits: { max: 3 }, tags: ['a', 'b'] }
    log.info('request', fields)
    log.info('request', fields)
    for (const line of events())
      expect(line).toMatchObject({ event: 'request', token: '[redacted]', session: 's1', headers: { 'x-api-key': '[redacted]', accept: 'text/plain' }, limits: { max: 3 }, tags: ['a', 'b'] })
    // The objects the caller passed still hold what it put there (the second line was censored from them too).
    expect(fields.token).toBe('sekrit-2')
    expect(fields.headers).toBe(headers)
    expect(headers['x-api-key']).toBe('sekrit-1')
  })

  test('pretty format is one human-readable line per event', () => {
    const lines: string[] = []
    const log = createLogger('info', { format: 'pretty', write: (l) => lines.push(l) })
    log.info('topic_created', { topic: 'orders' })
    expect(lines.length).toBe(1)
    expect(() => JSON.parse(lines[0]!)).toThrow()
    expect(lines[0]).toContain('INFO')
    expect(lines[0]).toContain('topic_created')
    expect(lines[0]).toContain('orders')
  })
})

describe('server log events', () => {
  test('connect, disconnect with code, topic create/delete, client errors at debug, slow-consumer episodes', async () => {
    const { log, events } = capture('debug')
    const config = { ...loadConfig({}), host: '127.0.0.1', port: 0, shutdownGraceMs: 200, queueSize: 5, socketHighWaterBytes: 16 * 1024, slowConsumerPolicy: 'disconnect' as const }
    const herald = startHerald(config, log)
    try {
      const http = `http://127.0.0.1:${herald.port}`
      expect((await fetch(`${http}/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 't' }) })).status).toBe(201)
      const client = await connect(`ws://127.0.0.1:${herald.port}/ws`)
      expect((await client.request({ type: 'publish', topic: 'missing', message: { id: uuid(), payload: 1 } })).error.code).toBe('TOPIC_NOT_FOUND')

      // A slow subscriber under the disconnect policy.
      const slow = await rawConnect(herald.port)
      await slow.subscribe('t', 'slow')
      slow.pause()
      const pad = 'x'.repeat(16 * 1024)
      await until(
        async () => {
          for (let i = 0; i < 50; i++) client.send({ type: 'publish', topic: 't', message: { id: uuid(), payload: pad } })
          await client.request({ type: 'ping' }, 5000)
          return events().some((e) => e.event === 'slow_consumer') ? true : undefined
        },
        20_000,
        'a slow_consumer log line',
      )
      slow.destroy()

      expect((await fetch(`${http}/topics/t`, { method: 'DELETE' })).status).toBe(200)
      client.socket.close(1000, 'bye')
      await within(client.closed, 3000, 'client closed')
      await until(() => (events().filter((e) => e.event === 'disconnect').length === 2 ? true : undefined), 3000, 'two disconnect lines')

      const all = events()
      const byEvent = (name: string) => all.filter((e) => e.event === name)
      expect(byEvent('listening').length).toBe(1)
      expect(byEvent('connect').length).toBe(2)
      expect(byEvent('connect')[0]).toEqual(expect.objectContaining({ level: 'info', session: expect.any(Number) }))
      expect(byEvent('topic_created')).toEqual([expect.objectContaining({ level: 'info', topic: 't' })])
      expect(byEvent('topic_deleted')).toEqual([expect.objectContaining({ level: 'info', topic: 't' })])
      expect(byEvent('ws_error_sent')[0]).toEqual(expect.objectContaining({ level: 'debug', code: 'TOPIC_NOT_FOUND' }))
      expect(byEvent('slow_consumer')).toEqual([expect.objectContaining({ level: 'warn', action: 'disconnect', reason: expect.stringContaining("topic 't'") })])
      const codes = byEvent('disconnect').map((e) => e.code).sort()
      expect(codes).toEqual([1000, 4000])
      expect(byEvent('disconnect').find((e) => e.code === 1000)!.reason).toBe('bye')
    } finally {
      await herald.shutdown()
    }
    expect(events().at(-1)!.event).toBe('shutdown_complete')
  }, 60_000)

  test('the start-up line has the effective config and never the API key', async () => {
    const proc = Bun.spawn([process.execPath, 'run', 'src/index.ts'], {
      cwd: new URL('../..', import.meta.url).pathname,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', API_KEY: 'top-secret-key', LOG_FORMAT: 'json', LOG_LEVEL: 'info', QUEUE_SIZE: '7' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    try {
      let out = ''
      const reader = proc.stdout.getReader()
      await within(
        (async () => {
          while (!out.includes('"event":"listening"')) {
            const { value, done } = await reader.read()
            if (done) throw new Error(`server exited: ${out}`)
            out += new TextDecoder().decode(value)
          }
        })(),
        10_000,
        'the listening line',
      )
      reader.releaseLock()
      expect(out).not.toContain('top-secret-key')
      const config = out.split('\n').map((l) => JSON.parse(l || '{}')).find((e) => e.event === 'config')
      expect(config).toEqual(expect.objectContaining({ level: 'info', queueSize: 7, logLevel: 'info', apiKeySet: true, metricsTopicLabels: false }))
      expect(config).not.toHaveProperty('apiKey')
    } finally {
      proc.kill('SIGTERM')
      await within(proc.exited, 10_000, 'the server to exit')
    }
  }, 30_000)
})
