/**
 * The /openapi page: a self-contained reader of the server's own OpenAPI document, in place of a
 * UI loaded from a CDN (which left the page blank on any machine without internet access).
 *
 * `renderApiDocs` is sent to the browser as its source text (docs-routes.ts inlines it into the
 * page with `fn.toString()`), so it must stay self-contained: no import, no reference to anything
 * outside its own body. test/browser/api-docs.test.ts renders it with every outside request
 * blocked; test/compile.test.ts checks that the binary serves it as valid JavaScript.
 */

export interface ApiDocsOptions {
  /** Where the OpenAPI JSON is, relative to the page (the page at /openapi reads openapi/json). */
  specUrl: string
  /** Link back to the dashboard, when it is served. */
  dashboardHref: string | null
}

export function renderApiDocs(options: ApiDocsOptions): void {
  type Json = any
  const root = document.getElementById('docs')!
  const el = (tag: string, attrs: Record<string, string> = {}, ...children: (Node | string | null | undefined)[]) => {
    const e = document.createElement(tag)
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v)
    for (const c of children) if (c !== null && c !== undefined) e.append(c)
    return e
  }
  const schemaText = (schema: Json) => JSON.stringify(schema, null, 2)
  /** "ErrorBody" for a $ref, else the type (with its format or pattern). */
  const schemaSummary = (schema: Json): string => {
    if (!schema) return ''
    if (schema.$ref) return String(schema.$ref).split('/').pop()!
    if (schema.anyOf) return schema.anyOf.map(schemaSummary).join(' | ')
    if (schema.type === 'array') return `${schemaSummary(schema.items)}[]`
    if (schema.const !== undefined) return JSON.stringify(schema.const)
    if (schema.type === 'object' && schema.properties) {
      const keys = Object.keys(schema.properties)
      return `{ ${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', …' : ''} }`
    }
    if (schema.type === 'object' && schema.patternProperties) return '{ [name]: … }'
    return [schema.type ?? 'any', schema.pattern ? `matching ${schema.pattern}` : schema.format ?? ''].filter(Boolean).join(' ')
  }
  const schemaBlock = (label: string, schema: Json) =>
    schema ? el('details', { class: 'schema' }, el('summary', {}, `${label}: `, el('code', {}, schemaSummary(schema))), el('pre', {}, schemaText(schema))) : null

  function operation(doc: Json, path: string, method: string, op: Json): HTMLElement {
    const isPublic = Array.isArray(op.security) && op.security.length === 0
    const needsKey = !isPublic && (op.security ?? doc.security ?? []).length > 0
    const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-')
    const section = el(
      'section',
      { class: 'op', id, 'aria-labelledby': `${id}-h` },
      el(
        'h3',
        { id: `${id}-h` },
        el('span', { class: `method ${method}` }, method.toUpperCase()),
        ' ',
        el('code', { class: 'path' }, path),
      ),
      el('p', { class: 'summary' }, op.summary ?? '', ' ', el('span', { class: needsKey ? 'auth key' : 'auth open' }, needsKey ? 'X-API-Key' : 'no key needed')),
    )
    if (op.description) section.append(el('p', { class: 'desc' }, op.description))
    const params: Json[] = op.parameters ?? []
    if (params.length > 0)
      section.append(
        el(
          'table',
          { class: 'params' },
          el('thead', {}, el('tr', {}, el('th', {}, 'parameter'), el('th', {}, 'in'), el('th', {}, 'schema'))),
          el('tbody', {}, ...params.map((p) => el('tr', {}, el('td', {}, el('code', {}, p.name), p.required ? ' (required)' : ''), el('td', {}, p.in), el('td', {}, el('code', {}, schemaSummary(p.schema)))))),
        ),
      )
    const body = op.requestBody?.content
    if (body) for (const [type, c] of Object.entries<Json>(body)) section.append(schemaBlock(`body (${type})`, c.schema)!)
    const responses = el('ul', { class: 'responses' })
    for (const [status, r] of Object.entries<Json>(op.responses ?? {})) {
      const content = Object.entries<Json>(r.content ?? {})[0]
      responses.append(
        el(
          'li',
          {},
          el('span', { class: `status s${String(status)[0]}` }, status),
          ' ',
          r.description ?? '',
          content ? el('span', { class: 'muted' }, ` ${content[0]}`) : null,
          content ? schemaBlock('schema', content[1].schema) : null,
        ),
      )
    }
    section.append(responses)
    return section
  }

  function render(doc: Json) {
    const byTag = new Map<string, HTMLElement[]>()
    let count = 0
    for (const [path, item] of Object.entries<Json>(doc.paths ?? {}))
      for (const [method, op] of Object.entries<Json>(item)) {
        if (!['get', 'put', 'post', 'delete', 'patch', 'head', 'options'].includes(method)) continue
        const tag = op.tags?.[0] ?? 'other'
        if (!byTag.has(tag)) byTag.set(tag, [])
        byTag.get(tag)!.push(operation(doc, path, method, op))
        count++
      }
    const tagInfo = new Map<string, string>((doc.tags ?? []).map((t: Json) => [t.name, t.description ?? '']))
    const nav = el('nav', { class: 'toc', 'aria-label': 'Routes' })
    const sections: HTMLElement[] = []
    for (const [tag, ops] of byTag) {
      nav.append(el('h2', {}, tag), ...ops.map((o) => el('a', { href: `#${o.id}` }, o.querySelector('h3')!.textContent!)))
      sections.push(el('section', { class: 'tag', 'aria-label': tag }, el('h2', {}, tag), el('p', { class: 'muted' }, tagInfo.get(tag) ?? ''), ...ops))
    }
    const schemas = Object.entries<Json>(doc.components?.schemas ?? {})
    if (schemas.length > 0) sections.push(el('section', { class: 'tag', 'aria-label': 'schemas' }, el('h2', {}, 'schemas'), ...schemas.map(([name, s]) => schemaBlock(name, s)!)))
    const links = el('p', { class: 'links' }, el('a', { href: options.specUrl }, 'OpenAPI JSON'), ' · ', el('a', { href: '/asyncapi.json' }, 'AsyncAPI (/ws)'))
    if (options.dashboardHref) links.append(' · ', el('a', { href: options.dashboardHref }, 'dashboard'))
    root.replaceChildren(
      el(
        'header',
        { class: 'head' },
        el('h1', {}, doc.info?.title ?? 'API', ' ', el('span', { class: 'version' }, doc.info?.version ?? '')),
        el('p', {}, doc.info?.description ?? ''),
        el('p', { class: 'muted' }, `OpenAPI ${doc.openapi} · ${count} routes`),
        links,
      ),
      el('div', { class: 'layout' }, nav, el('div', { class: 'ops' }, ...sections)),
    )
    document.title = doc.info?.title ?? document.title
  }

  fetch(options.specUrl, { headers: { accept: 'application/json' } })
    .then((res) => (res.ok ? res.json() : Promise.reject(new Error(`${options.specUrl} answered ${res.status}`))))
    .then(render)
    .catch((error: Error) => root.replaceChildren(el('p', { class: 'error', role: 'alert' }, `Could not load the API document: ${error.message}`)))
}

