/** `herald topics [create NAME | delete NAME]` and `herald stats`: the REST topic and status routes. */
import { connectionOf, EXIT_OK, parseArgs, restCall, UsageError, writeLine } from './args'

export const TOPICS_USAGE = `Usage: herald topics [--json]          list topics and their subscriber counts
       herald topics create NAME
       herald topics delete NAME`

export async function topicsCommand(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { json: 'boolean' })
  const conn = connectionOf(flags, env)
  const [action, name, ...extra] = positionals
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`)
  if (action === undefined) {
    const body = (await restCall(conn, 'GET', '/topics')) as { topics: Array<{ name: string; subscribers: number }> }
    if (flags.json) await writeLine(JSON.stringify(body))
    else for (const t of body.topics) await writeLine(`${t.name}\t${t.subscribers} subscriber(s)`)
    return EXIT_OK
  }
  if (action !== 'create' && action !== 'delete') throw new UsageError(`unknown action '${action}' (create or delete)`)
  if (name === undefined) throw new UsageError(`topics ${action} needs a NAME`)
  if (action === 'create') await restCall(conn, 'POST', '/topics', { name })
  else await restCall(conn, 'DELETE', `/topics/${encodeURIComponent(name)}`)
  await writeLine(`${action === 'create' ? 'created' : 'deleted'} ${name}`)
  return EXIT_OK
}

export const STATS_USAGE = `Usage: herald stats [--json]
  Server health and per-topic counters (GET /health and GET /stats).`

export async function statsCommand(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { json: 'boolean' })
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`)
  const conn = connectionOf(flags, env)
  const [health, stats] = await Promise.all([restCall(conn, 'GET', '/health'), restCall(conn, 'GET', '/stats')])
  if (flags.json) {
    await writeLine(JSON.stringify({ health, stats }))
    return EXIT_OK
  }
  await writeLine(`uptime ${health.uptime_sec} s, ${health.connections} connection(s), ${health.topics} topic(s), ${health.subscribers} subscription(s)`)
  const rows = Object.entries(stats.topics as Record<string, Record<string, unknown>>)
  if (rows.length === 0) return EXIT_OK
  const columns = ['messages', 'subscribers', 'dropped', 'history', 'bytes', 'last_publish'] as const
  const table = [['topic', ...columns], ...rows.map(([name, t]) => [name, ...columns.map((c) => String(t[c] ?? '-'))])]
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)))
  for (const row of table) await writeLine(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd())
  return EXIT_OK
}
