/**
 * The API documents: OpenAPI 3.1 of the REST routes (UI at /openapi, JSON at
 * /openapi/json), built by @elysiajs/openapi from the routes' own TypeBox
 * schemas, and the AsyncAPI document of /ws at /asyncapi.json (src/docs/asyncapi.ts).
 * Whether they need the API key is DOCS_PUBLIC's call (access-control.ts).
 */
import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import pkg from '../../package.json'
import { asyncApiJson } from '../docs/asyncapi'

export const OPENAPI_PATH = '/openapi'
export const OPENAPI_JSON_PATH = '/openapi/json'
export const ASYNCAPI_PATH = '/asyncapi.json'
export const DOCS_PATHS = [OPENAPI_PATH, OPENAPI_JSON_PATH, ASYNCAPI_PATH] as const

/** `isPublic`: DOCS_PUBLIC, so that /asyncapi.json's own entry in the OpenAPI document says whether it needs the key. */
export function docsRoutes(isPublic: boolean) {
  // Built on first request, not at start-up.
  let asyncapi: string | undefined
  return new Elysia({ name: 'docs-routes' })
    .get(ASYNCAPI_PATH, () => new Response((asyncapi ??= asyncApiJson()), { headers: { 'content-type': 'application/json' } }), {
      detail: {
        summary: 'AsyncAPI 3 document of the /ws protocol',
        tags: ['docs'],
        ...(isPublic ? { security: [] } : {}),
        responses: { 200: { description: 'AsyncAPI 3.1 JSON (same as docs/asyncapi.json).', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    })
    .use(
      openapi({
        path: OPENAPI_PATH,
        specPath: OPENAPI_JSON_PATH,
        // /ws is a WebSocket, described by /asyncapi.json; OpenAPI has no method for it.
        exclude: { paths: ['/ws'], staticFile: false },
        documentation: {
          info: {
            title: 'herald REST API',
            version: pkg.version,
            description:
              // No double quotes here: the UI page puts this text into an HTML attribute unescaped.
              'Topics, status and metrics of a herald publish/subscribe server. The WebSocket protocol at /ws is described by the AsyncAPI document at /asyncapi.json. Every error has the ErrorBody shape: an error object with code and message.',
          },
          tags: [
            { name: 'topics', description: 'Create, delete and list topics.' },
            { name: 'status', description: 'Health, per-topic statistics and Prometheus metrics.' },
            { name: 'docs', description: 'Machine-readable API documents.' },
          ],
          components: {
            securitySchemes: {
              apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'Needed on every route but /health (and the public ones marked so) when the server runs with API_KEY.' },
            },
          },
          security: [{ apiKey: [] }],
        },
      }),
    )
}
