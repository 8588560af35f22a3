/**
 * Builds the SDK the way `npm run build:client` does (one ESM file for
 * browsers, minified) into a temporary directory, for the tests that run it
 * outside Bun: Node (test/client/node.test.ts) and chromium
 * (test/browser/client-sdk.test.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT } from './spawn'

export interface ClientBundle {
  readonly dir: string
  readonly path: string
  readonly code: string
  [Symbol.dispose](): void
}

export async function buildClientBundle(): Promise<ClientBundle> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-client-'))
  const result = await Bun.build({ entrypoints: [join(ROOT, 'src', 'client', 'index.ts')], outdir: dir, target: 'browser', format: 'esm', minify: true, naming: 'herald-client.js' })
  if (!result.success) throw new Error(`bundle failed: ${result.logs.join('\n')}`)
  const path = join(dir, 'herald-client.js')
  return { dir, path, code: readFileSync(path, 'utf8'), [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) }
}
