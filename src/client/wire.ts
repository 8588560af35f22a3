/**
 * The frames the SDK sends and receives, typed from the TypeBox schemas of
 * src/protocol/frames.ts (type-only imports: nothing of TypeBox or the server
 * enters the bundle).
 *
 * `PendingError` is the one field the server does not send yet: a `dropped`
 * count on SLOW_CONSUMER (today the count is only in the message, which the
 * SDK parses). Optional, so the SDK works either way; when the schema gains
 * the field, the line goes.
 */
import type { Static } from '@sinclair/typebox'
import type { AckFrame, ErrorFrame, EventFrame, InfoFrame, PingFrame, PongFrame, PublishFrame, RefreshFrame, SubscribeFrame, UnsubscribeFrame } from '../protocol/frames'

type PendingError = { error: { code: string; message: string; dropped?: number } }

export type OutgoingFrame = SubscribeFrame | UnsubscribeFrame | PublishFrame | PingFrame | RefreshFrame

export type IncomingAck = Static<typeof AckFrame>
export type IncomingInfo = Static<typeof InfoFrame>
export type IncomingError = Omit<Static<typeof ErrorFrame>, 'error'> & PendingError
export type IncomingEvent = Static<typeof EventFrame>
export type IncomingFrame = IncomingAck | IncomingEvent | IncomingError | Static<typeof PongFrame> | IncomingInfo
