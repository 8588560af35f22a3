/**
 * TLS with Bun's built-in server option: TLS_CERT_FILE and TLS_KEY_FILE, both
 * or neither. The files are read once at start-up; a missing or unreadable
 * file, or one that is not PEM, is a ConfigError (herald exits 2 naming it).
 * With TLS on, PORT serves https and wss only.
 */
import { readFileSync } from 'node:fs'
import { ConfigError } from '../config'

export interface TlsOptions {
  tlsCertFile: string
  tlsKeyFile: string
}

export function loadTls(config: TlsOptions): { cert: string; key: string } | undefined {
  const { tlsCertFile, tlsKeyFile } = config
  if (tlsCertFile === '' && tlsKeyFile === '') return undefined
  if (tlsCertFile === '' || tlsKeyFile === '') throw new ConfigError('set both TLS_CERT_FILE and TLS_KEY_FILE, or neither')
  const cert = readPem('TLS_CERT_FILE', tlsCertFile, 'CERTIFICATE')
  const key = readPem('TLS_KEY_FILE', tlsKeyFile, 'PRIVATE KEY')
  return { cert, key }
}

function readPem(variable: string, path: string, label: string): string {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`${variable}=${path}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  // 'PRIVATE KEY' also matches 'RSA PRIVATE KEY' and 'EC PRIVATE KEY'.
  if (!new RegExp(`-----BEGIN [A-Z ]*${label}-----`).test(text)) throw new ConfigError(`${variable}=${path}: not a PEM ${label.toLowerCase()}`)
  return text
}
