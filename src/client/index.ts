/**
 * herald/client: the typed SDK for herald's /ws (docs/client.md).
 *
 *   const client = new HeraldClient('http://127.0.0.1:8080')
 *   await client.connect()
 *   const sub = client.subscribe('orders', { lastN: 10 })
 *   sub.on('event', (e) => console.log(e.seq, e.message.payload))
 *   const { seq } = await client.publish('orders', { id: 1 })
 */
export { HeraldClient } from './client'
export { wsUrl } from './url'
export type { ClientEvents, ClientState, HeraldClientOptions, PublishResult, StateChange, WebSocketConstructor, WebSocketLike } from './options'
export { Subscription } from './subscription'
export type { PresenceInfo, SlowConsumerInfo, StreamPosition, SubscribedInfo, SubscribeOptions, SubscriptionEvents, SubscriptionState } from './subscription'
export { ClientErrorCode, HeraldError } from './errors'
export type { HeraldErrorCode } from './errors'
export { backoffDelay } from './backoff'
export type { BackoffOptions } from './backoff'
export { closeAction } from './close-policy'
export type { CloseAction } from './close-policy'
export type { Timers } from './timers'
export type { IncomingEvent as EventFrame } from './wire'
