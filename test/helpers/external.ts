/**
 * Tests that need an outside program (redis-server, chromium) run when it is
 * there, are skipped with one printed line when it is not, and fail when `CI`
 * is set: CI installs what the tests need (.ci/run), so a missing program
 * there is a broken CI, not a reason to skip.
 */
import { test } from 'bun:test'

/** The absolute path of `program` on PATH (or as given, when absolute and present), else undefined. */
export function findProgram(program: string): string | undefined {
  return Bun.which(program) ?? undefined
}

/**
 * Returns true when the tests of this file may run. When `available` is false:
 * with CI set, registers one failing test naming what is missing; otherwise
 * prints one line saying how to run them, and returns false.
 */
export function requireExternal(what: string, available: boolean, howToInstall: string): boolean {
  if (available) return true
  if (process.env.CI) {
    test(`${what} is available (required when CI is set)`, () => {
      throw new Error(`${what} is missing: ${howToInstall}`)
    })
  } else {
    console.log(`skipped: tests that need ${what} (${howToInstall})`)
  }
  return false
}
