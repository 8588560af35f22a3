/**
 * Keeps the benchmark suite (bench/) from rotting: every scenario runs once
 * with tiny N against herald (fanout also against the native reference),
 * each server in its own process, and must complete with zero loss and no
 * duplicates. No throughput is asserted: benchmarks are not timed tests.
 */
import { describe, expect, test } from 'bun:test'
import { conns, fanout, latency, type Metrics, publish, type Scenario, slow, startup, topics } from '../bench/scenarios'
import { cpuSeconds, threadCpuSeconds } from '../bench/lib/server-process'

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

  test("the fan-out's CPU per million deliveries splits off its JIT compiler threads' part", async () => {
    const m = await fanout(10, 300).run('project')
    expectComplete(m, 'server_cpu_s_per_m_deliveries')
    expect(m.server_jit_cpu_s_per_m_deliveries).toBeGreaterThanOrEqual(0)
    expect(m.server_jit_cpu_s_per_m_deliveries!).toBeLessThanOrEqual(m.server_cpu_s_per_m_deliveries!)
  }, 20_000)

  test('the per-thread CPU reading: every thread of this process together is its CPU time, and a name selects', () => {
    const started = performance.now()
    while (performance.now() - started < 60) {} // at least a few ticks of CPU on this thread
    const all = threadCpuSeconds(process.pid, '')
    expect(all).toBeGreaterThan(0)
    // Threads that already ended count in the process's total only; one tick (10 ms) for the readings' order.
    expect(all).toBeLessThanOrEqual(cpuSeconds(process.pid) + 0.01)
    expect(threadCpuSeconds(process.pid, 'no thread is called this')).toBe(0)
  })

  test('the native reference server runs the fanout scenario with zero loss', async () => {
    expectComplete(await fanout(10, 300).run('reference'), 'deliveries_per_s')
  }, 20_000)

  test('startup: the compiled binary answers /health', async () => {
    expectComplete(await startup().run('project'), 'startup_ms')
  }, 120_000)
})
