import { describe, expect, test } from 'bun:test'
import { ExpirySweep } from '../../src/auth/expiry-sweep'
import { until, within } from '../helpers/wait'

describe('ExpirySweep: one timer for every deadline', () => {
  test('each tracked item expires once, not before its deadline, in deadline order; moved and removed ones follow their latest state', async () => {
    const expired: { item: number; at: number }[] = []
    const { promise: allDone, resolve } = Promise.withResolvers<void>()
    const start = Date.now()
    const deadlines = new Map<number, number>()
    const sweep = new ExpirySweep<number>((item) => {
      expired.push({ item, at: Date.now() })
      if (expired.length === 1500) resolve()
    })
    for (let i = 0; i < 2000; i++) {
      const at = start + 20 + ((i * 7919) % 300)
      deadlines.set(i, at)
      sweep.track(i, at)
    }
    // 250 moved later, 250 removed, then some moved again (stale heap entries must not fire).
    for (let i = 0; i < 250; i++) {
      deadlines.set(i, start + 400 + i)
      sweep.track(i, start + 400 + i)
    }
    for (let i = 250; i < 500; i++) {
      deadlines.delete(i)
      sweep.untrack(i)
    }
    expect(sweep.size).toBe(1750)
    await within(allDone, 5000, '1500 expiries')
    await until(() => (expired.length >= 1750 ? true : undefined), 5000, 'all 1750 expiries')
    expect(new Set(expired.map((e) => e.item)).size).toBe(1750)
    for (const { item, at } of expired) expect(at).toBeGreaterThanOrEqual(deadlines.get(item)!)
    const order = expired.map((e) => deadlines.get(e.item)!)
    expect(order).toEqual([...order].sort((a, b) => a - b))
    expect(sweep.size).toBe(0)
    // Nothing fires after the last: removed items never do.
    await Bun.sleep(50) // a quiet period to observe that nothing more happens
    expect(expired.length).toBe(1750)
  })

  test('churn (re-tracking the same item many times) keeps the heap bounded and fires once', async () => {
    let fired = 0
    const sweep = new ExpirySweep<string>(() => fired++)
    const now = Date.now()
    for (let i = 0; i < 100_000; i++) sweep.track('conn', now + 10_000 + i)
    sweep.track('conn', now + 10)
    await until(() => (fired > 0 ? true : undefined), 2000, 'the expiry')
    expect(fired).toBe(1)
    expect(sweep.size).toBe(0)
    sweep.stop()
  })
})
