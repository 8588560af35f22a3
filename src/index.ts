#!/usr/bin/env bun
/** Entry point: `bun run src/index.ts [--flag value]...` or the compiled `herald` binary. */
import { tokenCommand } from './cli/token'
import { ConfigError, helpText, loadConfig } from './config'
import { createLogger, redactConfig } from './log'
import { startHerald } from './server'

const argv = process.argv.slice(2)
/** Subcommands: `herald <name> ...`; anything else starts the server. */
const subcommands: Record<string, (args: string[]) => Promise<never>> = { token: tokenCommand }
const subcommand = argv[0] !== undefined ? subcommands[argv[0]] : undefined
if (subcommand) await subcommand(argv.slice(1))

if (argv.includes('--help') || argv.includes('-h')) {
  console.log(helpText())
  process.exit(0)
}

let config
try {
  config = loadConfig(process.env, argv)
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  console.error(`herald: ${error.message}`)
  process.exit(2)
}

const log = createLogger(config.logLevel, { format: config.logFormat })
log.info('config', redactConfig(config))
let herald
try {
  herald = startHerald(config, log)
} catch (error) {
  // A TLS or token key file that is missing, unreadable or unusable: found before listening.
  if (!(error instanceof ConfigError)) throw error
  console.error(`herald: ${error.message}`)
  process.exit(2)
}

for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.on(signal, () => {
    log.info('signal', { signal })
    herald.shutdown().then(
      () => process.exit(0),
      (error) => {
        log.error('shutdown_failed', { message: String(error) })
        process.exit(1)
      },
    )
  })
