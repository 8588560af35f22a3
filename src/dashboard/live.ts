/**
 * The dashboard's WebSocket side, on the client SDK (`src/client/`, herald/client: the page
 * dogfoods it, bundled by Bun with the page, no CDN). The SDK reconnects with backoff, subscribes
 * again from the last seq + epoch, drops events it has already delivered, and says in `subscribed`
 * whether the server confirmed that nothing was missed (`recovered`); the topic page shows all of it.
 *
 * The credential goes in the /ws address (`?api_key=` or `?token=`): browsers cannot set headers on
 * a WebSocket, and this is the only URL it ever appears in.
 */
import { type ClientState, HeraldClient, type HeraldError } from '../client'
import { type Credential, credential } from './credential'
import { uuid } from './dom'

/** The page's reconnect ceiling: an operator watching a tail wants it back soon (the SDK's default is 20 s). */
const MAX_RECONNECT_DELAY_MS = 10_000
/** How long the token form waits for /ws to accept a pasted token. */
const CHECK_TIMEOUT_MS = 5000

const credentials = (c: Credential | null) => ({ apiKey: c?.kind === 'api_key' ? c.value : undefined, token: c?.kind === 'token' ? c.value : undefined })

/**
 * A client for one page view, with the tab's credential. It keeps trying from the first attempt on
 * (`waitForFirstConnect`): a page should come up when the server does. With a token the client_id
 * is the token's `sub` (the server accepts no other); else `dashboard-` and 8 random hex digits.
 */
export function openClient(): HeraldClient {
  const c = credential.get()
  return new HeraldClient(location.origin, {
    ...credentials(c),
    clientId: c?.kind === 'token' ? undefined : `dashboard-${uuid().slice(0, 8)}`,
    waitForFirstConnect: true,
    maxReconnectDelayMs: MAX_RECONNECT_DELAY_MS,
  })
}

/**
 * Whether /ws accepts `token`: one connection attempt, closed at once. A browser is not told why an
 * upgrade was refused (401 and an unreachable server look the same), so the message says both.
 */
export async function checkToken(token: string): Promise<string | null> {
  const probe = new HeraldClient(location.origin, { token, reconnect: false, connectTimeoutMs: CHECK_TIMEOUT_MS })
  try {
    await probe.connect()
    return null
  } catch (error) {
    return (error as HeraldError).code === 'CONNECT_FAILED' ? 'The server refused this token (bad signature, expired, not valid yet, or not for this server), or /ws cannot be reached.' : (error as Error).message
  } finally {
    probe.close()
  }
}

/** The SDK's connection state as the page words it. */
export function describeState(state: ClientState, retryInMs?: number): string {
  if (state === 'disconnected') return retryInMs === undefined ? 'disconnected' : `disconnected, retrying in ${(retryInMs / 1000).toFixed(1)} s`
  return state === 'connecting' ? 'connecting…' : state
}
