/**
 * The dashboard's entry: asks for the API key when the server wants one, then routes
 * `#/` (overview) and `#/topic/NAME` (a topic's page). Everything it shows comes from the
 * server's public REST routes and /ws (api.ts, live.ts).
 */
import { ApiError, apiKey } from './api'
import { h } from './dom'
import { Monitor } from './monitor'
import { overviewView } from './overview'
import { topicView } from './topic-page'

const view = document.getElementById('view')!
const serverState = document.getElementById('server-state')!
const forgetKey = document.getElementById('forget-key') as HTMLButtonElement
const monitor = new Monitor()
let current: { element: HTMLElement; dispose(): void } | undefined
/** The key form's message line while the form is shown. */
let keyMessage: HTMLElement | undefined

/** The topic named by `#/topic/NAME`, or undefined (overview) for any other or undecodable hash. */
function topicOfHash(hash: string): string | undefined {
  const match = /^#\/topic\/(.+)$/.exec(hash)
  try {
    return match ? decodeURIComponent(match[1]!) : undefined
  } catch {
    return undefined
  }
}

function route() {
  current?.dispose()
  const topic = topicOfHash(location.hash)
  current = topic === undefined ? overviewView(monitor) : topicView(monitor, topic)
  document.title = topic === undefined ? 'herald' : `${topic} · herald`
  view.replaceChildren(current.element)
}

/** The key form: shown when the server answers 401. A refused key gets a clear message and is not kept. */
function askForKey(refused: boolean) {
  const text = refused ? 'The server refused this API key. Check it and try again.' : ''
  if (keyMessage) {
    // Already shown (the monitor keeps polling): only a refusal changes it, the typed text stays.
    if (refused) keyMessage.textContent = text
    return
  }
  current?.dispose()
  current = undefined
  const input = h('input', { type: 'password', id: 'api-key', autocomplete: 'current-password', required: true })
  const message = h('p', { class: 'form-message error', role: 'alert' }, text)
  keyMessage = message
  const form = h(
    'form',
    { class: 'card key-form', 'aria-labelledby': 'key-heading' },
    h('h1', { id: 'key-heading' }, 'This server needs an API key'),
    h('p', { class: 'muted' }, 'It is kept in this tab only (sessionStorage) and sent in the X-API-Key header, and in the /ws address, where browsers allow no header.'),
    h('label', { for: 'api-key' }, 'API key'),
    h('div', { class: 'form-row' }, input, h('button', { type: 'submit', class: 'primary' }, 'Continue')),
    message,
  )
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    apiKey.set(input.value)
    message.textContent = ''
    await monitor.poll()
  })
  view.replaceChildren(h('div', { class: 'page narrow-page' }, form))
  input.focus()
}

monitor.subscribe((u) => {
  forgetKey.hidden = apiKey.get() === null
  if (!u.ok && u.error.status === 401) {
    const refused = apiKey.get() !== null
    apiKey.clear()
    forgetKey.hidden = true
    serverState.textContent = 'needs an API key'
    serverState.dataset.state = 'warn'
    return askForKey(refused)
  }
  if (!u.ok) {
    serverState.textContent = u.error instanceof ApiError && u.error.status === 0 ? 'server unreachable' : `error: ${u.error.message}`
    serverState.dataset.state = 'error'
    return
  }
  serverState.textContent = 'connected'
  serverState.dataset.state = 'ok'
  if (keyMessage || !current) {
    keyMessage = undefined
    route()
  }
})

forgetKey.addEventListener('click', () => {
  apiKey.clear()
  location.reload()
})
window.addEventListener('hashchange', () => !keyMessage && route())
monitor.start()
