/** Resident memory of another process (a spawned server), from /proc: what the kernel charges it, garbage included. */
import { readFileSync } from 'node:fs'

export const MiB = 1024 * 1024

/** VmRSS of process `pid`, in bytes (Linux). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)
  if (!kb) throw new Error(`no VmRSS for process ${pid}`)
  return Number(kb[1]) * 1024
}

/**
 * The lowest RSS seen over `ms` (sampled every 100 ms): Bun returns freed
 * memory on its own timers, so a single reading right after a burst measures
 * garbage not yet collected rather than what the process holds.
 */
export async function settledRssOf(pid: number, ms = 3000): Promise<number> {
  let lowest = rssOf(pid)
  const deadline = performance.now() + ms
  while (performance.now() < deadline) {
    await Bun.sleep(100)
    lowest = Math.min(lowest, rssOf(pid))
  }
  return lowest
}
