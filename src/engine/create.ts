/** Builds the engine that ENGINE names, from the config. */
import { hostname } from 'node:os'
import type { Config } from '../config'
import type { Logger } from '../log'
import type { Engine } from './engine'
import { MemoryEngine, type MemoryEngineOptions } from './memory-engine'

/** INSTANCE_ID, or the hostname plus a random suffix (two instances on one host must differ). */
export function instanceIdOf(config: Pick<Config, 'instanceId'>): string {
  if (config.instanceId) return config.instanceId
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '').slice(0, 60) || 'herald'
  return `${host}-${crypto.getRandomValues(new Uint8Array(3)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), '')}`
}

export function createEngine(config: Config, log: Logger): Engine {
  const instanceId = instanceIdOf(config)
  // The embedded engines (memory, sqlite) take the same history limits.
  const embedded: MemoryEngineOptions = {
    historySize: config.historySize,
    historyMaxBytes: config.historyMaxBytes,
    historyTotalMaxBytes: config.historyTotalMaxBytes,
    historyTtlMs: config.historyTtlMs,
    maxTopics: config.maxTopics,
    instanceId,
  }
  if (config.engine === 'memory') return new MemoryEngine(embedded)
  if (config.engine === 'sqlite') {
    // Loaded only when used, like the Redis engine.
    const { SqliteEngine } = require('./sqlite-engine') as typeof import('./sqlite-engine')
    return new SqliteEngine({ ...embedded, path: config.sqlitePath })
  }
  // Loaded only when used: the memory engine (the default) needs no Redis client.
  const { RedisEngine } = require('./redis-engine') as typeof import('./redis-engine')
  return new RedisEngine({
    url: config.redisUrl,
    prefix: config.redisPrefix,
    instanceId,
    historySize: config.historySize,
    // HISTORY_TOTAL_MAX_BYTES does not apply in Redis: there, Redis's maxmemory bounds the whole (docs/scale-out.md).
    historyMaxBytes: config.historyMaxBytes,
    historyTtlMs: config.historyTtlMs,
    maxTopics: config.maxTopics,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    log,
  })
}
