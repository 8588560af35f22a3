/** Writes docs/asyncapi.json from the frame schemas: `npm run docs:asyncapi`. A test fails when the file is stale. */
import { asyncApiJson } from '../src/docs/asyncapi'

const path = new URL('../docs/asyncapi.json', import.meta.url).pathname
await Bun.write(path, asyncApiJson())
console.log(`wrote ${path}`)
