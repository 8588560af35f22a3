import { expect, test } from 'bun:test'
import { percentiles } from '../../src/cli/percentiles'

test('bench percentiles are nearest-rank over the samples; none → nulls', () => {
  const samples = Float64Array.from({ length: 1000 }, (_, i) => 1000 - i) // 1000 … 1, unsorted input
  expect(percentiles(samples)).toEqual({ count: 1000, min: 1, p50: 500, p90: 900, p99: 990, p99_9: 999, max: 1000 })
  expect(percentiles(Float64Array.of(7))).toEqual({ count: 1, min: 7, p50: 7, p90: 7, p99: 7, p99_9: 7, max: 7 })
  expect(percentiles(new Float64Array(0))).toEqual({ count: 0, min: null, p50: null, p90: null, p99: null, p99_9: null, max: null })
})
