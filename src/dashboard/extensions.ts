/**
 * Where the topic page grows when the server does. Today's server has neither presence nor a
 * history API, so the page shows neither (no empty panels). When they land, each becomes one
 * panel here and the topic page renders it below the live tail:
 * - presence: `GET /topics/{name}/subscribers` (issue 13) → a list of client_ids;
 * - history: `GET /topics/{name}/messages?since_seq=&limit=` (issue 10) → a pager of past events.
 */

export interface TopicPanel {
  /** The panel's heading, also its accessible name. */
  title: string
  /** Whether this server has what the panel needs (e.g. the route is in /openapi/json); false → not shown. */
  available(): Promise<boolean>
  /** Fills `container` for `topic`; called once per topic page. Returns a cleanup function. */
  render(container: HTMLElement, topic: string): () => void
}

/** Empty until presence (issue 13) and the history API (issue 10) exist. */
export const topicPanels: TopicPanel[] = []
