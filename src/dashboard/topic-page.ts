/**
 * A topic's page: its counters, the live tail ("Live events": newest at top, pause/resume), a
 * publish form, and whatever extension panels this server supports (extensions.ts). The tail and
 * the form go through one HeraldClient (live.ts) for the life of the page.
 */
import type { HeraldError, Subscription } from '../client'
import { credential } from './credential'
import { append, formatAgo, formatBytes, formatClock, formatCount, h, uuid } from './dom'
import { topicPanels } from './extensions'
import { describeState, openClient } from './live'
import type { Monitor } from './monitor'

interface LiveEvent {
  seq: number
  id: string
  ts: string
  payload: unknown
}

/** What the page asks of main.ts when the tab's credential no longer works (an expired token) or /ws never opened. */
export type CredentialProblem = 'expired' | 'refused'
export interface TopicViewOptions {
  onCredentialProblem(problem: CredentialProblem): void
}

/** Events kept on the page (and held while paused); older ones are dropped from the bottom. */
const MAX_EVENTS = 500
const DEFAULT_LAST_N = 20
/** A payload longer than this (pretty-printed) is shown collapsed. */
const COLLAPSE_CHARS = 400
const COLLAPSE_LINES = 12
/** How long a publish whose ack has no seq waits for its own event to learn it. */
const OWN_EVENT_TIMEOUT_MS = 5000

/** The subscription as one word for the badge; the SDK's connection state is the line beside it. */
type TailState = 'connecting' | 'live' | 'subscribing' | 'reconnecting' | 'unsubscribed' | 'closed'
const STATE_TEXT: Record<TailState, string> = { connecting: 'connecting…', live: 'live', subscribing: 'subscribing…', reconnecting: 'reconnecting…', unsubscribed: 'not subscribed', closed: 'closed' }

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

