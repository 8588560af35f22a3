/** A small SVG line chart of rates over the last few minutes: no library, redrawn on every sample. */
import { h } from './dom'

const SVG = 'http://www.w3.org/2000/svg'
const W = 600
const H = 160
const MIN_SPAN_MS = 60_000

export interface Series {
  label: string
  /** CSS class giving the line its colour (style.css: .series-0, .series-1, …). */
  className: string
}

export interface Point {
  /** ms since epoch */
  t: number
  values: number[]
}

/** A rounded axis maximum ≥ max: 1, 2, 5 × 10^k. */
function niceMax(max: number): number {
  if (max <= 0) return 1
  const p = 10 ** Math.floor(Math.log10(max))
  return ([1, 2, 5, 10].find((m) => m * p >= max) ?? 10) * p
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v))
  return el
}

export class RateChart {
  readonly element: HTMLElement
  private readonly plot: SVGSVGElement
  private readonly axis: HTMLElement
  private readonly span: HTMLElement

  constructor(
    private readonly series: Series[],
    /** The time window shown, in ms. */
    private readonly windowMs: number,
  ) {
    this.plot = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', class: 'chart-plot', 'aria-hidden': 'true' })
    this.axis = h('span', { class: 'chart-max' })
    this.span = h('span', { class: 'muted' })
    const legend = h('ul', { class: 'legend' }, ...series.map((s) => h('li', { class: s.className }, s.label)))
    this.element = h(
      'figure',
      { class: 'chart' },
      h('div', { class: 'chart-area' }, this.axis, this.plot),
      h('figcaption', {}, legend, this.span),
    )
  }

  render(points: readonly Point[], now = Date.now()): void {
    const max = niceMax(Math.max(0, ...points.flatMap((p) => p.values)))
    this.axis.textContent = `${max} /s`
    // The x axis grows with the data, from one minute up to the whole window, then scrolls.
    const span = Math.min(this.windowMs, Math.max(MIN_SPAN_MS, now - (points[0]?.t ?? now)))
    this.span.textContent = `last ${span < 60_000 * 1.5 ? '1 min' : `${Math.round(span / 60_000)} min`}`
    const x = (t: number) => W - ((now - t) / span) * W
    const y = (v: number) => H - 2 - (v / max) * (H - 6)
    const children: SVGElement[] = [0.5, 1].map((f) => svg('line', { x1: 0, x2: W, y1: y(max * f), y2: y(max * f), class: 'grid' }))
    this.series.forEach((s, i) => {
      const coords = points.map((p) => `${x(p.t).toFixed(1)},${y(p.values[i] ?? 0).toFixed(1)}`).join(' ')
      children.push(svg('polyline', { points: coords, class: `line ${s.className}` }))
    })
    this.plot.replaceChildren(...children)
  }
}

/** A card's own line: no axis, scaled to its own maximum, same growing time axis as the chart. */
export class Sparkline {
  readonly element: SVGSVGElement
  private readonly line: SVGPolylineElement

  constructor(private readonly windowMs: number) {
    this.element = svg('svg', { viewBox: '0 0 100 24', preserveAspectRatio: 'none', class: 'spark', 'aria-hidden': 'true' })
    this.line = svg('polyline', { points: '' })
    this.element.append(this.line)
  }

  render(points: readonly { t: number; v: number }[], now = Date.now()): void {
    const span = Math.min(this.windowMs, Math.max(MIN_SPAN_MS, now - (points[0]?.t ?? now)))
    const max = Math.max(1e-9, ...points.map((p) => p.v))
    this.line.setAttribute('points', points.map((p) => `${(100 - ((now - p.t) / span) * 100).toFixed(2)},${(23 - (p.v / max) * 21).toFixed(2)}`).join(' '))
  }
}
