/**
 * Preloaded by `npm run test:redis` (TEST_ENGINE=redis): the engine-independent
 * protocol tests run again, unchanged, with every in-process server on the
 * Redis engine (test/helpers/server.ts reads TEST_ENGINE). Starts one
 * redis-server of its own for the run (or uses REDIS_URL), each server on its
 * own REDIS_PREFIX. Without redis-server and REDIS_URL: one line, and no test
 * runs (exit 0), except with CI set, where that is a failure.
 */
import { afterAll } from 'bun:test'
import { REDIS_HOW_TO, redisAvailable, startRedis } from './redis-server'

if (process.env.TEST_ENGINE === 'redis' && !process.env.REDIS_URL) {
  if (!redisAvailable) {
    if (process.env.CI) {
      console.error(`TEST_ENGINE=redis: redis-server is missing (${REDIS_HOW_TO})`)
      process.exit(1)
    }
    console.log(`skipped: the protocol tests on ENGINE=redis (${REDIS_HOW_TO})`)
    process.exit(0)
  }
  const redis = await startRedis()
  process.env.REDIS_URL = redis.url
  // A preload's afterAll runs once after every test file: `bun test` does not emit 'exit' to it, and
  // the redis-server outlived every run before this (kept as well, for a run stopped early).
  afterAll(() => redis.killNow())
  process.on('exit', () => redis.killNow())
}
