/**
 * Booleans packed in one integer field (idle memory per connection: each
 * field of a per-connection object costs 8 bytes, and an object past 6, 8,
 * 12 or 18 fields moves to a larger size class).
 */

/** `flags` with `bit` set when `on`, cleared otherwise. */
export function withBit(flags: number, bit: number, on: boolean): number {
  return on ? flags | bit : flags & ~bit
}
