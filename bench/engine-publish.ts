#!/usr/bin/env bun
/**
 * The cost of one publish in each embedded engine, without hub or sockets:
 * 200,000 publishes in batches of 200 per event-loop turn on one topic
 * (history 100), awaited per batch; CPU µs and wall µs per message, memory
 * and sqlite alternated twice. `bun run bench/engine-publish.ts`
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Engine, EngineHandler } from '../src/engine/engine'
import { MemoryEngine } from '../src/engine/memory-engine'
import { SqliteEngine } from '../src/engine/sqlite-engine'

const N = 200_000
const BATCH = 200
const handler: EngineHandler = { publication() {}, topicGone() {}, localCounts: () => ({ connections: 0, subscribers: new Map() }) }
const message = { id: '7b0a9c2e-4d1f-4a57-9b3e-2f6c8d1e0a11', payload: { data: 'x'.repeat(84) } }

for (const kind of ['memory', 'sqlite', 'memory', 'sqlite'] as const) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-engine-bench-'))
  const engine: Engine = kind === 'memory' ? new MemoryEngine({ historySize: 100 }) : new SqliteEngine({ path: join(dir, 'h.db'), historySize: 100 })
  engine.attach(handler)
  await engine.createTopic('t')
  const started = performance.now()
  const cpu0 = process.cpuUsage()
  for (let i = 0; i < N; i += BATCH) {
    const pending = []
    for (let k = 0; k < BATCH; k++) pending.push(engine.publish('t', message, new Date().toISOString()))
    await Promise.all(pending)
  }
  const cpu = process.cpuUsage(cpu0)
  console.log(`${kind.padEnd(6)} ${(((performance.now() - started) / N) * 1000).toFixed(2)} µs/msg wall, ${((cpu.user + cpu.system) / N).toFixed(2)} µs/msg CPU`)
  await engine.close()
  rmSync(dir, { recursive: true, force: true })
}
