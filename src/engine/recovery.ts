/**
 * The recovery decision of a subscribe with `since_seq` + `epoch` (issue 10):
 * either every message after `since_seq` is still held and is replayed
 * (`recovered: true`: no gap, no duplicate), or nothing is replayed
 * (`recovered: false`: never a partial recovery) and the client is told how
 * many messages it cannot get back, when the server can know it. The same
 * rules for every engine: this function only reads an engine's history.
 */
import { ErrorCode, HeraldError } from '../errors'
import type { History, Publication } from './engine'

export interface RecoveryRequest {
  /** The seq of the last event the client has; 0 = "everything you still have" of this epoch. */
  sinceSeq: number
  /** The epoch that seq counts in. */
  epoch: string
}

export type Recovery =
  /** Replay exactly these, oldest first: seqs sinceSeq + 1 … position.seq. */
  | { recovered: true; publications: readonly Publication[] }
  /**
   * Replay nothing. `missed`: messages after sinceSeq that are no longer held
   * (trimmed by HISTORY_SIZE or the byte limits, expired by HISTORY_TTL_MS) —
   * the client lost those for good; the others can still be read with the
   * history API. null when the epoch changed: the server cannot know.
   */
  | { recovered: false; missed: number | null }

/**
 * `history` must be the topic's history read with `{ sinceSeq, limit }`,
 * `limit` at least the messages the engine can hold (HISTORY_SIZE), taken at
 * the moment the subscription starts. Throws BAD_REQUEST when `sinceSeq` is
 * ahead of the topic in the same epoch (the client is confused).
 */
export function decideRecovery(request: RecoveryRequest, history: History): Recovery {
  const { position, publications } = history
  if (request.epoch !== position.epoch) return { recovered: false, missed: null }
  if (request.sinceSeq > position.seq)
    throw new HeraldError(ErrorCode.BAD_REQUEST, `since_seq ${request.sinceSeq} is ahead of the topic's latest seq ${position.seq} in epoch ${position.epoch}`)
  const wanted = position.seq - request.sinceSeq
  const held = publications.filter((p) => p.seq > request.sinceSeq && p.seq <= position.seq)
  if (held.length === wanted && (wanted === 0 || held[0]!.seq === request.sinceSeq + 1)) return { recovered: true, publications: held }
  return { recovered: false, missed: wanted - held.length }
}
