/**
 * The frames the SDK sends and receives, typed from the TypeBox schemas of
 * src/protocol/frames.ts (type-only imports: nothing of TypeBox or the server
 * enters the bundle).
 *
 * `Pending*` are the fields other issues add to those schemas and that today's
 * server does not send or read yet: recovery (issue 10: `since_seq`, `epoch`,
 * `recovered`, `missed`), presence (issue 13), a `dropped` field on SLOW_CONSUMER. Each is optional, so
 * the SDK behaves against today's server; when a schema gains the field, its
 * line here is deleted and the type still compiles.
 */
import type { Static } from '@sinclair/typebox'
import type { AckFrame, ErrorFrame, EventFrame, InfoFrame, PingFrame, PongFrame, PublishFrame, RefreshFrame, SubscribeFrame, UnsubscribeFrame } from '../protocol/frames'

type PendingSubscribe = { since_seq?: number; epoch?: string; presence?: boolean }
type PendingAck = { recovered?: boolean; missed?: number | null }
type PendingInfo = { msg: string; client_id?: string; reason?: string }
type PendingError = { error: { code: string; message: string; dropped?: number } }

export type OutgoingFrame = (SubscribeFrame & PendingSubscribe) | UnsubscribeFrame | PublishFrame | PingFrame | RefreshFrame

export type IncomingAck = Static<typeof AckFrame> & PendingAck
export type IncomingInfo = Omit<Static<typeof InfoFrame>, 'msg'> & PendingInfo
export type IncomingError = Omit<Static<typeof ErrorFrame>, 'error'> & PendingError
export type IncomingEvent = Static<typeof EventFrame>
export type IncomingFrame = IncomingAck | IncomingEvent | IncomingError | Static<typeof PongFrame> | IncomingInfo
