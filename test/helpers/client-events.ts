/** Awaiting the client SDK's events with a deadline (every wait in the suite has one). */
import type { EventFrame, HeraldClient, StateChange, Subscription } from '../../src/client'
import type { Emitter } from '../../src/client/emitter'
import { within } from './wait'

/** The next `name` event of `emitter` that satisfies `match`. */
export function nextEvent<E extends object, K extends keyof E & string>(emitter: Emitter<E>, name: K, match: (value: E[K]) => boolean = () => true, ms = 5000): Promise<E[K]> {
  let off = () => {}
  return within(
    new Promise<E[K]>((resolve) => {
      off = emitter.on(name, (value) => {
        if (!match(value)) return
        off()
        resolve(value)
      })
    }),
    ms,
    `a ${name} event`,
  ).finally(() => off())
}

export function nextState(client: HeraldClient, state: StateChange['state'], ms = 5000): Promise<StateChange> {
  return nextEvent(client, 'state', (c) => c.state === state, ms)
}

/** Collects every event a subscription delivers. */
export function collect(sub: Subscription): EventFrame[] {
  const events: EventFrame[] = []
  sub.on('event', (e) => events.push(e))
  return events
}

/** Resolves when `events` holds at least `n` events. */
export async function eventsReach(sub: Subscription, events: EventFrame[], n: number, ms = 5000): Promise<void> {
  if (events.length >= n) return
  await nextEvent(sub, 'event', () => events.length >= n, ms)
}