/** The page's CSS, inlined into it (system fonts; light and dark by prefers-color-scheme). */
export const API_DOCS_CSS = `
:root { --bg:#f5f6f8; --surface:#fff; --surface-2:#f0f2f5; --border:#e1e4ea; --text:#1b1f27; --muted:#667085; --accent:#4f46e5;
  --get:#0e7490; --post:#047857; --delete:#b42318; --other:#6941c6; --ok:#079455; --warn:#b54708; --danger:#d92d20;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace; color-scheme: light dark; }
@media (prefers-color-scheme: dark) { :root { --bg:#0f1218; --surface:#171b23; --surface-2:#1f2430; --border:#2a3140; --text:#e6e9ef; --muted:#98a2b3;
  --accent:#8b87ff; --get:#22d3ee; --post:#34d399; --delete:#f97066; --other:#b692f6; --ok:#47cd89; --warn:#fdb022; --danger:#f97066; } }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--text); font:14px/1.55 system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', 'Liberation Sans', Arial, sans-serif; }
#docs { max-width:1200px; margin:0 auto; padding:28px 24px 60px; }
a { color:var(--accent); text-decoration:none; } a:hover { text-decoration:underline; }
code, pre { font-family:var(--mono); font-size:12.5px; }
.muted { color:var(--muted); }
.head h1 { margin:0 0 6px; font-size:24px; } .version { font-size:13px; color:var(--muted); font-weight:500; border:1px solid var(--border); border-radius:999px; padding:1px 8px; vertical-align:middle; }
.head p { margin:4px 0; max-width:80ch; }
.layout { display:grid; grid-template-columns:220px minmax(0,1fr); gap:28px; margin-top:24px; align-items:start; }
.toc { position:sticky; top:16px; display:flex; flex-direction:column; gap:2px; font-size:13px; }
.toc h2 { font-size:11px; text-transform:uppercase; letter-spacing:.05em; color:var(--muted); margin:12px 0 4px; }
.toc a { font-family:var(--mono); font-size:12px; color:var(--text); padding:2px 0; }
.tag > h2 { text-transform:capitalize; margin:0 0 2px; font-size:18px; } .tag { margin-bottom:28px; }
.op { background:var(--surface); border:1px solid var(--border); border-radius:10px; padding:14px 18px; margin-top:12px; }
.op h3 { margin:0; font-size:15px; display:flex; align-items:center; gap:10px; flex-wrap:wrap; }
.method { font-family:var(--mono); font-size:11.5px; font-weight:700; padding:2px 8px; border-radius:5px; color:#fff; background:var(--other); }
.method.get { background:var(--get); } .method.post { background:var(--post); } .method.delete { background:var(--delete); }
@media (prefers-color-scheme: dark) { .method { color:#0f1218; } }
.path { font-size:14px; font-weight:600; }
.summary { margin:6px 0; } .desc { color:var(--muted); }
.auth { font-size:11px; border-radius:999px; padding:1px 8px; margin-left:6px; border:1px solid var(--border); white-space:nowrap; }
.auth.key { color:var(--warn); } .auth.open { color:var(--ok); }
.params { border-collapse:collapse; margin:6px 0; font-size:13px; } .params th, .params td { text-align:left; padding:4px 14px 4px 0; border-bottom:1px solid var(--border); }
.params th { color:var(--muted); font-weight:500; font-size:12px; }
.responses { list-style:none; margin:8px 0 0; padding:0; display:grid; gap:4px; }
.status { font-family:var(--mono); font-weight:700; font-size:12px; } .s2 { color:var(--ok); } .s4 { color:var(--warn); } .s5 { color:var(--danger); }
details.schema { margin:4px 0; } details.schema summary { cursor:pointer; color:var(--muted); font-size:13px; }
details.schema pre { background:var(--surface-2); border-radius:6px; padding:8px 10px; overflow-x:auto; max-height:360px; margin:6px 0; }
.error { color:var(--danger); }
@media (max-width:720px) { #docs { padding:18px 14px 40px; } .layout { grid-template-columns:minmax(0,1fr); } .toc { position:static; } }
`
