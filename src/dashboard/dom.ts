/** Small DOM and formatting helpers for the dashboard's views (no framework: the page is a few tables and forms). */

type Child = Node | string | number | null | undefined | false
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>

/** `h('button', { class: 'x', onclick: f }, 'Label')`: attributes (on* are listeners; false/null omitted), then children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value)
    else el.setAttribute(name, value === true ? '' : String(value))
  }
  append(el, ...children)
  return el
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) if (c !== null && c !== undefined && c !== false) parent.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)))
}

const integer = new Intl.NumberFormat('en-US')
const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 })

export const formatCount = (n: number) => integer.format(n)
export const formatRate = (perSec: number) => `${oneDecimal.format(perSec)} /s`

/** 512 B, 4.2 KB, 1.5 MB (powers of 1024, as the server's limits are written). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${oneDecimal.format(n / 1024)} KB`
  return `${oneDecimal.format(n / (1024 * 1024))} MB`
}

/** 3 d 4 h, 5 h 6 min, 7 min 8 s, 9 s. */
export function formatUptime(seconds: number): string {
  const d = Math.floor(seconds / 86400), hr = Math.floor((seconds % 86400) / 3600), min = Math.floor((seconds % 3600) / 60), s = seconds % 60
  if (d > 0) return `${d} d ${hr} h`
  if (hr > 0) return `${hr} h ${min} min`
  if (min > 0) return `${min} min ${s} s`
  return `${s} s`
}

/** "12 s ago", "5 min ago", or the date for anything older than a day; "never" for null. */
export function formatAgo(iso: string | null, now = Date.now()): string {
  if (!iso) return 'never'
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000))
  if (seconds < 60) return `${seconds} s ago`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`
  return new Date(iso).toLocaleDateString()
}

/** HH:MM:SS.mmm in local time. */
export function formatClock(iso: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const pad = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
}

/**
 * A version-4 UUID for message ids. Not crypto.randomUUID(): browsers offer that only in secure
 * contexts (https, localhost), and operators open the dashboard over plain http on other hosts too.
 */
export function uuid(): string {
  const b = crypto.getRandomValues(new Uint8Array(16))
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
