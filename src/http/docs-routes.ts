/**
 * The API documents: OpenAPI 3.1 of the REST routes (JSON at /openapi/json),
 * built by @elysiajs/openapi from the routes' own TypeBox schemas, a page that
 * reads it at /openapi, and the AsyncAPI document of /ws at /asyncapi.json
 * (src/docs/asyncapi.ts). Whether they need the API key is DOCS_PUBLIC's call
 * (access-control.ts).
 *
 * The /openapi page is herald's own (src/dashboard/api-docs.ts), whole in one
 * response: the plugin's UI loaded its script from a CDN at @latest, and stayed
 * blank on a machine without internet access. No request leaves the server.
 */
import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import pkg from '../../package.json'
import { API_DOCS_CSS, renderApiDocs } from '../dashboard/api-docs'
import { asyncApiJson } from '../docs/asyncapi'

export const OPENAPI_PATH = '/openapi'
export const OPENAPI_JSON_PATH = '/openapi/json'
export const ASYNCAPI_PATH = '/asyncapi.json'
export const DOCS_PATHS = [OPENAPI_PATH, OPENAPI_JSON_PATH, ASYNCAPI_PATH] as const

const TITLE = 'herald REST API'

/** Keeps text from closing the element it is inlined into (`</script>`, `</style>`). */
const inlined = (text: string) => text.replace(/<\/(script|style)/gi, '<\\/$1')

/** The /openapi page: CSS and script inline, the document read from `openapi/json` (relative: works behind a path prefix). */
export function apiDocsPage(options: { dashboard: boolean }): string {
  const args = JSON.stringify({ specUrl: OPENAPI_JSON_PATH.slice(1), dashboardHref: options.dashboard ? '/' : null })
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${TITLE}</title>
<link rel="icon" href="data:,">
<style>${inlined(API_DOCS_CSS)}</style>
</head>
<body>
<main id="docs"><p>Loading the API document…</p></main>
<script type="module">(${inlined(renderApiDocs.toString())})(${inlined(args)})</script>
</body>
</html>
`
}

/**
 * `isPublic`: DOCS_PUBLIC, so that /asyncapi.json's own entry in the OpenAPI document says whether it needs the key.
 * `dashboard`: DASHBOARD, for the page's link to it.
 */
export function docsRoutes(isPublic: boolean, dashboard = true) {
  // Built on first request, not at start-up.
  let asyncapi: string | undefined
  let page: string | undefined
  return new Elysia({ name: 'docs-routes' })
    .get(OPENAPI_PATH, () => new Response((page ??= apiDocsPage({ dashboard })), { headers: { 'content-type': 'text/html; charset=utf-8' } }), {
      detail: { hide: true },
    })
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
        // No UI from the plugin: its page loads Scalar from a CDN. The page above replaces it.
        provider: null,
        // /ws is a WebSocket, described by /asyncapi.json; OpenAPI has no method for it.
        exclude: { paths: ['/ws'], staticFile: false },
        documentation: {
          info: {
            title: TITLE,
            version: pkg.version,
            description:
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
