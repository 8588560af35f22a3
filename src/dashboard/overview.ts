/** The overview: the server's numbers as cards, a chart of the message rates, and the topics table. */
import { RateChart, Sparkline } from './chart'
import { formatCount, formatRate, formatUptime, h } from './dom'
import { type Monitor, type Rates, WINDOW_MS } from './monitor'
import { credential } from './credential'
import { openTopicSection } from './open-topic'
import { topicsSection } from './topics'

interface Card {
  element: HTMLElement
  set(value: string, detail?: string, warn?: boolean): void
  /** The card's own small line of the last minutes (rate cards only). */
  spark?: Sparkline
}

/** A labelled number: role=group named by its label, so tests and screen readers find it by name. */
function card(label: string, id: string, withSpark = false): Card {
  const value = h('div', { class: 'value' }, '—')
  const detail = h('div', { class: 'detail' })
  const spark = withSpark ? new Sparkline(WINDOW_MS) : undefined
  const element = h('div', { class: 'stat', role: 'group', 'aria-labelledby': `stat-${id}` }, h('div', { class: 'label', id: `stat-${id}` }, label), value, detail, spark?.element)
  return {
    element,
    spark,
    set(v, d = '', warn = false) {
      if (value.textContent !== v) value.textContent = v
      if (detail.textContent !== d) detail.textContent = d
      element.classList.toggle('warn', warn)
    },
  }
}

export function overviewView(monitor: Monitor): { element: HTMLElement; dispose(): void } {
  const cards = {
    uptime: card('Uptime', 'uptime'),
    engine: card('Engine', 'engine'),
    connections: card('Connections', 'connections'),
    topics: card('Topics', 'topics'),
    subscriptions: card('Subscriptions', 'subscriptions'),
    published: card('Published', 'published', true),
    delivered: card('Delivered', 'delivered', true),
    dropped: card('Dropped', 'dropped', true),
    slow: card('Slow consumers', 'slow', true),
  }
  const chart = new RateChart(
    [
      { label: 'published /s', className: 'series-0' },
      { label: 'delivered /s', className: 'series-1' },
      { label: 'dropped /s', className: 'series-2' },
    ],
    WINDOW_MS,
  )
  // A token reads no topic list and may not create or delete: the table and its admin actions are not shown.
  const topics = credential.isToken() ? openTopicSection() : topicsSection(monitor)
  const element = h(
    'div',
    { class: 'page' },
    h('h1', { class: 'visually-hidden' }, 'Overview'),
    h('section', { class: 'stats', 'aria-label': 'Server' }, ...[cards.uptime, cards.engine, cards.connections, cards.topics, cards.subscriptions].map((c) => c.element)),
    h(
      'div',
      { class: 'traffic' },
      h('section', { class: 'rate-cards', 'aria-label': 'Messages' }, ...[cards.published, cards.delivered, cards.dropped, cards.slow].map((c) => c.element)),
      h('section', { class: 'card', 'aria-labelledby': 'rates-heading' }, h('div', { class: 'card-head' }, h('h2', { id: 'rates-heading' }, 'Message rates')), chart.element),
    ),
    topics.element,
  )

  const unsubscribe = monitor.subscribe((u) => {
    if (!u.ok) return
    const { health, totals } = u.snapshot
    const now: Rates | undefined = u.rates.at(-1)
    cards.uptime.set(formatUptime(health.uptime_sec))
    // A server from before the engine split (issue 9) reports no engine: it has only the in-memory one.
    cards.engine.set(health.engine ?? 'memory', health.instances !== undefined ? `${formatCount(health.instances)} instance${health.instances === 1 ? '' : 's'}` : 'single instance')
    cards.connections.set(formatCount(health.connections), 'WebSocket')
    cards.topics.set(formatCount(health.topics))
    cards.subscriptions.set(formatCount(health.subscribers))
    if (totals) {
      cards.published.set(formatCount(totals.published), formatRate(now?.published ?? 0))
      cards.delivered.set(formatCount(totals.delivered), formatRate(now?.delivered ?? 0))
      cards.dropped.set(formatCount(totals.dropped), formatRate(now?.dropped ?? 0), (now?.dropped ?? 0) > 0)
      cards.slow.set(formatCount(totals.slowNotices), `notices, ${formatCount(totals.slowDisconnects)} closed`, (now?.slowNotices ?? 0) > 0)
    } else {
      // /metrics refused (needs the API key unless METRICS_PUBLIC) or unreadable.
      for (const c of [cards.published, cards.delivered, cards.dropped, cards.slow]) c.set('—', credential.isToken() ? '/metrics needs the API key' : '/metrics unavailable')
    }
    chart.render(u.rates.map((r) => ({ t: r.t, values: [r.published, r.delivered, r.dropped] })))
    cards.published.spark!.render(u.rates.map((r) => ({ t: r.t, v: r.published })))
    cards.delivered.spark!.render(u.rates.map((r) => ({ t: r.t, v: r.delivered })))
    cards.dropped.spark!.render(u.rates.map((r) => ({ t: r.t, v: r.dropped })))
    cards.slow.spark!.render(u.rates.map((r) => ({ t: r.t, v: r.slowNotices })))
  })
  return {
    element,
    dispose() {
      unsubscribe()
      topics.dispose()
    },
  }
}
