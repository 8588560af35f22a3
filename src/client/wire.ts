/**
 * The frames the SDK sends and receives, typed from the TypeBox schemas of
 * src/protocol/frames.ts (type-only imports: nothing of TypeBox or the server
 * enters the bundle). One source: a field the server gains is typed here at once.
 */
import type { Static } from '@sinclair/typebox'
import type { AckFrame, ErrorFrame, EventFrame, InfoFrame, PingFrame, PongFrame, PublishFrame, RefreshFrame, SubscribeFrame, UnsubscribeFrame } from '../protocol/frames'

export type OutgoingFrame = SubscribeFrame | UnsubscribeFrame | PublishFrame | PingFrame | RefreshFrame

export type IncomingAck = Static<typeof AckFrame>
export type IncomingInfo = Static<typeof InfoFrame>
export type IncomingError = Static<typeof ErrorFrame>
export type IncomingEvent = Static<typeof EventFrame>
export type IncomingFrame = IncomingAck | IncomingEvent | IncomingError | Static<typeof PongFrame> | IncomingInfo
