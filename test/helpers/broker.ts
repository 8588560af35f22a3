/**
 * A MemoryBroker on fake sinks for core tests. `makeBroker` registers each
 * broker so that `closeAllBrokers` (call it from afterEach) releases every
 * connection and the stall-poll timer: nothing outlives a test.
 */
import { MemoryBroker, type MemoryBrokerOptions } from '../../src/broker/memory-broker'
import { FakeSink } from './fake-sink'

const brokers: MemoryBroker[] = []

export function closeAllBrokers(): void {
  for (const b of brokers.splice(0)) b.closeAll(1001, 'test over')
}

export function makeBroker(options: Partial<MemoryBrokerOptions> = {}) {
  // A long stall poll: these tests report drain explicitly with broker.drained().
  const broker = new MemoryBroker({ queueSize: 100, historySize: 100, slowConsumerPolicy: 'drop_oldest', socketHighWaterBytes: 1 << 20, stallPollMs: 60_000, ...options })
  brokers.push(broker)
  const client = () => {
    const sink = new FakeSink()
    return { sink, session: broker.connect(sink) }
  }
  let n = 0
  const publish = (topic: string, payload: unknown = ++n) => broker.publish(topic, { id: crypto.randomUUID(), payload })
  return { broker, client, publish }
}