export function topicView(monitor: Monitor, topic: string, options: TopicViewOptions): { element: HTMLElement; dispose(): void } {
  const counters = h('dl', { class: 'counters' })
  const missing = h('p', { class: 'form-message error', role: 'alert' })
  const list = h('ol', { class: 'events', reversed: true })
  const held: LiveEvent[] = []
  let paused = false
  const state = h('span', { class: 'badge' }, STATE_TEXT.connecting)
  /** The SDK's own state (connecting / connected / disconnected / closed) and the last resubscribe's outcome. */
  const connection = h('span', { class: 'conn-state', 'data-testid': 'connection' }, 'connecting…')
  const recovery = h('span', { class: 'recovery muted', 'data-testid': 'recovery' })
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
        h('p', { class: 'tail-status', role: 'status' }, h('span', { class: 'muted' }, 'WebSocket: '), connection, recovery),
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

  const client = openClient()
  /** The page's own publishes awaiting their event, by message id: today's acks carry no seq (issue 9 adds it). */
  const ownEvents = new Map<string, (seq: number) => void>()
  let sub: Subscription | undefined
  let everConnected = false
  const tailState = (): TailState => {
    if (!sub || sub.state === 'unsubscribed') return client.state === 'closed' ? 'closed' : 'unsubscribed'
    if (client.state === 'connected') return sub.state === 'subscribed' ? 'live' : 'subscribing'
    if (client.state === 'closed') return 'closed'
    return everConnected ? 'reconnecting' : 'connecting'
  }
  const showState = () => {
    const s = tailState()
    state.textContent = STATE_TEXT[s]
    state.dataset.state = s
  }
  client.on('state', (change) => {
    connection.textContent = describeState(change.state, change.retryInMs)
    connection.dataset.state = change.state
    if (change.state === 'connected') everConnected = true
    // Never opened: a browser is not told why (401 and no server look alike), so say both.
    if (change.state === 'disconnected' && !everConnected && change.previous === 'connecting') {
      recovery.replaceChildren(
        ' · /ws did not open: the server is unreachable, or it refused the credential. ',
        h('button', { type: 'button', class: 'ghost', onclick: () => options.onCredentialProblem('refused') }, credential.isToken() ? 'Paste another token' : 'Enter a token or API key'),
      )
    }
    if (change.state === 'connected' && everConnected) recovery.replaceChildren()
    showState()
  })
  client.on('error', (error: HeraldError) => {
    if (error.code !== 'TOKEN_EXPIRED') return notice('error', `${error.code}: ${error.message}`)
    // The server closes with 4401 next; this token will not be accepted again: stop and ask for a new one.
    client.close()
    notice('error', 'The token expired: paste a new one to go on.')
    options.onCredentialProblem('expired')
  })

  function subscribe() {
    void sub?.unsubscribe().catch(() => {})
    list.replaceChildren(emptyTail)
    held.length = 0
    const s = client.subscribe(topic, { lastN: Math.max(0, Math.min(1000, Number(lastN.value) || 0)) })
    sub = s
    s.on('event', (frame) => {
      ownEvents.get(frame.message.id)?.(frame.seq)
      const e: LiveEvent = { seq: frame.seq, id: frame.message.id, ts: frame.ts, payload: frame.message.payload }
      if (!paused) return show(e)
      held.push(e)
      if (held.length > MAX_EVENTS) held.shift()
      heldText.textContent = `${held.length} new`
    })
    s.on('subscribed', (info) => {
      showState()
      if (!info.resubscribed) return
      // The SDK resumed with since_seq + epoch; only the server's `recovered: true` means no gap.
      const missed = info.missed === null || info.missed === undefined ? 'the server cannot say how many' : `${formatCount(info.missed)} missed`
      const text = info.recovered ? 'Reconnected: resubscribed and recovered, nothing missed.' : `Reconnected: resubscribed, not recovered (${missed}): events published while disconnected are not shown.`
      recovery.textContent = info.recovered ? ' · recovered after a reconnect' : ' · resubscribed after a reconnect, not recovered'
      notice(info.recovered ? 'recovered' : 'not-recovered', text)
    })
    s.on('error', (error) => {
      showState()
      notice('error', `Not subscribed — ${error.code}: ${error.message}`)
    })
    s.on('deleted', () => {
      showState()
      notice('topic_deleted', 'The topic was deleted.')
    })
    s.on('unsubscribed', ({ reason }) => {
      showState()
      notice('error', `The server ended the subscription${reason ? `: ${reason}` : ''}.`)
    })
    s.on('slow_consumer', (info) => notice('slow_consumer', info.message))
    showState()
  }
  void client.connect().catch(() => {}) // a failure is shown by the state listener
  subscribe()
  lastN.addEventListener('change', subscribe)

  /**
   * Publishes through the SDK; the seq is the ack's (publish()'s result) when the server sends it,
   * else that of the message's own event on this page's subscription (same id), which a server
   * without seq on acks still delivers. Undefined when neither comes.
   */
  async function publishForSeq(value: unknown): Promise<number | undefined> {
    const id = uuid()
    const own = new Promise<number | undefined>((resolve) => {
      ownEvents.set(id, resolve)
      setTimeout(() => resolve(undefined), OWN_EVENT_TIMEOUT_MS)
    })
    try {
      const { seq } = await client.publish(topic, value, { id })
      return seq ?? (sub?.state === 'subscribed' ? await own : undefined)
    } finally {
      ownEvents.delete(id)
    }
  }

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
      const seq = await publishForSeq(value)
      publishStatus.className = 'form-message ok'
      publishStatus.textContent = seq === undefined ? `Published (its event did not come back within ${OWN_EVENT_TIMEOUT_MS / 1000} s to say its seq)` : `Published as seq ${seq}`
    } catch (error) {
      const e = error as HeraldError
      publishStatus.className = 'form-message error'
      publishStatus.textContent = `Not published — ${e.code}: ${e.message}`
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
    if (!u.ok || u.snapshot.stats === null) return // with a token there are no counters (/stats needs the key)
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
      client.close()
      for (const c of cleanups) c()
    },
  }
}
