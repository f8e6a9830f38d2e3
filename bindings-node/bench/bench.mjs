// ns per increment: a JS `Map` (the baseline) against shardtally's per-call and batch paths,
// measured in one process and reported as ratios.
//
//   node bench/bench.mjs            # full run (build the addon with `npm run build` first)
//   node bench/bench.mjs --smoke    # a few iterations: checks that every path still runs
//
// Workload: 100 keys, delta 1, the clock advancing 1 ms every 1000 increments (a server
// taking 1M increments per second). The shard runs with `flushAfterRequests: 0`, so batches
// are cut by time, as at that rate they would be; the last line shows the default options,
// where a batch is cut, delivered to a Global and acknowledged every 100 increments.
import { Shard, Global } from '../index.js'
import binding from '../binding.js'

const smoke = process.argv.includes('--smoke')
const KEYS = Array.from({ length: 100 }, (_, i) => `page:/article/${i}`)
const PER_MS = 1000
const ROUNDS = smoke ? 1 : 7

/** A case: `run(n)` performs n increments; measured in rounds interleaved with the others. */
const cases = []
function measure(run, n) {
  return { run, n }
}
const N = smoke ? 20_000 : 2_000_000
const results = []
let sink = 0

function add(name, c) {
  cases.push({ name, ...c })
}

add('JS Map: m.set(k, (m.get(k) ?? 0) + 1)', measure((n) => {
  const m = new Map()
  for (let i = 0; i < n; i++) {
    const k = KEYS[i % 100]
    m.set(k, (m.get(k) ?? 0) + 1)
  }
  sink += m.size
}, N))

const quiet = { flushAfterRequests: 0, flushAfterIdleMs: 0, flushMaxAgeMs: 0, maxPendingKeys: 1_000_000 }

add('shard.increment(key, 1, nowMs)', measure((n) => {
  const s = new Shard({ shard: 0, incarnation: 1, ...quiet })
  let now = 1
  for (let i = 0; i < n; i++) {
    if (i % PER_MS === 0) now++
    s.increment(KEYS[i % 100], 1, now)
  }
  sink += s.pendingKeys()
}, N))

// The same call on the native class, without the JavaScript buffer: what every call would
// cost if it crossed into native code (shown to explain the buffer).
add('native Shard.increment (no buffer)', measure((n) => {
  const options = { shard: 0, incarnation: 1, ...quiet }
  const s = new binding.Shard(Object.keys(options), Object.values(options))
  let now = 1
  for (let i = 0; i < n; i++) {
    if (i % PER_MS === 0) now++
    s.increment(KEYS[i % 100], 1, now)
  }
  sink += s.pendingKeys()
}, smoke ? N : N / 4))

const BATCH = 10_000
for (const size of [100, BATCH]) {
  add(`shard.incrementIds(Uint32Array, Float64Array), ${size} per call`, measure((n) => {
    const s = new Shard({ shard: 0, incarnation: 1, ...quiet })
    const idOf = KEYS.map((k) => s.intern(k))
    const ids = new Uint32Array(size)
    const deltas = new Float64Array(size).fill(1)
    for (let i = 0; i < size; i++) ids[i] = idOf[i % 100]
    let now = 1
    for (let done = 0; done < n; done += size) {
      s.incrementIds(ids, deltas, now++)
    }
    sink += s.pendingKeys()
  }, N))
}

add(`shard.incrementIds(Uint32Array, BigInt64Array), ${BATCH} per call`, measure((n) => {
  const s = new Shard({ shard: 0, incarnation: 1, ...quiet })
  const idOf = KEYS.map((k) => s.intern(k))
  const ids = new Uint32Array(BATCH)
  const deltas = new BigInt64Array(BATCH).fill(1n)
  for (let i = 0; i < BATCH; i++) ids[i] = idOf[i % 100]
  let now = 1
  for (let done = 0; done < n; done += BATCH) s.incrementIds(ids, deltas, now++)
  sink += s.pendingKeys()
}, N))

add('shard.increments({ key: delta, ... }), 100 keys per call', measure((n) => {
  const s = new Shard({ shard: 0, incarnation: 1, ...quiet })
  const record = Object.fromEntries(KEYS.map((k) => [k, 1]))
  let now = 1
  for (let done = 0; done < n; done += 100) s.increments(record, now++)
  sink += s.pendingKeys()
}, smoke ? N : N / 4))

add('shard.increment, default options, batches delivered', measure((n) => {
  const s = new Shard({ shard: 0, incarnation: 1 })
  const g = new Global({ persistAfterWrites: 0 })
  let now = 1
  for (let i = 0; i < n; i++) {
    if (i % PER_MS === 0) now++
    s.increment(KEYS[i % 100], 1, now)
    for (let b = s.pollOutput(); b !== null; b = s.pollOutput()) s.handleAck(g.handleBatch(b.bytes, now), now)
  }
  sink += Number(g.total(KEYS[0]))
}, smoke ? N : N / 4))

// Rounds interleave the cases, so a change in machine load hits all of them alike; each
// case keeps its best round.
for (const c of cases) c.run(Math.max(1, c.n / 10)) // warm-up
const best = cases.map(() => Infinity)
for (let r = 0; r < ROUNDS; r++) {
  cases.forEach((c, i) => {
    const t0 = process.hrtime.bigint()
    c.run(c.n)
    best[i] = Math.min(best[i], Number(process.hrtime.bigint() - t0) / c.n)
  })
}
cases.forEach((c, i) => results.push({ name: c.name, ns: best[i] }))

const map = results[0].ns
const width = Math.max(...results.map((r) => r.name.length))
console.log(`ns per increment (best of ${ROUNDS} interleaved rounds; node ${process.version}; ratio = ns / JS Map ns)`)
for (const r of results) {
  console.log(`${r.name.padEnd(width)}  ${r.ns.toFixed(2).padStart(8)} ns  ${(r.ns / map).toFixed(3).padStart(7)}x`)
}
if (sink < 0) console.log(sink)
