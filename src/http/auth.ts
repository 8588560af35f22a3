/**
 * API-key check for REST and the WebSocket upgrade. Keys are compared in
 * constant time (both sides hashed first, so lengths leak nothing either), and
 * a refusal never says which part was wrong.
 */
import { createHash, timingSafeEqual } from 'node:crypto'

const digest = (s: string) => createHash('sha256').update(s).digest()

export function keyMatcher(expected: string): (given: string | null | undefined) => boolean {
  const want = digest(expected)
  return (given) => typeof given === 'string' && timingSafeEqual(digest(given), want)
}

/** Routes reachable without a key: liveness probes must work for orchestrators that hold no secret. */
export const PUBLIC_PATHS = new Set(['/health', '/ready'])
