#!/usr/bin/env bun
/**
 * Entry point: `bun run src/index.ts [--flag value]...` or the compiled
 * `herald` binary. `herald CMD …` runs a subcommand (src/cli/commands.ts);
 * `herald`, `herald serve` or `herald --flag …` starts the server.
 */
import { commands, runCommand } from './cli/commands'
import { ConfigError, helpText, loadConfig } from './config'
import { createLogger, redactConfig } from './log'
import { startHerald } from './server'

const argv = process.argv.slice(2)
if (argv[0] === 'serve') argv.shift()
else if (argv[0] !== undefined && Object.hasOwn(commands, argv[0])) process.exit(await runCommand(argv[0], argv.slice(1)))
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
const herald = startHerald(config, log)

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
