/**
 * Dead-peer detection. Bun's idle timeout cannot do it here: every frame the
 * server SENDS resets it, and the heartbeat's info frames go out more often
 * than the timeout, so a peer that never answers would stay open forever.
 *
 * Time is counted in heartbeats ("beats"), not read from a clock: hearing from
 * a peer (open, message, ping, pong) is one integer write on the hot path.
 * Each `sweep` (one per heartbeat) advances the beat, terminates the peers not
 * heard from for more than `silentBeats` beats, and pings the rest. A peer is
 * therefore closed after more than `silentBeats` and at most `silentBeats + 1`
 * intervals of silence.
 */
import type { ServerWebSocket } from 'bun'
import { SlotList } from '../util/slot-list'

export interface LivePeer {
  /** The beat at which the peer was last heard from. */
  heardAt: number
  /** Its index in the watched peers (SlotList); -1 when not watched. */
  livenessSlot: number
  readonly socket: ServerWebSocket<unknown>
}

export class PeerLiveness {
  private readonly peers = new SlotList<'livenessSlot', LivePeer>('livenessSlot')
  /** Incremented by every sweep. */
  private beat = 0

  /** `silentBeats`: heartbeats of silence after which a peer is dropped (at least 1). */
  constructor(private readonly silentBeats = 2) {}

  /** Beats covering `maxSilentMs` at one beat per `intervalMs`. */
  static beatsFor(maxSilentMs: number, intervalMs: number): number {
    return Math.max(1, Math.ceil(maxSilentMs / intervalMs))
  }

  add(peer: LivePeer): void {
    peer.heardAt = this.beat
    this.peers.add(peer)
  }

  heard(peer: LivePeer): void {
    peer.heardAt = this.beat
  }

  remove(peer: LivePeer): void {
    this.peers.delete(peer)
  }

  /** Terminates peers silent too long (their close handler releases them); pings the rest. */
  sweep(): void {
    this.beat++
    // Backwards: a removal moves the last peer, already visited, into the hole.
    const peers = this.peers.members()
    for (let i = peers.length - 1; i >= 0; i--) {
      const peer = peers[i]!
      if (this.beat - peer.heardAt > this.silentBeats) {
        this.peers.delete(peer)
        peer.socket.terminate()
      } else peer.socket.ping()
    }
  }
}
