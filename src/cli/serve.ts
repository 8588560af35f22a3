/** `herald [serve] [--flag value]...`: config from defaults < environment < flags, start, signals → graceful shutdown. */
import { ConfigError, helpText, loadConfig } from '../config'
import { createLogger, redactConfig } from '../log'
import { startHerald } from '../server'

/** Starts the server; returns once it listens (it runs until SIGTERM/SIGINT). Exits 2 on a bad option. */
export function serve(argv: readonly string[]): void {
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
