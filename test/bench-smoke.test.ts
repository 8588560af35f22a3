/**
 * Keeps the benchmark suite (bench/) from rotting: every scenario runs once
 * with tiny N against herald (fanout also against the native reference),
 * each server in its own process, and must complete with zero loss and no
 * duplicates. No throughput is asserted: benchmarks are not timed tests.
 */
import { describe, expect, test } from 'bun:test'
import { conns, fanout, latency, type Metrics, publish, type Scenario, slow, startup, topics } from '../bench/scenarios'

function expectComplete(m: Metrics, main: string) {
  expect(m.lost).toBe(0)
  expect(m.extra ?? 0).toBe(0)
  expect(Number.isFinite(m[main])).toBe(true)
  expect(m[main]!).toBeGreaterThan(0)
}

const cases: [Scenario, string][] = [
  [fanout(10, 300), 'deliveries_per_s'],
  [topics(20, 3, 10, 2, 300, 1000), 'deliveries_per_s'],
  [latency(500, 10, 400, 2), 'p50_ms'],
  [slow(10, 300), 'healthy_deliveries_per_s'],
  [conns(100, 2, 2), 'broadcast_ms'],
  [publish(300), 'acks_per_s'],
]

describe('bench smoke (tiny N, zero loss)', () => {
  for (const [scenario, main] of cases)
    test(`${scenario.name} completes against herald with zero loss`, async () => {
      expectComplete(await scenario.run('project'), main)
    }, 20_000)

  test('the native reference server runs the fanout scenario with zero loss', async () => {
    expectComplete(await fanout(10, 300).run('reference'), 'deliveries_per_s')
  }, 20_000)

  test('startup: the compiled binary answers /health', async () => {
    expectComplete(await startup().run('project'), 'startup_ms')
  }, 120_000)
})
