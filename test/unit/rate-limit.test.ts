import { expect, test } from 'bun:test'
import { RateLimiter } from '../../src/protocol/rate-limit'

test('token bucket: burst, refill at the rate, abuse only after a sustained streak', () => {
  let now = 0
  const limiter = new RateLimiter({ perSec: 10, burst: 3, closeAfterMs: 2000 }, () => now)
  expect([limiter.admit(), limiter.admit(), limiter.admit(), limiter.admit()]).toEqual(['ok', 'ok', 'ok', 'limited'])
  now += 100 // one token back
  expect([limiter.admit(), limiter.admit()]).toEqual(['ok', 'limited'])
  // A refusal every 50 ms for 2 s (never a one-second pause) becomes abuse.
  let result = 'limited'
  for (let t = 0; t < 2100 && result !== 'abusive'; t += 50) {
    now += 50
    while ((result = limiter.admit()) === 'ok');
  }
  expect(result).toBe('abusive')
})

test('a pause of more than a second ends the streak', () => {
  let now = 0
  const limiter = new RateLimiter({ perSec: 1, burst: 1, closeAfterMs: 1500 }, () => now)
  limiter.admit()
  expect(limiter.admit()).toBe('limited')
  now += 1000
  expect(limiter.admit()).toBe('ok')
  now += 1100
  limiter.admit()
  now += 1200 // 2.3 s after the first refusal, but the streak restarted
  limiter.admit()
  expect(limiter.admit()).not.toBe('abusive')
})

test('burst 0 means the rate itself, at least 1', () => {
  const limiter = new RateLimiter({ perSec: 0.5, burst: 0, closeAfterMs: 1000 }, () => 0)
  expect([limiter.admit(), limiter.admit()]).toEqual(['ok', 'limited'])
})
