/**
 * The overview's topics card with a user token: a token opens no REST route, so there is no topic
 * list (GET /stats needs the API key). The operator types a topic name, helped by what the token
 * itself says it allows (its `herald.subscribe` / `herald.publish` patterns, read unverified).
 */
import { credential, tokenInfo } from './credential'
import { h } from './dom'
import { topicHref } from './topics'

export function openTopicSection(): { element: HTMLElement; dispose(): void } {
  const info = tokenInfo(credential.get()?.value ?? '')
  const name = h('input', { type: 'text', id: 'open-topic', placeholder: 'orders.eu', required: true, maxlength: 200, autocomplete: 'off', list: 'token-topics' })
  // Pattern prefixes as suggestions: `orders.*` suggests `orders.`, a literal name itself.
  const suggestions = [...new Set([...info.subscribe, ...info.publish].map((p) => p.replace(/\*$|>$/, '')))]
  const datalist = h('datalist', { id: 'token-topics' }, ...suggestions.map((s) => h('option', { value: s })))
  const form = h(
    'form',
    {
      class: 'inline-form',
      onsubmit: (e: Event) => {
        e.preventDefault()
        location.hash = topicHref(name.value.trim())
      },
    },
    h('label', { for: 'open-topic', class: 'visually-hidden' }, 'Topic name'),
    name,
    datalist,
    h('button', { type: 'submit', class: 'primary' }, 'Open topic'),
  )
  const patterns = (label: string, list: string[]) => h('div', {}, h('dt', {}, label), h('dd', {}, ...(list.length ? list.flatMap((p, i) => (i ? [', ', h('code', {}, p)] : [h('code', {}, p)])) : [h('span', { class: 'muted' }, 'none')])))
  const element = h(
    'section',
    { class: 'card', 'aria-labelledby': 'open-topic-heading' },
    h('div', { class: 'card-head' }, h('h2', { id: 'open-topic-heading' }, 'Open a topic')),
    h('p', { class: 'muted' }, 'With a user token there is no topic list (it needs the API key): type the name of a topic this token allows.'),
    form,
    h('dl', { class: 'counters token-patterns' }, patterns('subscribe', info.subscribe), patterns('publish', info.publish)),
  )
  return { element, dispose() {} }
}
