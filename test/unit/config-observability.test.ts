/** The observability rows of the config table: LOG_LEVEL, LOG_FORMAT, METRICS_TOPIC_LABELS, METRICS_PUBLIC, DOCS_PUBLIC. */
import { describe, expect, test } from 'bun:test'
import { ConfigError, helpText, loadConfig } from '../../src/config'

describe('observability config', () => {
  test('defaults', () => {
    const c = loadConfig({})
    expect(c).toEqual(expect.objectContaining({ logLevel: 'info', logFormat: 'auto', metricsTopicLabels: false, metricsPublic: false, docsPublic: true }))
  })

  test('environment and flags, booleans as true/false/1/0/yes/no', () => {
    const c = loadConfig({ LOG_LEVEL: 'debug', METRICS_TOPIC_LABELS: 'true', METRICS_PUBLIC: '1', DOCS_PUBLIC: 'no' }, ['--log-format', 'json', '--metrics-public=false'])
    expect(c).toEqual(expect.objectContaining({ logLevel: 'debug', logFormat: 'json', metricsTopicLabels: true, metricsPublic: false, docsPublic: false }))
  })

  test('a bad value names the variable and the allowed values', () => {
    expect(() => loadConfig({ LOG_LEVEL: 'verbose' })).toThrow(ConfigError)
    expect(() => loadConfig({ LOG_LEVEL: 'verbose' })).toThrow('LOG_LEVEL="verbose": expected one of debug, info, warn, error, silent')
    expect(() => loadConfig({ METRICS_TOPIC_LABELS: 'maybe' })).toThrow('METRICS_TOPIC_LABELS="maybe": expected true or false')
  })

  test('--help lists every new row with its default', () => {
    const help = helpText()
    for (const flag of ['--log-level', '--log-format', '--metrics-topic-labels', '--metrics-public', '--docs-public']) expect(help).toContain(flag)
    expect(help).toMatch(/METRICS_TOPIC_LABELS\s+default false/)
  })
})
