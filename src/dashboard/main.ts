/**
 * The dashboard's entry: asks for a credential when the server wants one (credential-form.ts), then
 * routes `#/` (overview) and `#/topic/NAME` (a topic's page). Everything it shows comes from the
 * server's public REST routes and /ws (api.ts, live.ts).
 */
import { ApiError } from './api'
import { credential, tokenInfo } from './credential'
import { type CredentialForm, credentialForm } from './credential-form'
import { Monitor } from './monitor'
import { overviewView } from './overview'
import { type CredentialProblem, topicView } from './topic-page'

const view = document.getElementById('view')!
const serverState = document.getElementById('server-state')!
const forget = document.getElementById('forget-key') as HTMLButtonElement
const monitor = new Monitor()
let current: { element: HTMLElement; dispose(): void } | undefined
/** The credential form while it is shown (routing waits until it is answered). */
let form: CredentialForm | undefined
/** Fires at a held token's `exp`: the page asks for a new one before anything fails. */
let expiryTimer: ReturnType<typeof setTimeout> | undefined

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
  current = topic === undefined ? overviewView(monitor) : topicView(monitor, topic, { onCredentialProblem })
  document.title = topic === undefined ? 'herald' : `${topic} · herald`
  view.replaceChildren(current.element)
}

/** The header: which credential the tab holds, and the button that forgets it. */
function showCredential() {
  const c = credential.get()
  forget.hidden = c === null
  forget.textContent = c?.kind === 'token' ? `Forget token${tokenInfo(c.value).sub ? ` (${tokenInfo(c.value).sub})` : ''}` : 'Forget API key'
  clearTimeout(expiryTimer)
  const exp = c?.kind === 'token' ? tokenInfo(c.value).exp : undefined
  // setTimeout takes at most 2³¹−1 ms; a token that far out is checked when the page is next opened.
  if (exp !== undefined && exp - Date.now() < 2 ** 31 - 1) expiryTimer = setTimeout(() => onCredentialProblem('expired'), Math.max(0, exp - Date.now()))
}

/** Shows the credential form in place of the view; `reason` is its first message. */
function ask(options: { refusedKey?: boolean; expired?: boolean; kind?: 'api_key' | 'token' }) {
  if (form) {
    // Already shown (the monitor keeps polling): only a refusal changes it, the typed text stays.
    if (options.refusedKey) form.refused('api_key')
    return
  }
  current?.dispose()
  current = undefined
  form = credentialForm({
    ...options,
    async accepted() {
      showCredential()
      await monitor.poll()
      // A token is never checked by REST: the monitor's answer does not route; do it here.
      if (credential.isToken()) done()
    },
  })
  view.replaceChildren(form.element)
  form.focus()
}

function done() {
  form = undefined
  route()
}

function onCredentialProblem(problem: CredentialProblem) {
  if (problem === 'expired') {
    credential.clear()
    showCredential()
    return ask({ expired: true, kind: 'token' })
  }
  ask({ kind: credential.isToken() ? 'token' : undefined })
}

monitor.subscribe((u) => {
  if (!u.ok && u.error.status === 401) {
    const refused = credential.apiKey() !== null
    if (!credential.isToken()) credential.clear()
    showCredential()
    serverState.textContent = 'needs a credential'
    serverState.dataset.state = 'warn'
    return ask({ refusedKey: refused })
  }
  if (!u.ok) {
    serverState.textContent = u.error instanceof ApiError && u.error.status === 0 ? 'server unreachable' : `error: ${u.error.message}`
    serverState.dataset.state = 'error'
    return
  }
  serverState.textContent = credential.isToken() ? 'connected · token' : 'connected'
  serverState.dataset.state = 'ok'
  if (form && !credential.isToken() && credential.apiKey() !== null) return done()
  if (!form && !current) route()
})

forget.addEventListener('click', () => {
  credential.clear()
  location.reload()
})
window.addEventListener('hashchange', () => !form && route())
showCredential()
monitor.start()
