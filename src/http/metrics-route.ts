/** REST: GET /metrics, the Prometheus text exposition of this instance's registry (see docs/operations.md). */
import { Elysia } from 'elysia'
import type { Registry } from 'prom-client'

export function metricsRoute(registry: Registry, isPublic: boolean) {
  return new Elysia({ name: 'metrics-route' }).get(
    '/metrics',
    async () => new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } }),
    {
      detail: {
        summary: isPublic ? 'Prometheus metrics (public: METRICS_PUBLIC=true)' : 'Prometheus metrics (needs the API key unless METRICS_PUBLIC=true)',
        tags: ['status'],
        ...(isPublic ? { security: [] } : {}),
        responses: {
          200: { description: 'Prometheus text format 0.0.4.', content: { [registry.contentType]: { schema: { type: 'string' } } } },
        },
      },
    },
  )
}
