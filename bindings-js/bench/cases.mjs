// The benchmark cases of the Node and WebAssembly packages (one description, two runtimes;
// bindings-node/bench/bench.mjs and bindings-wasm/bench/bench.mjs run it over their own
// `Shard` and `Global`). Every case is timed against a JS `Map` doing the same work at the same
// size in the same process, at 1, 100, 10 000 and 1 000 000 keys (`/api/v1/resource/<i>`,
// visited in a scattered order: stride 7919), and reported in ns per increment (per entry
// for `increments`):
//
// - keyed_increment: `shard.increment(key, 1, nowMs)` against `m.set(k, m.get(k) + 1)`;
// - increment_id: `shard.incrementId(id, 1, nowMs)` (interned keys), same baseline;
// - increment_ids: `shard.incrementIds(Uint32Array, Float64Array, nowMs)`, 10 000 ids per
//   call, per id, same baseline;
// - increments: `shard.increments({ key: delta, ... }, nowMs)` of 100 distinct keys per call
//   (all of them when fewer), per entry, against merging the same objects into a `Map`;
// - end_to_end: `shard.increment` with default options (a batch every 100 increments), every
//   batch delivered to a `Global` with default options and acknowledged, every publish
//   acknowledged; the clock advances 1 ms every 1000 increments and the global holds every
//   key from the start; a fifth of the other cases' increments (20 000 above 10 000 keys:
//   every full publish then carries every key). Baseline: the keyed `Map` increment.
//
// The per-call cases use a shard whose flush triggers are off and that already holds every
// key. Rounds interleave the cases (a change in machine load hits all of them alike) and
// each keeps its best round, after a warm-up round. Each key count runs in a fresh process.
//
// Options: --smoke (1 and 100 keys, a few thousand increments: checks every case runs),
// --sizes 1,100 (key counts), --ops N (increments per case and round), --rounds N,
// --json PATH (writes the rows `{ op, lang, keys, ns, baseline_ns, ratio }`, plus the memory
// rows a runtime adds, for scripts/bench.sh).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const NOW = 1_700_000_000_000
const BATCH_IDS = 10_000
const PER_CALL = 100
const PER_MS = 1000

