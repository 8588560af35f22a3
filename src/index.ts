#!/usr/bin/env bun
/**
 * Entry point: `bun run src/index.ts [--flag value]...` or the compiled
 * `herald` binary. `herald CMD …` runs a subcommand (src/cli/commands.ts);
 * `herald`, `herald serve` or `herald --flag …` starts the server
 * (src/cli/serve.ts).
 */
import { commands, runCommand } from './cli/commands'
import { serve } from './cli/serve'

const argv = process.argv.slice(2)
const name = argv[0] !== undefined && Object.hasOwn(commands, argv[0]) ? argv[0] : undefined
// No top-level await: `npm run build` compiles with --bytecode, which does not allow it.
if (name === undefined) serve(argv)
else void runCommand(name, argv.slice(1)).then((code) => process.exit(code))
