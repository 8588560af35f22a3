/**
 * A topic's page: its counters, the live tail ("Live events": newest at top, pause/resume), a
 * publish form, and whatever extension panels this server supports (extensions.ts).
 */
import { apiKey } from './api'
import { append, formatAgo, formatBytes, formatClock, formatCount, h } from './dom'
import { topicPanels } from './extensions'
import { type FeedState, type LiveEvent, type TopicFeed, openTopicFeed } from './live'
import type { Monitor } from './monitor'

/** Events kept on the page (and held while paused); older ones are dropped from the bottom. */
const MAX_EVENTS = 500
const DEFAULT_LAST_N = 20
/** A payload longer than this (pretty-printed) is shown collapsed. */
const COLLAPSE_CHARS = 400
const COLLAPSE_LINES = 12

const STATE_TEXT: Record<FeedState, string> = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', unsubscribed: 'not subscribed', closed: 'closed' }

function eventItem(e: LiveEvent): HTMLLIElement {
  const pretty = JSON.stringify(e.payload, null, 2) ?? 'undefined'
  const lines = pretty.split('\n')
  const body =
    pretty.length > COLLAPSE_CHARS || lines.length > COLLAPSE_LINES
      ? h('details', {}, h('summary', {}, `${lines.length} lines, ${formatCount(pretty.length)} characters`), h('pre', {}, pretty))
      : h('pre', {}, pretty)
  return h(
    'li',
    { class: 'event' },
    h('div', { class: 'event-head' }, h('span', { class: 'seq' }, `#${e.seq}`), h('time', { datetime: e.ts, title: e.ts }, formatClock(e.ts)), h('code', { class: 'id', title: 'message id' }, e.id)),
    body,
  )
}

export function topicView(monitor: Monitor, topic: string): { element: HTMLElement; dispose(): void } {
  const counters = h('dl', { class: 'counters' })
  const missing = h('p', { class: 'form-message error', role: 'alert' })
  const list = h('ol', { class: 'events', reversed: true })
  const held: LiveEvent[] = []
  let paused = false
  const state = h('span', { class: 'badge' }, STATE_TEXT.connecting)
  const heldText = h('span', { class: 'muted', 'aria-live': 'polite' })
  const pause = h('button', { type: 'button', class: 'ghost', onclick: () => setPaused(!paused) }, 'Pause')
  const lastN = h('input', { type: 'number', min: 0, max: 1000, value: DEFAULT_LAST_N, id: 'last-n', class: 'narrow' })
  const emptyTail = h('li', { class: 'empty' }, 'Waiting for events…')
  list.append(emptyTail)

  const payload = h('textarea', { id: 'payload', rows: 6, spellcheck: false }, '{\n  "hello": "world"\n}')
  const publishStatus = h('p', { class: 'form-message', role: 'status' })
  const publishForm = h(
    'form',
    { class: 'publish', onsubmit: (e: Event) => void onPublish(e) },
    h('label', { for: 'payload' }, 'Message payload'),
    h('p', { class: 'hint' }, 'Any JSON value. Ctrl+Enter publishes.'),
    payload,
    h('div', { class: 'form-row' }, h('button', { type: 'submit', class: 'primary' }, 'Publish'), publishStatus),
  )
  const panels = h('div', { class: 'panels' })

  const element = h(
    'div',
    { class: 'page topic-page' },
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/' }, 'Overview'), h('span', { 'aria-hidden': 'true' }, ' / '), h('span', {}, 'topic')),
    h('div', { class: 'title-row' }, h('h1', {}, topic), counters),
    missing,
    h(
      'div',
      { class: 'topic-grid' },
      h('section', { class: 'card publish-card', 'aria-labelledby': 'publish-heading' }, h('h2', { id: 'publish-heading' }, 'Publish'), publishForm),
      h(
        'section',
        { class: 'card tail', 'aria-labelledby': 'tail-heading' },
        h(
          'div',
          { class: 'card-head' },
          h('h2', { id: 'tail-heading' }, 'Live events'),
          state,
          h('span', { class: 'spacer' }),
          heldText,
          pause,
        ),
        h('div', { class: 'tail-options' }, h('label', { for: 'last-n' }, 'Replay'), lastN, h('span', {}, 'past events when it connects')),
        list,
      ),
    ),
    panels,
  )

  function show(e: LiveEvent) {
    emptyTail.remove()
    list.prepend(eventItem(e))
    while (list.children.length > MAX_EVENTS) list.lastElementChild!.remove()
  }

  function notice(kind: string, text: string) {
    emptyTail.remove()
    list.prepend(h('li', { class: `notice ${kind}` }, text))
  }

  function setPaused(value: boolean) {
    paused = value
    pause.textContent = paused ? 'Resume' : 'Pause'
    pause.setAttribute('aria-pressed', String(paused))
    if (!paused) for (const e of held.splice(0)) show(e)
    heldText.textContent = ''
  }

  let feed: TopicFeed
  function open() {
    feed?.close()
    list.replaceChildren(emptyTail)
    feed = openTopicFeed({
      topic,
      lastN: Math.max(0, Math.min(1000, Number(lastN.value) || 0)),
      apiKey: apiKey.get(),
      onEvent(e) {
        if (!paused) return show(e)
        held.push(e)
        if (held.length > MAX_EVENTS) held.shift()
        heldText.textContent = `${held.length} new`
      },
      onNotice: (n) => notice(n.kind, n.text),
      onState(s) {
        state.textContent = STATE_TEXT[s]
        state.dataset.state = s
      },
    })
  }
  open()
  lastN.addEventListener('change', open)

  async function onPublish(e: Event) {
    e.preventDefault()
    let value: unknown
    try {
      value = JSON.parse(payload.value)
    } catch (error) {
      publishStatus.className = 'form-message error'
      publishStatus.textContent = `Not valid JSON: ${(error as Error).message}`
      return
    }
    publishStatus.className = 'form-message'
    publishStatus.textContent = 'Publishing…'
    try {
      const { seq } = await feed.publish(value)
      publishStatus.className = 'form-message ok'
      publishStatus.textContent = `Published as seq ${seq}`
    } catch (error) {
      publishStatus.className = 'form-message error'
      publishStatus.textContent = `Not published: ${(error as Error).message}`
    }
  }
  payload.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) publishForm.requestSubmit()
  })

  const cleanups: (() => void)[] = []
  for (const panel of topicPanels)
    void panel.available().then((yes) => {
      if (!yes) return
      const container = h('section', { class: 'card', 'aria-label': panel.title }, h('h2', {}, panel.title))
      panels.append(container)
      cleanups.push(panel.render(container, topic))
    })

  const unsubscribe = monitor.subscribe((u) => {
    if (!u.ok) return
    const s = u.snapshot.stats[topic]
    missing.textContent = s ? '' : `Topic “${topic}” does not exist (any more). Create it on the overview.`
    counters.replaceChildren()
    if (!s) return
    for (const [label, value] of [
      ['subscribers', formatCount(s.subscribers)],
      ['messages', formatCount(s.messages)],
      ['dropped', formatCount(s.dropped)],
      ['history held', s.history_bytes === undefined ? formatCount(s.history) : `${formatCount(s.history)} · ${formatBytes(s.history_bytes)}`],
      ['last publish', formatAgo(s.last_publish)],
    ] as const)
      append(counters, h('div', {}, h('dt', {}, label), h('dd', {}, value)))
  })
  return {
    element,
    dispose() {
      unsubscribe()
      feed.close()
      for (const c of cleanups) c()
    },
  }
}
