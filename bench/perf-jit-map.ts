/**
 * Turns the JIT dumps JSC writes (BUN_JSC_useJITDump=1, into
 * BUN_JSC_jitDumpDirectory) into the perf map files `perf report` and
 * `perf script` read (/tmp/perf-<pid>.map), so that samples in a server's
 * JIT-compiled JavaScript carry the function's name and tier
 * ("JSC-FTL: cast#B7JHdK") instead of an address (issue 11, "Ninth pass" in
 * docs/performance.md). `perf inject --jit` does not match these files (JSC
 * names them jit-<tid>-<pid>.dump); the map needs no injection.
 *
 *   BUN_JSC_useJITDump=1 BUN_JSC_jitDumpDirectory=/tmp/jd perf record -g -a -o /tmp/perf.data -- bun run bench/run.ts …
 *   bun bench/perf-jit-map.ts /tmp/jd        # writes /tmp/perf-<pid>.map for every dump in /tmp/jd
 *
 * The format is Linux perf's jitdump (tools/perf/Documentation/jitdump-specification.txt):
 * a header, then records; only JIT_CODE_LOAD (id 0) names code. Code that
 * JSC later frees and reuses keeps its first name here (no JIT_CODE_MOVE
 * handling): fine for the seconds of a benchmark run.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const MAGIC = 0x4a695444 // "JiTD", as written on a little-endian machine
const JIT_CODE_LOAD = 0

export interface JitCode {
  address: bigint
  size: bigint
  name: string
}

/** The process id in a jitdump's header and the code it loaded. */
export function readJitDump(bytes: Uint8Array): { pid: number; code: JitCode[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(0, true) !== MAGIC) throw new Error('not a jitdump (bad magic)')
  const headerSize = view.getUint32(8, true)
  const pid = view.getUint32(20, true)
  const code: JitCode[] = []
  const decoder = new TextDecoder()
  // Each record: id u32, total size u32, timestamp u64, then its body.
  for (let at = headerSize; at + 16 <= bytes.byteLength; ) {
    const id = view.getUint32(at, true)
    const size = view.getUint32(at + 4, true)
    if (size < 16 || at + size > bytes.byteLength) break // a record cut short: the process was killed while writing
    if (id === JIT_CODE_LOAD) {
      // Body: pid u32, tid u32, vma u64, code_addr u64, code_size u64, code_index u64, name (NUL-terminated), code.
      const nameAt = at + 16 + 40
      const nameEnd = bytes.indexOf(0, nameAt)
      code.push({ address: view.getBigUint64(at + 16 + 16, true), size: view.getBigUint64(at + 16 + 24, true), name: decoder.decode(bytes.subarray(nameAt, nameEnd)) })
    }
    at += size
  }
  return { pid, code }
}

/** perf's map format: one `START SIZE name` line per piece of code, hexadecimal without 0x. */
export function perfMap(code: JitCode[]): string {
  return code.map((c) => `${c.address.toString(16)} ${c.size.toString(16)} ${c.name}\n`).join('')
}

if (import.meta.main) {
  const dir = process.argv[2]
  if (!dir) {
    console.error('usage: bun bench/perf-jit-map.ts <BUN_JSC_jitDumpDirectory>')
    process.exit(2)
  }
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.dump'))) {
    const { pid, code } = readJitDump(readFileSync(join(dir, file)))
    const out = `/tmp/perf-${pid}.map`
    writeFileSync(out, perfMap(code))
    console.log(`${file}: ${code.length} pieces of code -> ${out}`)
  }
}
