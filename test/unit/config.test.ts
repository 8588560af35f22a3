import { describe, expect, test } from 'bun:test'
import { ConfigError, helpText, idleTimeoutSeconds, loadConfig, options } from '../../src/config'

const ENV_NAMES = ['PORT', 'HOST', 'API_KEY', 'QUEUE_SIZE', 'HISTORY_SIZE', 'HEARTBEAT_INTERVAL_MS', 'SLOW_CONSUMER_POLICY', 'MAX_PAYLOAD_BYTES', 'SHUTDOWN_GRACE_MS']

function configError(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig', () => {
  test('defaults, as issue #2 fixes them', () => {
    expect(loadConfig({}, [])).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      apiKey: '',
      queueSize: 100,
      historySize: 100,
      heartbeatIntervalMs: 30_000,
      slowConsumerPolicy: 'drop_oldest',
      maxPayloadBytes: 1024 * 1024,
      shutdownGraceMs: 5000,
    })
  })

  test('every fixed environment variable is read', () => {
    const config = loadConfig({
      PORT: '9000',
      HOST: '127.0.0.1',
      API_KEY: 'sekret',
      QUEUE_SIZE: '7',
      HISTORY_SIZE: '0',
      HEARTBEAT_INTERVAL_MS: '1500',
      SLOW_CONSUMER_POLICY: 'disconnect',
      MAX_PAYLOAD_BYTES: '4096',
      SHUTDOWN_GRACE_MS: '250',
    })
    expect(config).toMatchObject({
      port: 9000,
      host: '127.0.0.1',
      apiKey: 'sekret',
      queueSize: 7,
      historySize: 0,
      heartbeatIntervalMs: 1500,
      slowConsumerPolicy: 'disconnect',
      maxPayloadBytes: 4096,
      shutdownGraceMs: 250,
    })
  })

  test('flags win over the environment; --flag value and --flag=value both work', () => {
    const env = { PORT: '9000', QUEUE_SIZE: '7', SLOW_CONSUMER_POLICY: 'disconnect' }
    const config = loadConfig(env, ['--port', '9100', '--queue-size=8', '--slow-consumer-policy=drop_oldest', '--api-key', 'k=v'])
    expect(config.port).toBe(9100)
    expect(config.queueSize).toBe(8)
    expect(config.slowConsumerPolicy).toBe('drop_oldest')
    expect(config.apiKey).toBe('k=v')
  })

  test('every environment variable has a matching flag', () => {
    for (const name of ENV_NAMES) {
      const flag = '--' + name.toLowerCase().replaceAll('_', '-')
      const value = name === 'SLOW_CONSUMER_POLICY' ? 'disconnect' : name === 'HOST' || name === 'API_KEY' ? 'x' : '1000'
      const key = Object.entries(options).find(([, o]) => o.env === name)![0]
      expect(loadConfig({}, [flag, value])[key as keyof typeof options]).toBe(name === 'SLOW_CONSUMER_POLICY' || name === 'HOST' || name === 'API_KEY' ? value : 1000)
    }
  })

  test('bad values throw a ConfigError naming the variable or flag', () => {
    expect(configError(() => loadConfig({ PORT: 'abc' })).message).toContain('PORT')
    expect(configError(() => loadConfig({ PORT: '70000' })).message).toContain('PORT')
    expect(configError(() => loadConfig({ QUEUE_SIZE: '0' })).message).toContain('QUEUE_SIZE')
    expect(configError(() => loadConfig({ QUEUE_SIZE: '1.5' })).message).toContain('QUEUE_SIZE')
    expect(configError(() => loadConfig({ HISTORY_SIZE: '-1' })).message).toContain('HISTORY_SIZE')
    expect(configError(() => loadConfig({ HEARTBEAT_INTERVAL_MS: 'soon' })).message).toContain('HEARTBEAT_INTERVAL_MS')
    expect(configError(() => loadConfig({ MAX_PAYLOAD_BYTES: '' })).message).toContain('MAX_PAYLOAD_BYTES')
    expect(configError(() => loadConfig({ SHUTDOWN_GRACE_MS: '-5' })).message).toContain('SHUTDOWN_GRACE_MS')
    const policy = configError(() => loadConfig({ SLOW_CONSUMER_POLICY: 'block' })).message
    expect(policy).toContain('SLOW_CONSUMER_POLICY')
    expect(policy).toContain('drop_oldest')
    expect(policy).toContain('disconnect')
    expect(configError(() => loadConfig({}, ['--port=x'])).message).toContain('--port')
  })

  test('unknown flags and flags without a value are errors', () => {
    expect(configError(() => loadConfig({}, ['--nope', '1'])).message).toContain('--nope')
    expect(configError(() => loadConfig({}, ['--port'])).message).toContain('--port')
  })

  test('--help text lists every environment variable, its flag and its default', () => {
    const text = helpText()
    for (const name of ENV_NAMES) {
      expect(text).toContain(name)
      expect(text).toContain('--' + name.toLowerCase().replaceAll('_', '-'))
    }
    for (const o of Object.values(options)) expect(text).toContain(o.env)
    expect(text).toContain('8080')
    expect(text).toContain('"0.0.0.0"')
    expect(text).toContain('drop_oldest')
    expect(text).toContain('30000')
    expect(text).toContain('--help')
  })

  test('idle timeout: two heartbeat intervals, at least 8 s', () => {
    const base = loadConfig({})
    expect(idleTimeoutSeconds({ ...base, heartbeatIntervalMs: 30_000 })).toBe(60)
    expect(idleTimeoutSeconds({ ...base, heartbeatIntervalMs: 500 })).toBe(8)
  })
})
