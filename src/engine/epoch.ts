/**
 * A new epoch: 12 random hex characters. Random, not a counter or a clock, so
 * that two incarnations of a topic never share one, whatever restarted or
 * which instance created it (centrifuge uses a random string for the same reason).
 */
export function newEpoch(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6))
  let out = ''
  for (const b of bytes) out += b.toString(16).padStart(2, '0')
  return out
}
