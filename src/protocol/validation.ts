/**
 * Turns a TypeBox validation failure into one short sentence a client can act
 * on. A schema's own `error` option wins (e.g. "message.id must be a valid
 * UUID"); otherwise the path and TypeBox's message. Used by REST and /ws alike.
 */
import type { ValueError } from '@sinclair/typebox/errors'

export function describeValueError(error: ValueError | undefined, what = 'frame'): string {
  if (!error) return `invalid ${what}`
  const custom = (error.schema as { error?: unknown }).error
  if (typeof custom === 'string') return custom
  const path = error.path.replace(/^\//, '').replaceAll('/', '.')
  return path ? `${path}: ${error.message}` : `${what}: ${error.message}`
}
