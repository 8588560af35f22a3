/** The topics table: filter, create, delete (after a confirmation dialog), one row per topic, updated in place. */
import { ApiError, type TopicStats, api } from './api'
import { formatAgo, formatBytes, formatCount, h } from './dom'
import type { Monitor } from './monitor'

/** The topic page's address (main.ts routes it). */
export const topicHref = (name: string) => `#/topic/${encodeURIComponent(name)}`

export function topicsSection(monitor: Monitor): { element: HTMLElement; dispose(): void } {
  const filter = h('input', { type: 'search', id: 'topic-filter', placeholder: 'Filter topics', 'aria-label': 'Filter topics', autocomplete: 'off' })
  const newName = h('input', { type: 'text', id: 'new-topic', name: 'name', placeholder: 'new-topic-name', 'aria-label': 'New topic name', required: true, maxlength: 200, pattern: '[A-Za-z0-9._:\\-]{1,200}', autocomplete: 'off' })
  const createMessage = h('p', { class: 'form-message', role: 'alert' })
  const create = h(
    'form',
    { class: 'inline-form', onsubmit: (e: Event) => void onCreate(e) },
    newName,
    h('button', { type: 'submit', class: 'primary' }, 'Create topic'),
  )
  const body = h('tbody')
  const empty = h('p', { class: 'empty' }, 'No topics yet. Create one above, or with POST /topics.')
  const table = h(
    'table',
    { 'aria-labelledby': 'topics-heading', class: 'topics' },
    h(
      'thead',
      {},
      h('tr', {}, ...['Name', 'Subscribers', 'Messages', 'Dropped', 'History held', 'Last publish'].map((c, i) => h('th', { scope: 'col', class: i ? 'num' : '' }, c)), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions'))),
    ),
    body,
  )
  const dialog = confirmDialog()
  const element = h(
    'section',
    { class: 'card', 'aria-labelledby': 'topics-heading' },
    h('div', { class: 'card-head' }, h('h2', { id: 'topics-heading' }, 'Topics'), filter),
    create,
    createMessage,
    h('div', { class: 'table-wrap' }, table),
    empty,
    dialog.element,
  )

  const rows = new Map<string, { row: HTMLTableRowElement; cells: HTMLTableCellElement[] }>()
  let rowIds = 0
  let latest: Record<string, TopicStats> = {}

  function render() {
    const needle = filter.value.trim().toLowerCase()
    const names = Object.keys(latest).sort()
    for (const [name, r] of rows) if (!(name in latest)) (r.row.remove(), rows.delete(name))
    let shown = 0
    let previous: HTMLTableRowElement | undefined
    for (const name of names) {
      const s = latest[name]!
      let found = rows.get(name)
      if (!found) {
        const cells = [0, 1, 2, 3, 4].map(() => h('td', { class: 'num' }))
        // The button's name stays "Delete"; its description says which topic, for screen readers.
        const nameId = `topic-name-${++rowIds}`
        const row = h(
          'tr',
          {},
          h('th', { scope: 'row', id: nameId }, h('a', { href: topicHref(name) }, name)),
          ...cells,
          h('td', { class: 'actions' }, h('button', { type: 'button', class: 'danger ghost', 'aria-describedby': nameId, onclick: () => dialog.ask(name) }, 'Delete')),
        )
        found = { row, cells }
        rows.set(name, found)
      }
      const r = found
      const history = s.history_bytes === undefined ? formatCount(s.history) : `${formatCount(s.history)} · ${formatBytes(s.history_bytes)}`
      const values = [formatCount(s.subscribers), formatCount(s.messages), formatCount(s.dropped), history, formatAgo(s.last_publish)]
      values.forEach((v, i) => r.cells[i]!.textContent !== v && (r.cells[i]!.textContent = v))
      r.cells[2]!.classList.toggle('warn', s.dropped > 0)
      const visible = name.toLowerCase().includes(needle)
      r.row.hidden = !visible
      if (visible) shown++
      // Keep DOM order = sorted order without re-inserting rows that are already in place.
      const expected: ChildNode | null = previous ? previous.nextSibling : body.firstChild
      if (expected !== r.row) body.insertBefore(r.row, expected)
      previous = r.row
    }
    table.hidden = shown === 0
    empty.hidden = shown > 0
    empty.textContent = names.length === 0 ? 'No topics yet. Create one above, or with POST /topics.' : `No topic matches “${filter.value}”.`
  }

  async function onCreate(e: Event) {
    e.preventDefault()
    const name = newName.value.trim()
    try {
      await api.createTopic(name)
      createMessage.textContent = `Created “${name}”.`
      createMessage.className = 'form-message ok'
      newName.value = ''
      await monitor.poll()
    } catch (error) {
      createMessage.textContent = error instanceof ApiError ? error.message : String(error)
      createMessage.className = 'form-message error'
    }
  }

  dialog.onConfirm = async (name) => {
    try {
      await api.deleteTopic(name)
      createMessage.textContent = `Deleted “${name}”.`
      createMessage.className = 'form-message ok'
      await monitor.poll()
    } catch (error) {
      createMessage.textContent = error instanceof ApiError ? error.message : String(error)
      createMessage.className = 'form-message error'
    }
  }

  filter.addEventListener('input', render)
  const unsubscribe = monitor.subscribe((u) => {
    if (!u.ok) return
    latest = u.snapshot.stats ?? {}
    render()
  })
  return { element, dispose: unsubscribe }
}

/** A modal <dialog> asking to confirm a deletion; its "Delete" button confirms. */
function confirmDialog() {
  const text = h('p')
  const element = h(
    'dialog',
    { 'aria-labelledby': 'confirm-heading', class: 'confirm' },
    h(
      'form',
      { method: 'dialog' },
      h('h2', { id: 'confirm-heading' }, 'Delete topic?'),
      text,
      h('div', { class: 'dialog-buttons' }, h('button', { value: 'cancel', class: 'ghost' }, 'Cancel'), h('button', { value: 'delete', class: 'danger' }, 'Delete')),
    ),
  )
  let pending = ''
  const api = {
    element,
    onConfirm: (_name: string): void | Promise<void> => {},
    ask(name: string) {
      pending = name
      text.textContent = `“${name}” and its history will be gone; its subscribers are told topic_deleted. This cannot be undone.`
      element.returnValue = ''
      element.showModal()
    },
  }
  element.addEventListener('close', () => {
    if (element.returnValue === 'delete') void api.onConfirm(pending)
  })
  return api
}
