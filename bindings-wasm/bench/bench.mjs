// ns per increment of the WebAssembly package against a JS `Map` doing the same work in the
// same process, at 1, 100, 10 000 and 1 000 000 keys: the cases of bindings-js/bench/cases.mjs
// (per-call increments by key and by id, `incrementIds` batches, `increments({...})` per
// entry, and the end-to-end loop with batches delivered to a Global); then bytes per counter.
//
// Memory: bytes per counter of a shard (every key pending, nothing flushed) and of a global
// (every key merged from a shard in batches of 10 000, published and acknowledged, its
// changes taken), at 10 000 and 1 000 000 keys, each built in a fresh Node process that
// reports how much the module's WebAssembly memory grew (it only grows: the peak, rounded
// up to 64 KiB pages) over the number of keys. Baseline: the V8 heap growth (after a full
// GC) of a `Map` with the same keys. The key strings exist before the first reading, so a
// structure that keeps its own copy (the engine does, a `Map` does not) pays for it.
//
//   node bench/bench.mjs                   # full run (after scripts/build.sh)
//   node bench/bench.mjs --smoke           # 1 and 100 keys, memory at 10 000 keys
//   node bench/bench.mjs --sizes 100 --no-memory --json rows.json
//
// Rows are `{ op, lang: "wasm", keys, ns, baseline_ns, ratio }` and `{ op, lang, keys, bytes,
// key_bytes, baseline_bytes, ratio }` (scripts/bench.sh merges them with the other
// languages').
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Global, Shard } from 'shardtally-wasm'
// The module's own exports, for the size of its memory (`initSync` returns them once the
// package has initialised it).
import { initSync } from '../node_modules/shardtally-wasm/shardtally_wasm.js'
import { filledGlobal, keysOf, quiet, run } from '../../bindings-js/bench/cases.mjs'

const NOW = 1_700_000_000_000
const argv = process.argv.slice(2)

function build(structure, keys) {
  if (structure === 'map') return new Map(keys.map((k) => [k, 1]))
  if (structure === 'shard') {
    const s = new Shard(quiet(keys.length))
    for (const k of keys) s.increment(k, 1, NOW)
    if (s.pendingKeys() !== keys.length) throw new Error('not every key is pending')
    return s
  }
  const g = filledGlobal({ Shard, Global }, keys, { publishMode: 'changes', maxKeys: Math.max(keys.length, 100) })
  g.takeChanges()
  return g
}

function memoryChild(structure, n) {
  const keys = keysOf(n)
  const wasmBytes = () => initSync().memory.buffer.byteLength
  const heap = () => {
    // Twice: the first collection can leave garbage that the second one frees.
    globalThis.gc()
    globalThis.gc()
    return process.memoryUsage().heapUsed
  }
  const [before, heapBefore] = [wasmBytes(), heap()]
  const kept = build(structure, keys)
  const grown = structure === 'map' ? heap() - heapBefore : wasmBytes() - before
  console.log(JSON.stringify({ bytes: grown / n, alive: kept !== null }))
}

async function memory({ smoke }) {
  const rows = []
  for (const n of smoke ? [10_000] : [10_000, 1_000_000]) {
    const keyBytes = keysOf(n).reduce((sum, k) => sum + Buffer.byteLength(k), 0) / n
    const child = (structure) => {
      const out = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--memory-child', structure, String(n)], { encoding: 'utf8' })
      return JSON.parse(out).bytes
    }
    const base = child('map')
    for (const [structure, op] of [['shard', 'memory/shard_pending'], ['global', 'memory/global_totals']]) {
      const bytes = child(structure)
      rows.push({ op, lang: 'wasm', keys: n, bytes: r1(bytes), key_bytes: r1(keyBytes), baseline_bytes: r1(base), ratio: Math.round((bytes / base) * 1000) / 1000 })
    }
  }
  return rows
}

const r1 = (x) => Math.round(x * 10) / 10

const child = argv.indexOf('--memory-child')
if (child >= 0) {
  memoryChild(argv[child + 1], Number(argv[child + 2]))
} else {
  const extra = (opts) => (opts.memory ? memory(opts) : [])
  await run({ Shard, Global }, 'wasm', argv, { header: 'shardtally-wasm on ', extra })
}
