/**
 * Reads `exp` from a JWT without verifying it (the server verifies; the client
 * only needs to know when to ask for a new one). Returns ms since the epoch,
 * or undefined for anything that is not a JWT with a numeric exp.
 */
export function tokenExpiry(token: string): number | undefined {
  const part = token.split('.')[1]
  if (part === undefined) return undefined
  try {
    const base64 = part.replaceAll('-', '+').replaceAll('_', '/').padEnd(Math.ceil(part.length / 4) * 4, '=')
    const claims = JSON.parse(atob(base64))
    return typeof claims?.exp === 'number' ? claims.exp * 1000 : undefined
  } catch {
    return undefined
  }
}
