/**
 * The core (hub + memory engine, joined by PubSub) on fake sinks, for unit
 * tests. `makeBroker` returns a synchronous view of PubSub: the memory engine
 * answers every call at once, and the view unwraps (and checks) that, so the
 * tests read results without awaiting. `makeBroker` registers each instance so
 * that `closeAllBrokers` (call it from afterEach) releases every connection
 * and the stall-poll timer: nothing outlives a test.
 */
import { MemoryEngine } from '../../src/engine/memory-engine'
import type { Connection } from '../../src/hub/connection'
import { Hub, type HubOptions } from '../../src/hub/hub'
import type { Sink } from '../../src/hub/sink'
import type { Message } from '../../src/protocol/frames'
import { PubSub, type SubscribeRequest } from '../../src/pubsub'
import { FakeSink } from './fake-sink'
import { sync } from './pubsub'

export type BrokerOptions = HubOptions & { maxTopics?: number; historyMaxBytes?: number; historyTotalMaxBytes?: number }

/** PubSub over the memory engine, with every answer unwrapped (the memory engine answers synchronously). */
export class TestBroker {
  readonly pubsub: PubSub
  constructor(options: BrokerOptions) {
    const engine = new MemoryEngine({ historySize: options.historySize, maxTopics: options.maxTopics, historyMaxBytes: options.historyMaxBytes, historyTotalMaxBytes: options.historyTotalMaxBytes })
    this.pubsub = new PubSub(new Hub(options), engine)
  }
  get hub(): Hub {
    return this.pubsub.hub
  }
  connect(sink: Sink): Connection {
    return this.pubsub.connect(sink)
  }
  disconnect(connection: Connection): void {
    this.pubsub.disconnect(connection)
  }
  drained(connection: Connection): void {
    this.pubsub.drained(connection)
  }
  createTopic(name: string): void {
    sync(this.pubsub.createTopic(name))
  }
  deleteTopic(name: string): void {
    sync(this.pubsub.deleteTopic(name))
  }
  listTopics() {
    return sync(this.pubsub.listTopics())
  }
  subscribe(connection: Connection, request: SubscribeRequest): void {
    sync(this.pubsub.subscribe(connection, request))
  }
  unsubscribe(connection: Connection, topic: string): void {
    sync(this.pubsub.unsubscribe(connection, topic))
  }
  publish(topic: string, message: Message) {
    return sync(this.pubsub.publish(topic, message))
  }
  reply(connection: Connection, text: string): void {
    this.pubsub.reply(connection, text)
  }
  /** The counts of /health that the core keeps (one instance). */
  health() {
    const h = sync(this.pubsub.health())
    return { topics: h.topics, subscribers: h.subscribers, connections: h.connections }
  }
  stats() {
    return sync(this.pubsub.stats())
  }
  backlog() {
    return this.pubsub.backlog()
  }
  idle(): boolean {
    return this.pubsub.idle()
  }
  beginShutdown(): void {
    this.pubsub.beginShutdown()
  }
  notifyAll(text: string): void {
    this.pubsub.notifyAll(text)
  }
  closeAll(code: number, reason: string): void {
    this.pubsub.closeAll(code, reason)
  }
}

const brokers: TestBroker[] = []

export function closeAllBrokers(): void {
  for (const b of brokers.splice(0)) b.closeAll(1001, 'test over')
}

export function makeBroker(options: Partial<BrokerOptions> = {}) {
  // A long stall poll: these tests report drain explicitly with broker.drained().
  const broker = new TestBroker({ queueSize: 100, historySize: 100, slowConsumerPolicy: 'drop_oldest', socketHighWaterBytes: 1 << 20, stallPollMs: 60_000, ...options })
  brokers.push(broker)
  const client = () => {
    const sink = new FakeSink()
    return { sink, session: broker.connect(sink) }
  }
  let n = 0
  const publish = (topic: string, payload: unknown = ++n) => broker.publish(topic, { id: crypto.randomUUID(), payload })
  return { broker, client, publish }
}
