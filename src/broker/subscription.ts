import { Ring } from './ring'
import type { ClientConnection, OutboundFrame } from './connection'
import type { Topic } from './topic'

/**
 * One connection's subscription to one topic (key: connection + topic), with
 * its bounded drop-oldest queue of frames not yet written to the socket. The
 * connection owns the queue's byte accounting (`ClientConnection.offer`).
 */
export class Subscription {
  readonly queue: Ring<OutboundFrame>
  /** Messages dropped in the current overflow episode, not yet reported to the client. */
  lost = 0

  constructor(
    readonly connection: ClientConnection,
    readonly topic: Topic,
    /** The client's label for this subscription; a re-subscribe may change it. */
    public clientId: string,
    queueSize: number,
  ) {
    this.queue = new Ring(queueSize)
  }
}