export const keysOf = (n) => Array.from({ length: n }, (_, i) => `/api/v1/resource/${i}`)
export const walk = (n, len) => Array.from({ length: len }, (_, i) => (i * 7919) % n)
const chunks = (items, size) => {
  const out = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

// Flush triggers off; the key limits at their defaults (100 000) or more: pending room for
// twice the key count, since the JavaScript buffer only holds as many distinct keys as the
// shard has room for (`coalescing_room`).
export const quiet = (n) => ({
  shard: 0,
  incarnation: 1,
  flushAfterRequests: 0,
  flushAfterIdleMs: 0,
  flushMaxAgeMs: 0,
  maxPendingKeys: Math.max(2 * n, 100_000),
  maxInternedKeys: Math.max(n, 100_000),
})

/** Acknowledges every publish the global has cut. */
export function drainGlobal(g, now) {
  for (let o = g.pollOutput(); o !== null; o = g.pollOutput()) {
    if (o.type === 'publish') g.handlePublishAck(o.version, now)
  }
}

/** Delivers every batch the shard has cut to the global and the acknowledgement back. */
export function deliver(s, g, now) {
  for (let b = s.pollOutput(); b !== null; b = s.pollOutput()) {
    s.handleAck(g.handleBatch(b, now), now)
    drainGlobal(g, now)
  }
}

/** A global that merged every key from a shard, in batches of 10 000. */
export function filledGlobal({ Shard, Global }, keys, options = {}) {
  const g = new Global(options)
  const feeder = new Shard(quiet(BATCH_IDS))
  for (const part of chunks(keys, BATCH_IDS)) {
    feeder.increments(Object.fromEntries(part.map((k) => [k, 1])), NOW)
    feeder.flush(NOW)
    deliver(feeder, g, NOW)
  }
  g.publish(NOW)
  drainGlobal(g, NOW)
  return g
}

/** `[op, engine, baseline]` for one key count; each run returns how many increments it made. */
function cases(api, n, ops) {
  const { Shard } = api
  const keys = keysOf(n)
  const stream = walk(n, ops).map((i) => keys[i])
  let sink = 0

  const keyedMap = () => {
    const m = new Map(keys.map((k) => [k, 0]))
    return () => {
      for (const k of stream) m.set(k, m.get(k) + 1)
      return stream.length
    }
  }

  const keyedShard = new Shard(quiet(n))
  for (const part of chunks(keys, BATCH_IDS)) keyedShard.increments(Object.fromEntries(part.map((k) => [k, 1])), NOW)
  const keyed = () => {
    for (const k of stream) keyedShard.increment(k, 1, NOW)
    return stream.length
  }

  const idShard = new Shard(quiet(n))
  const ids = keys.map((k) => idShard.intern(k))
  const idStream = stream.map((_, i) => ids[(i * 7919) % n])
  const ones = new Float64Array(BATCH_IDS).fill(1)
  for (const part of chunks(ids, BATCH_IDS)) idShard.incrementIds(Uint32Array.from(part), ones.subarray(0, part.length), NOW)
  const byId = () => {
    for (const id of idStream) idShard.incrementId(id, 1, NOW)
    return idStream.length
  }
  const idChunks = chunks(idStream, BATCH_IDS).map((c) => Uint32Array.from(c))
  const byIds = () => {
    for (const c of idChunks) idShard.incrementIds(c, c.length === BATCH_IDS ? ones : ones.subarray(0, c.length), NOW)
    return idStream.length
  }

  const records = chunks(stream, Math.min(PER_CALL, n)).map((c) => Object.fromEntries(c.map((k) => [k, 1])))
  const entries = records.reduce((sum, r) => sum + Object.keys(r).length, 0)
  const manyShard = new Shard(quiet(n))
  for (const part of chunks(keys, BATCH_IDS)) manyShard.increments(Object.fromEntries(part.map((k) => [k, 1])), NOW)
  const many = () => {
    for (const r of records) manyShard.increments(r, NOW)
    return entries
  }
  const mergeMap = new Map(keys.map((k) => [k, 0]))
  const manyMap = () => {
    for (const r of records) {
      for (const k in r) mergeMap.set(k, mergeMap.get(k) + r[k])
    }
    return entries
  }

  const g = filledGlobal(api, keys)
  const live = new Shard({ shard: 1, incarnation: 1 })
  const e2e = chunks(n <= 10_000 ? stream.slice(0, Math.max(1, Math.floor(ops / 5))) : stream.slice(0, 20_000), PER_MS)
  const e2eCount = e2e.reduce((sum, part) => sum + part.length, 0)
  let clock = NOW
  const endToEnd = () => {
    for (const part of e2e) {
      const now = ++clock
      for (const k of part) {
        live.increment(k, 1, now)
        deliver(live, g, now)
      }
    }
    sink += live.pendingKeys()
    return e2eCount
  }

  return {
    cases: [
      ['keyed_increment', keyed, keyedMap()],
      ['increment_id', byId, keyedMap()],
      ['increment_ids', byIds, keyedMap()],
      ['increments', many, manyMap],
      ['end_to_end', endToEnd, keyedMap()],
    ],
    sink: () => sink,
  }
}

function measure(api, lang, sizes, ops, rounds, warm) {
  const rows = []
  for (const n of sizes) {
    const { cases: list } = cases(api, n, ops)
    const best = list.map(() => [Infinity, Infinity])
    // Plain loops: a case called from a builtin's callback (forEach) made Node 20's V8 abort
    // now and then in a deoptimisation ("unreachable code" in DoComputeBuiltinContinuation).
    for (let r = 0; r < rounds + (warm ? 1 : 0); r++) {
      for (let i = 0; i < list.length; i++) {
        for (let j = 1; j <= 2; j++) {
          const run = list[i][j]
          const t0 = process.hrtime.bigint()
          const done = run()
          const ns = Number(process.hrtime.bigint() - t0) / done
          if (!warm || r > 0) best[i][j - 1] = Math.min(best[i][j - 1], ns)
        }
      }
    }
    list.forEach(([op], i) => {
      const [ns, base] = best[i]
      rows.push({ op, lang, keys: n, ns: round(ns, 3), baseline_ns: round(base, 3), ratio: round(ns / base, 3) })
    })
  }
  return rows
}

/**
 * Measures each size in a fresh process of this script (its own heap and JIT state: one
 * size's leftovers do not bill the next).
 */
function perSize(argv, sizes) {
  const rows = []
  const dir = mkdtempSync(join(tmpdir(), 'shardtally-bench-'))
  const rest = []
  for (let i = 0; i < argv.length; i++) {
    if (['--sizes', '--json'].includes(argv[i])) i++
    else rest.push(argv[i])
  }
  for (const n of sizes) {
    const json = join(dir, `${n}.json`)
    execFileSync(process.execPath, [process.argv[1], ...rest, '--no-memory', '--sizes', String(n), '--json', json], { stdio: ['ignore', 'ignore', 'inherit'] })
    rows.push(...JSON.parse(readFileSync(json, 'utf8')))
  }
  rmSync(dir, { recursive: true, force: true })
  return rows
}

const round = (x, digits) => Math.round(x * 10 ** digits) / 10 ** digits

/** Parses the options shared by both benches. */
export function options(argv) {
  const value = (name) => {
    const i = argv.indexOf(name)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const smoke = argv.includes('--smoke')
  const sizes = value('--sizes')?.split(',').map(Number) ?? (smoke ? [1, 100] : [1, 100, 10_000, 1_000_000])
  return {
    smoke,
    sizes,
    ops: Number(value('--ops') ?? (smoke ? 2_000 : 1_000_000)),
    rounds: Number(value('--rounds') ?? (smoke ? 1 : 5)),
    json: value('--json'),
    memory: !argv.includes('--no-memory'),
  }
}

/**
 * Runs the timed cases over `api` (`{ Shard, Global }`), then `extra()` (more rows, e.g.
 * memory), prints the table and writes the JSON when asked.
 */
export async function run(api, lang, argv, { header = '', extra = async () => [] } = {}) {
  const opts = options(argv)
  const rows = opts.sizes.length > 1 && !opts.smoke ? perSize(argv, opts.sizes) : measure(api, lang, opts.sizes, opts.ops, opts.rounds, !opts.smoke)
  rows.push(...(await extra(opts)))
  console.log(`${header}node ${process.version}: ${opts.ops} increments per case, best of ${opts.rounds}; baseline: JS Map`)
  console.log(`${'operation'.padEnd(22)} ${'keys'.padStart(9)} ${'ns/op'.padStart(9)} ${'Map ns'.padStart(9)} ${'ratio'.padStart(7)}`)
  for (const r of rows) {
    if ('ns' in r) {
      console.log(`${r.op.padEnd(22)} ${String(r.keys).padStart(9)} ${r.ns.toFixed(2).padStart(9)} ${r.baseline_ns.toFixed(2).padStart(9)} ${r.ratio.toFixed(2).padStart(6)}x`)
    } else {
      console.log(`${r.op.padEnd(22)} ${String(r.keys).padStart(9)} ${`${r.bytes.toFixed(1)}B`.padStart(9)} ${`${r.baseline_bytes.toFixed(1)}B`.padStart(9)} ${r.ratio.toFixed(2).padStart(6)}x  (keys ${r.key_bytes.toFixed(1)} B)`)
    }
  }
  if (opts.json) writeFileSync(opts.json, `${JSON.stringify(rows)}\n`)
  return rows
}
