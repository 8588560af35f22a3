/**
 * The subcommands of the herald binary: one row each. `herald` alone, or
 * `herald serve`, or `herald --flag …`, starts the server (src/index.ts).
 * Every row's `run` returns the exit code; `runCommand` maps the two error
 * kinds of args.ts (and the SDK's HeraldError) to exit codes 2 and 1.
 */
import { HeraldError } from '../client'
import { COMMON_USAGE, EXIT_OK, EXIT_SERVER, EXIT_USAGE, exitOnClosedStdout, ServerError, UsageError } from './args'
import { BENCH_USAGE, benchCommand } from './bench'
import { PUB_USAGE, pubCommand } from './pub'
import { serve } from './serve'
import { SUB_USAGE, subCommand } from './sub'
import { TOKEN_USAGE, tokenCommand } from './token'
import { STATS_USAGE, TOPICS_USAGE, statsCommand, topicsCommand } from './topics'

export interface Command {
  /** One line for `herald help`. */
  summary: string
  usage: string
  /** Resolves with the exit code (a command may also exit the process itself). */
  run(args: string[], env: Record<string, string | undefined>): Promise<number>
  /** False for a command without the client flags (--url, --api-key, --token). Default true. */
  clientFlags?: boolean
  /** True when the command prints its own --help (serve: the server's option table). */
  ownHelp?: boolean
}

const SERVE_USAGE = `Usage: herald [serve] [--flag value]...
  Starts the server. Every option is a flag and an environment variable: herald --help lists them.`

export const commands: Record<string, Command> = {
  // Never resolves: the server runs until a signal ends the process.
  serve: { summary: 'start the server (the default; herald --help lists its options)', usage: SERVE_USAGE, run: (args) => (serve(args), new Promise<number>(() => {})), clientFlags: false, ownHelp: true },
  pub: { summary: 'publish a message, or one per stdin line', usage: PUB_USAGE, run: pubCommand },
  sub: { summary: 'print the events of a topic; reconnects and resumes', usage: SUB_USAGE, run: subCommand },
  topics: { summary: 'list, create or delete topics', usage: TOPICS_USAGE, run: topicsCommand },
  stats: { summary: 'server health and per-topic counters', usage: STATS_USAGE, run: statsCommand },
  token: { summary: 'mint an HS256 user token from TOKEN_HMAC_SECRET (development and tests)', usage: TOKEN_USAGE, run: tokenCommand, clientFlags: false, ownHelp: true },
  bench: { summary: 'measure publishes/s, deliveries/s and latency against a running server', usage: BENCH_USAGE, run: benchCommand },
  help: { summary: 'help for a command: herald help CMD', usage: 'Usage: herald help [CMD]', run: async (args) => help(args), clientFlags: false },
}

function usageOf(name: string): string {
  const command = commands[name]!
  return command.clientFlags === false ? command.usage : `${command.usage}\n${COMMON_USAGE}`
}

function help(args: string[]): number {
  const [name, ...extra] = args
  if (name === undefined) {
    const width = Math.max(...Object.keys(commands).map((n) => n.length))
    const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`)
    console.log(['Usage: herald [CMD] [args]   (no CMD: start the server)', '', 'Commands:', ...lines, '', 'herald help CMD prints the usage of CMD.'].join('\n'))
    return EXIT_OK
  }
  if (extra.length > 0 || !(name in commands)) {
    console.error(`herald help: unknown command '${[name, ...extra].join(' ')}' (commands: ${Object.keys(commands).join(', ')})`)
    return EXIT_USAGE
  }
  console.log(usageOf(name))
  return EXIT_OK
}

/** Runs `herald NAME args…` and resolves with its exit code; messages go to stderr. */
export async function runCommand(name: string, args: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const command = commands[name]
  if (!command) throw new Error(`no command '${name}'`)
  if (name !== 'help' && !command.ownHelp && (args.includes('--help') || args.includes('-h'))) {
    console.log(usageOf(name))
    return EXIT_OK
  }
  exitOnClosedStdout()
  try {
    return await command.run(args, env)
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`herald ${name}: ${error.message}\n${usageOf(name)}`)
      return EXIT_USAGE
    }
    if (error instanceof ServerError) console.error(`herald ${name}: ${error.message}`)
    else if (error instanceof HeraldError) console.error(`herald ${name}: ${error.code}: ${error.message}`)
    else console.error(`herald ${name}: ${error instanceof Error ? error.message : String(error)}`)
    return EXIT_SERVER
  }
}
