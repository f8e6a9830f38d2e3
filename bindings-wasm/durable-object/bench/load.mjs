// Load script (not a test): increments/s through one shard object, and storage writes +
// alarm writes per 1000 increments, for the shim in both durability modes and for the
// baseline objects (bench/baseline.js, do-counter-sharding's per-increment design), in one
// workerd run.
//
//   node bindings-wasm/durable-object/bench/load.mjs [increments per round] [concurrency] [rounds]
//
// The load comes from inside workerd (a Worker calling the shard object by RPC, at most
// `concurrency` calls in flight), so HTTP between Node and workerd is not measured.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startWorker } from "../dev/workerd.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const N = Number(process.argv[2] ?? 5000);
const CONCURRENCY = Number(process.argv[3] ?? 32);
const ROUNDS = Number(process.argv[4] ?? 5);

const worker = await startWorker({
  entry: path.join(HERE, "worker.js"),
  durableObjects: {
    DURABLE_SHARDS: "DurableShard",
    DURABLE_GLOBAL: "DurableGlobal",
    BUFFERED_SHARDS: "BufferedShard",
    BUFFERED_GLOBAL: "BufferedGlobal",
    BASELINE_SHARDS: "BaselineShard",
    BASELINE_GLOBAL: "BaselineGlobal",
  },
  kvNamespaces: ["BENCH_KV"],
});

async function get(pathname) {
  const res = await worker.mf.dispatchFetch(`http://bench${pathname}`);
  if (res.status !== 200) throw new Error(`${pathname}: ${res.status} ${await res.text()}`);
  return res.json();
}

const results = {};
try {
  process.stdout.write(`load: ${N} increments per round, ${CONCURRENCY} in flight, ${ROUNDS} rounds per setup (median reported), one shard object (workerd via Miniflare)\n`);
  // Interleave the setups round by round so machine noise hits them alike. I/O counters
  // live in each object's memory (an evicted object starts again from zero), so each
  // round's writes are read just before and just after the round.
  const runs = { baseline: [], durable: [], buffered: [] };
  const fields = ["storageWrites", "alarmWrites", "globalCalls"];
  const sums = {};
  for (const setup of Object.keys(runs)) {
    sums[setup] = { shard: Object.fromEntries(fields.map((f) => [f, 0])), global: Object.fromEntries(fields.map((f) => [f, 0])) };
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const setup of Object.keys(runs)) {
      const before = await get(`/stats?setup=${setup}`);
      const { ms } = await get(`/run?setup=${setup}&n=${N}&concurrency=${CONCURRENCY}`);
      const after = await get(`/stats?setup=${setup}`);
      for (const side of ["shard", "global"]) {
        for (const f of fields) sums[setup][side][f] += (after[side][f] ?? 0) - (before[side][f] ?? 0);
      }
      runs[setup].push(ms);
      process.stdout.write(`  round ${round + 1} ${setup.padEnd(8)} ${String(Math.round((N / ms) * 1000)).padStart(6)} increments/s\n`);
    }
  }
  for (const [setup, times] of Object.entries(runs)) {
    const total = N * ROUNDS;
    const per1000 = (n) => (n / total) * 1000;
    const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
    const { shard, global } = sums[setup];
    const r = {
      rate: (N / median) * 1000,
      shard: { storage: per1000(shard.storageWrites), alarms: per1000(shard.alarmWrites) },
      global: { storage: per1000(global.storageWrites), alarms: per1000(global.alarmWrites) },
      calls: shard.globalCalls,
    };
    r.shard.writes = r.shard.storage + r.shard.alarms;
    r.system = r.shard.writes + r.global.storage + r.global.alarms;
    results[setup] = r;
  }
} finally {
  await worker.dispose();
}

const base = results.baseline;
const x = (a, b) => `${(a / b).toFixed(3)}x`;
process.stdout.write("\nper 1000 increments: storage + alarm writes of the shard object, and of shard + global\n");
process.stdout.write("setup       increments/s   vs baseline   shard object writes             vs baseline   shard + global   vs baseline   shard->global calls\n");
for (const [setup, r] of Object.entries(results)) {
  process.stdout.write(
    `${setup.padEnd(10)} ${String(Math.round(r.rate)).padStart(13)} ${x(r.rate, base.rate).padStart(13)}   ` +
      `${`${r.shard.writes.toFixed(1)} (${r.shard.storage.toFixed(1)} + ${r.shard.alarms.toFixed(1)} alarm)`.padEnd(30)}` +
      `${x(r.shard.writes, base.shard.writes).padStart(12)}   ${r.system.toFixed(1).padStart(14)} ${x(r.system, base.system).padStart(13)}   ${String(r.calls).padStart(19)}\n`,
  );
}
const goals = [
  ["durable throughput >= 2x baseline", results.durable.rate / base.rate >= 2],
  ["buffered throughput >= 2x baseline", results.buffered.rate / base.rate >= 2],
  ["durable shard writes <= 0.5x baseline", results.durable.shard.writes / base.shard.writes <= 0.5],
  ["buffered shard writes <= 0.02x baseline", results.buffered.shard.writes / base.shard.writes <= 0.02],
  ["durable shard + global writes <= 0.5x baseline", results.durable.system / base.system <= 0.5],
  ["buffered shard + global writes <= 0.02x baseline", results.buffered.system / base.system <= 0.02],
];
process.stdout.write("\n");
for (const [goal, met] of goals) process.stdout.write(`  ${met ? "met    " : "NOT MET"}  ${goal}\n`);
