// Per-increment cost of the wasm package against a plain JS `Map` counter in the same
// process, for each input path. Not a test: run with `node bench/bench.mjs` (after
// scripts/build.sh). Prints ns per increment and the ratio to the Map baseline.
import { Global, Shard } from 'shardtally-wasm';

const KEYS = Array.from({ length: 1000 }, (_, i) => `route:/api/v1/items/${i}`);
const N = Number(process.env.BENCH_N ?? 2_000_000);
const quiet = { flushAfterRequests: 0, flushAfterIdleMs: 0, flushMaxAgeMs: 0 };

/** Best of 5 runs of `fn(n)` (which performs n increments), in ns per increment. */
function measure(fn, n = N) {
  fn(Math.min(n, 50_000)); // warm up
  let best = Infinity;
  for (let run = 0; run < 5; run++) {
    const t0 = process.hrtime.bigint();
    fn(n);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / n);
  }
  return best;
}

const results = [];
const report = (name, ns) => results.push({ name, ns });

report('JS Map: map.set(key, map.get(key) + 1)', measure((n) => {
  const map = new Map();
  for (let i = 0; i < n; i++) {
    const k = KEYS[i % KEYS.length];
    map.set(k, (map.get(k) ?? 0) + 1);
  }
}));

report('shard.increment(key, 1, now)', measure((n) => {
  const s = new Shard({ shard: 0, incarnation: 1, ...quiet });
  for (let i = 0; i < n; i++) s.increment(KEYS[i % KEYS.length], 1, 0);
}));

report('shard.incrementId(id, 1, now)', measure((n) => {
  const s = new Shard({ shard: 0, incarnation: 1, ...quiet });
  const ids = KEYS.map((k) => s.intern(k));
  for (let i = 0; i < n; i++) s.incrementId(ids[i % ids.length], 1, 0);
}));

for (const size of [16, 1024]) {
  report(`shard.increments({...${size} keys}, now), per key`, measure((n) => {
    const s = new Shard({ shard: 0, incarnation: 1, ...quiet });
    const entries = Object.fromEntries(KEYS.slice(0, size).map((k) => [k, 1]));
    for (let i = 0; i < n; i += size) s.increments(entries, 0);
  }, N / 4));
  report(`shard.incrementIds(Uint32Array(${size}), Float64Array(${size}), now), per id`, measure((n) => {
    const s = new Shard({ shard: 0, incarnation: 1, ...quiet });
    const ids = new Uint32Array(size);
    for (let j = 0; j < size; j++) ids[j] = s.intern(KEYS[j % KEYS.length]);
    const deltas = new Float64Array(size).fill(1);
    for (let i = 0; i < n; i += size) s.incrementIds(ids, deltas, 0);
  }));
}

report('global.handleBatch (1000-key batch), per entry', measure((n) => {
  const g = new Global({ persistAfterWrites: 0, persistAfterIdleMs: 0, persistMaxAgeMs: 0, writeLogCapacity: 0 });
  const s = new Shard({ shard: 0, incarnation: 1, ...quiet });
  for (let i = 0; i < n; i += KEYS.length) {
    s.increments(Object.fromEntries(KEYS.map((k) => [k, 1])), i);
    s.flush(i);
    const batch = s.pollOutput();
    s.handleAck(g.handleBatch(batch.bytes, i).bytes, i);
  }
}, N / 10));

const base = results[0].ns;
console.log(`node ${process.version}, ${N} increments per run, best of 5, ${KEYS.length} distinct keys`);
for (const { name, ns } of results) {
  console.log(`${name.padEnd(72)} ${ns.toFixed(1).padStart(8)} ns   ${(ns / base).toFixed(2).padStart(6)}× Map`);
}
