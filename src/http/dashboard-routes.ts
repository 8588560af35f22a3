/**
 * The web dashboard at `/` (src/dashboard/): one HTML import, bundled by Bun.
 * Under `bun run` Bun bundles it on the first request and keeps it in memory;
 * `bun build --compile` bundles it ahead of time into the binary. Either way no
 * asset comes from anywhere but this server.
 *
 * These are Bun.serve static routes, not Elysia handlers: Elysia hands an HTML
 * import to Bun only when the app has no onRequest hook, and herald's access
 * control is one. So they bypass access control, which is what they need: the
 * page and its hashed assets hold no data, and the page must load to ask for
 * the API key. Every number it shows comes from the REST routes and /ws, with
 * the key.
 *
 * The routes must be served with `development: false` (app.ts): Bun's
 * development mode would rebuild the page with a hot-reload client and print
 * to stdout, between the JSON log lines.
 */
import type { HTMLBundle } from 'bun'
import type { Config } from '../config'
import page from '../dashboard/index.html'

export const DASHBOARD_PATH = '/'

/** The Bun.serve routes of the dashboard: `/` and, through the bundle, its assets. None when DASHBOARD=false. */
export function dashboardRoutes(config: Pick<Config, 'dashboard'>): Record<string, HTMLBundle> {
  return config.dashboard ? { [DASHBOARD_PATH]: page } : {}
}
