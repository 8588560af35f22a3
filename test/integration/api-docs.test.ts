/**
 * The API documents: both validated by their ecosystem's own parsers, both
 * generated from the schemas the server validates with, and the checked-in
 * docs/asyncapi.json never stale.
 */
import { describe, expect, test } from 'bun:test'
import { Parser } from '@asyncapi/parser'
import { validate as validateOpenApi } from '@readme/openapi-parser'
import { Value } from '@sinclair/typebox/value'
import { asyncApiJson, frames } from '../../src/docs/asyncapi'
import { ErrorCode, CloseCode, errorCodeInfo } from '../../src/errors'
import { ClientFrame, ServerFrame } from '../../src/protocol/frames'
import { startServer } from '../helpers/server'

describe('OpenAPI', () => {
  test('/openapi/json is a valid OpenAPI 3.1 document of every REST route, with the API-key scheme', async () => {
    await using server = startServer()
    const res = await fetch(`${server.http}/openapi/json`)
    expect(res.status).toBe(200)
    const doc = (await res.json()) as any
    expect(doc.openapi).toStartWith('3.1')
    // The validator dereferences in place: give it a copy.
    const result = await validateOpenApi(structuredClone(doc))
    expect(result.valid ? [] : result.errors).toEqual([])
    expect(result.valid).toBe(true)

    expect(Object.keys(doc.paths).sort()).toEqual(['/asyncapi.json', '/health', '/metrics', '/ready', '/stats', '/topics', '/topics/{name}', '/topics/{name}/messages', '/topics/{name}/subscribers'])
    expect(doc.paths['/topics/{name}/messages'].post.responses['201']).toBeDefined()
    const presence = doc.paths['/topics/{name}/subscribers'].get
    expect(Object.keys(presence.responses['200'].content['application/json'].schema.properties).sort()).toEqual(['subscribers', 'topic', 'total'])
    expect(presence.responses['404']).toBeDefined()
    expect(doc.paths['/topics/{name}/messages'].get.parameters.map((p: any) => p.name).sort()).toEqual(['last', 'limit', 'name', 'since_seq'])
    expect(doc.components.securitySchemes.apiKey).toEqual(expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-Key' }))
    expect(doc.security).toEqual([{ apiKey: [] }])
    // /health never needs the key; the documents are public by default; the rest inherit the global requirement.
    expect(doc.paths['/health'].get.security).toEqual([])
    expect(doc.paths['/asyncapi.json'].get.security).toEqual([])
    expect(doc.paths['/stats'].get.security).toBeUndefined()
    expect(doc.paths['/metrics'].get.security).toBeUndefined()

    // Request and error bodies come from the same TypeBox schemas.
    const post = doc.paths['/topics'].post
    expect(post.requestBody.content['application/json'].schema.properties.name.pattern).toBe('^[A-Za-z0-9._:-]{1,200}$')
    for (const status of ['400', '401', '409']) expect(post.responses[status].content['application/json'].schema.properties.error.required).toEqual(['code', 'message'])
    expect(doc.paths['/topics/{name}'].delete.responses['404']).toBeDefined()
    expect(doc.paths['/health'].get.responses['200'].content['application/json'].schema.properties.uptime_sec.type).toBe('integer')
    expect(Object.keys(doc.paths['/metrics'].get.responses['200'].content)[0]).toStartWith('text/plain')
  })

  test('/openapi serves its page whole: inline style and script, reading openapi/json, nothing from another origin', async () => {
    await using server = startServer()
    const res = await fetch(`${server.http}/openapi`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toStartWith('text/html')
    const html = await res.text()
    expect(html).toContain('"specUrl":"openapi/json"')
    expect(html).not.toMatch(/<(?:script|link|img)[^>]+(?:src|href)="(?!data:)/)
    expect(html).not.toMatch(/https?:\/\//)
    // It renders in a browser with the network blocked: test/browser/api-docs.test.ts.
  })

  test('the documents are public by default and behind the key with DOCS_PUBLIC=false', async () => {
    await using open = startServer({ apiKey: 'k' })
    for (const path of ['/openapi', '/openapi/json', '/asyncapi.json']) expect((await fetch(`${open.http}${path}`)).status).toBe(200)
    const metrics = await fetch(`${open.http}/openapi/json`)
    expect(((await metrics.json()) as any).paths['/metrics'].get.security).toBeUndefined()

    await using closed = startServer({ apiKey: 'k', docsPublic: false, metricsPublic: true })
    for (const path of ['/openapi', '/openapi/json', '/asyncapi.json']) expect((await fetch(`${closed.http}${path}`)).status).toBe(401)
    const doc = (await (await fetch(`${closed.http}/openapi/json`, { headers: { 'x-api-key': 'k' } })).json()) as any
    expect(doc.paths['/metrics'].get.security).toEqual([])
    expect(doc.paths['/asyncapi.json'].get.security).toBeUndefined()
  })
})

describe('AsyncAPI', () => {
  test('/asyncapi.json passes @asyncapi/parser without a single diagnostic', async () => {
    await using server = startServer()
    const res = await fetch(`${server.http}/asyncapi.json`)
    expect(res.status).toBe(200)
    const text = await res.text()
    const { document, diagnostics } = await new Parser().parse(text)
    expect(diagnostics.map((d) => `${d.code} ${d.path.join('.')}: ${d.message}`)).toEqual([])
    expect(document).toBeDefined()
    expect(document!.version()).toStartWith('3.')

    const channel = document!.channels().get('ws')!
    expect(channel.address()).toBe('/ws')
    const messageNames = channel.messages().all().map((m) => m.id()).sort()
    expect(messageNames).toEqual(['ack', 'error', 'event', 'info', 'ping', 'pong', 'publish', 'refresh', 'subscribe', 'unsubscribe'])
    // The server receives the client frames and sends the server frames.
    const actions = Object.fromEntries(document!.operations().all().map((o) => [o.messages().all()[0]!.id(), o.action()]))
    expect(actions).toEqual({ subscribe: 'receive', unsubscribe: 'receive', publish: 'receive', ping: 'receive', refresh: 'receive', ack: 'send', event: 'send', error: 'send', pong: 'send', info: 'send' })
  })

  test('generated from the frame schemas: every client and server frame, error code and close code', () => {
    const doc = JSON.parse(asyncApiJson())
    // Every member of the ClientFrame and ServerFrame unions is a message, by its type literal.
    const types = [...ClientFrame.anyOf, ...ServerFrame.anyOf].map((s) => s.properties.type.const).sort()
    expect(Object.keys(doc.components.messages).sort()).toEqual(types)
    expect(doc.components.schemas.PublishFrame.properties.message.properties.id.pattern).toBe(
      (ClientFrame.anyOf[2] as any).properties.message.properties.id.pattern,
    )
    const wsCodes = Object.values(ErrorCode).filter((c) => errorCodeInfo[c].ws)
    expect(doc.components.schemas.ErrorFrame.properties.error.properties.code.enum).toEqual(wsCodes)
    expect(wsCodes).toContain('SLOW_CONSUMER')
    expect(Object.keys(doc.channels.ws['x-close-codes']).map(Number).sort()).toEqual(Object.values(CloseCode).sort())
    for (const code of Object.values(CloseCode)) expect(doc.info.description).toContain(`| ${code} |`)
  })

  test('every example in the document is valid against the schema the server validates with', () => {
    for (const [name, f] of Object.entries(frames)) {
      const errors = [...Value.Errors(f.schema, f.example)].map((e) => `${e.path}: ${e.message}`)
      expect({ name, errors }).toEqual({ name, errors: [] })
    }
  })

  test('docs/asyncapi.json is up to date (npm run docs:asyncapi)', async () => {
    const file = await Bun.file(new URL('../../docs/asyncapi.json', import.meta.url).pathname).text()
    expect(file).toBe(asyncApiJson())
  })
})
