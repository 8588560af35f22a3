/**
 * The credential form: an API key (admin) or a user token, chosen by the operator. The server's
 * public endpoints do not say whether tokens are configured (/health is the same either way), so
 * the page asks rather than guesses: two options, the API key first.
 *
 * A key is checked by the next poll of /stats (401 → "refused", nothing kept); a token by one /ws
 * connection attempt (live.ts checkToken), after its `exp` has been read: an expired token is
 * refused here, before anything is sent.
 */
import { type CredentialKind, credential, tokenInfo } from './credential'
import { formatClock, h } from './dom'
import { checkToken } from './live'

export interface CredentialFormOptions {
  /** The last key was refused by the server. */
  refusedKey?: boolean
  /** The held token expired: ask for a new one. */
  expired?: boolean
  /** The option selected first (default: API key). */
  kind?: CredentialKind
  /** Called once the credential is stored. */
  accepted(): void | Promise<void>
}

export interface CredentialForm {
  element: HTMLElement
  refused(kind: CredentialKind): void
  focus(): void
}

const REFUSED_KEY = 'The server refused this API key. Check it and try again.'
const EXPIRED = 'Your token has expired. Paste a new one to go on.'

const LABELS: Record<CredentialKind, { field: string; hint: string }> = {
  api_key: { field: 'API key', hint: 'Sent in the X-API-Key header, and in the /ws address, where browsers allow no header. Everything the page offers.' },
  token: { field: 'Token', hint: 'A user token (a JWT) from your application or `herald token`: live tail and publish on the topics it allows, no topic list, no create or delete. Sent only in the /ws address.' },
}

export function credentialForm(options: CredentialFormOptions): CredentialForm {
  let kind: CredentialKind = options.kind ?? 'api_key'
  const input = h('input', { type: 'password', id: 'credential', autocomplete: 'off', required: true })
  const label = h('label', { for: 'credential' })
  const hint = h('p', { class: 'hint', id: 'credential-hint' })
  input.setAttribute('aria-describedby', 'credential-hint')
  const message = h('p', { class: 'form-message error', role: 'alert' }, options.expired ? EXPIRED : options.refusedKey ? REFUSED_KEY : '')
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Continue')
  const radio = (value: CredentialKind, text: string) => {
    const r = h('input', { type: 'radio', name: 'credential-kind', id: `kind-${value}`, value, checked: value === kind })
    r.addEventListener('change', () => select(value))
    return h('label', { for: `kind-${value}`, class: 'choice' }, r, text)
  }
  function select(value: CredentialKind) {
    kind = value
    label.textContent = LABELS[value].field
    hint.textContent = LABELS[value].hint
  }
  select(kind)

  const form = h(
    'form',
    { class: 'card key-form', 'aria-labelledby': 'key-heading' },
    h('h1', { id: 'key-heading' }, 'This server needs a credential'),
    h('p', { class: 'muted' }, 'Kept in this tab only (sessionStorage), never in a page address.'),
    h('fieldset', { class: 'choices' }, h('legend', {}, 'I have'), radio('api_key', 'an API key (admin)'), radio('token', 'a user token')),
    label,
    hint,
    h('div', { class: 'form-row' }, input, submit),
    message,
  )
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const value = input.value.trim()
    message.textContent = ''
    if (kind === 'api_key') {
      credential.set({ kind, value })
      return options.accepted()
    }
    const { exp } = tokenInfo(value)
    if (exp !== undefined && exp <= Date.now()) {
      message.textContent = `This token expired at ${formatClock(new Date(exp).toISOString())}. Paste a new one.`
      return
    }
    submit.disabled = true
    const refusal = await checkToken(value)
    submit.disabled = false
    if (refusal) {
      message.textContent = refusal
      return
    }
    credential.set({ kind, value })
    await options.accepted()
  })
  return {
    element: h('div', { class: 'page narrow-page' }, form),
    refused(which) {
      if (which === 'api_key') message.textContent = REFUSED_KEY
    },
    focus: () => input.focus(),
  }
}
