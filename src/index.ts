#!/usr/bin/env bun
/** Entry point: `bun run src/index.ts [--flag value]...` or the compiled `herald` binary; `herald <subcommand> ...` for the tools. */
import { tokenCommand } from './cli/token'
import { ConfigError, helpText, loadConfig } from './config'
import { createLogger, redactConfig } from './log'
import { startHerald } from './server'

/** Subcommands: `herald <name> ...`; anything else starts the server. (No top-level await: `--bytecode` builds forbid it.) */
const subcommands: Record<string, (args: string[]) => Promise<never>> = { token: tokenCommand }

const argv = process.argv.slice(2)
const subcommand = argv[0] !== undefined && Object.hasOwn(subcommands, argv[0]) ? subcommands[argv[0]] : undefined
if (subcommand) void subcommand(argv.slice(1))
else serve(argv)

function serve(argv: string[]): void {
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
}
