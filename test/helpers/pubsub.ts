/**
 * The core without sockets: a hub joined to a memory engine, for unit tests
 * with fake sinks (test/helpers/fake-sink.ts), and a dispatcher per
 * connection as the WebSocket layer builds it.
 */
import { MemoryEngine } from '../../src/engine/memory-engine'
import type { Connection } from '../../src/hub/connection'
import { Hub, type HubOptions } from '../../src/hub/hub'
import { type ClientContext, type InternalErrorLogger, clientContext, dispatchFrame } from '../../src/protocol/dispatch'
import { PubSub } from '../../src/pubsub'
import { type Sync, isPromise } from '../../src/util/sync'

export type MemoryPubSubOptions = Partial<HubOptions> & { maxTopics?: number; engine?: MemoryEngine }

export function memoryPubSub(options: MemoryPubSubOptions = {}): PubSub {
  const hubOptions: HubOptions = { queueSize: 10, historySize: 10, slowConsumerPolicy: 'drop_oldest', socketHighWaterBytes: 1 << 20, ...options }
  const engine = options.engine ?? new MemoryEngine({ historySize: hubOptions.historySize, maxTopics: options.maxTopics })
  return new PubSub(new Hub(hubOptions), engine)
}

/** The value of a memory-engine call, which answers synchronously: a promise here is a bug. */
export function sync<T>(value: Sync<T>): T {
  if (isPromise(value)) throw new Error('expected a synchronous answer from the memory engine')
  return value
}

const contexts = new WeakMap<Connection, ClientContext>()

/** Dispatches `frame` on `connection` as the /ws route does (one context per connection, kept across frames). */
export function dispatch(pubsub: PubSub, connection: Connection, frame: unknown, logInternal: InternalErrorLogger = () => {}): 'ok' | 'abusive' {
  let c = contexts.get(connection)
  if (!c) contexts.set(connection, (c = clientContext({ pubsub, connection, logInternal, maxInFlight: 1000 })))
  return dispatchFrame(c, frame)
}
