/**
 * Reads `exp` and `sub` from a JWT without verifying it (the server verifies;
 * the client only needs to know when to ask for a new one, and which
 * client_id the server will accept). Anything that is not a JWT gives {}.
 */
export function tokenClaims(token: string): { exp?: number; sub?: string } {
  const part = token.split('.')[1]
  if (part === undefined) return {}
  try {
    const base64 = part.replaceAll('-', '+').replaceAll('_', '/').padEnd(Math.ceil(part.length / 4) * 4, '=')
    const claims = JSON.parse(atob(base64))
    return {
      // exp in ms since the epoch.
      exp: typeof claims?.exp === 'number' ? claims.exp * 1000 : undefined,
      sub: typeof claims?.sub === 'string' && claims.sub !== '' ? claims.sub : undefined,
    }
  } catch {
    return {}
  }
}

/** `exp` of a JWT in ms since the epoch, or undefined. */
export function tokenExpiry(token: string): number | undefined {
  return tokenClaims(token).exp
}
