/**
 * The REST error body `{"error":{"code","message"}}` and the one onError hook
 * that maps every failure to it: HeraldError by its code, Elysia's validation
 * and parse errors to 400, unknown routes to 404, anything else to 500 with
 * the details logged and never sent.
 */
import { Elysia, ValidationError } from 'elysia'
import { ErrorCode, HeraldError, httpStatusOf } from '../errors'
import type { Logger } from '../log'
import { errorFields } from '../log'
import { describeValueError } from '../protocol/validation'
import { Type } from '@sinclair/typebox'

export const ErrorBody = Type.Object(
  { error: Type.Object({ code: Type.String({ description: 'One of the wire error codes.' }), message: Type.String() }) },
  { description: 'Every REST error has this body.' },
)

export function errorResponse(code: ErrorCode, message: string): Response {
  return Response.json({ error: { code, message } }, { status: httpStatusOf(code) })
}

export function restErrors(log: Logger) {
  return new Elysia({ name: 'rest-errors' }).onError({ as: 'global' }, ({ code, error, request }) => {
    if (error instanceof HeraldError) return errorResponse(error.code, error.message)
    if (error instanceof ValidationError) {
      // A body not sent as JSON (most often: curl -d without Content-Type: application/json) would otherwise
      // be reported by its first missing field, which misleads.
      if (error.type === 'body' && !(request.headers.get('content-type') ?? '').includes('json'))
        return errorResponse(ErrorCode.BAD_REQUEST, 'body must be a JSON object, sent with Content-Type: application/json')
      return errorResponse(ErrorCode.BAD_REQUEST, describeValueError(error.valueError, error.type === 'params' ? 'path' : 'body'))
    }
    switch (code) {
      case 'PARSE':
        return errorResponse(ErrorCode.BAD_REQUEST, 'body must be valid JSON')
      case 'NOT_FOUND':
        return errorResponse(ErrorCode.NOT_FOUND, 'no such route')
      case 'INVALID_COOKIE_SIGNATURE':
      case 'INVALID_FILE_TYPE':
        return errorResponse(ErrorCode.BAD_REQUEST, 'bad request')
    }
    log.error('rest_internal_error', { method: request.method, path: new URL(request.url).pathname, ...errorFields(error) })
    return errorResponse(ErrorCode.INTERNAL, 'internal error')
  })
}
