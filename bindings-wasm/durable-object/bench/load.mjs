// Load script (not a test): increments sent over HTTP to the Worker routes in workerd, for
// the shim in both durability modes and for the baseline (bench/baseline.js,
// do-counter-sharding's design: one storage write per increment), in one workerd process.
// It reports, per increment, the CPU time the workerd process spent (utime + stime of
// /proc/<pid>/stat, read before and after each round), the rate, and the billed writes
// (storage + alarm writes per 1000 increments, of the shard objects and of shards + global).
//
//   node bindings-wasm/durable-object/bench/load.mjs [increments per round] [concurrency] [rounds]
//   node bindings-wasm/durable-object/bench/load.mjs --smoke     # a small run; checks totals
//
// Environment: SHARD_COUNT (default 4), COALESCE=0 (the shim without Worker-side coalescing),
// COALESCE_WINDOW_MS (the shim's `coalesceWindowMs`, default 1).
// The requests go to a socket served directly by the Worker (Miniflare's
// `unsafeDirectSockets`), as in a deployment; Miniflare's own entry Worker, which its
// `dispatchFetch` goes through, costs ~0.25 ms of workerd CPU per request by itself.
// Each client is a keep-alive HTTP connection from this Node process (not counted).
import { readFileSync, readdirSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { COMPATIBILITY_DATE, bundleWorker } from "../dev/workerd.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SMOKE = process.argv.includes("--smoke");
const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const N = Number(args[0] ?? (SMOKE ? 300 : 5000));
const CONCURRENCY = Number(args[1] ?? 32);
const ROUNDS = Number(args[2] ?? (SMOKE ? 1 : 5));
const SHARD_COUNT = Number(process.env.SHARD_COUNT ?? 4);
const KEYS = 4;
const SETUPS = ["baseline", "durable", "buffered"];
const CLOCK_TICKS_MS = 1000 / 100; // USER_HZ is 100 on Linux

const out = (line = "") => process.stdout.write(`${line}\n`);

/** The workerd processes this process started (Miniflare spawns one). */
function workerdPids() {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (stat.includes("(workerd)") && Number(fields[1]) === process.pid) pids.push(Number(entry));
    } catch {
      // The process ended while listing.
    }
  }
  return pids;
}

/** CPU time (ms, user + system, all threads) the workerd processes used so far. */
function cpuMs(pids) {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * CLOCK_TICKS_MS;
}

const modules = await bundleWorker(path.join(HERE, "worker.js"));
const sqlite = (className) => ({ className, useSQLite: true });
const mf = new Miniflare({
  compatibilityDate: COMPATIBILITY_DATE,
  cf: false,
  modulesRoot: path.dirname(modules[0].path),
  modules,
  durableObjects: {
    DURABLE_SHARDS: sqlite("DurableShard"),
    DURABLE_GLOBAL: sqlite("DurableGlobal"),
    BUFFERED_SHARDS: sqlite("BufferedShard"),
    BUFFERED_GLOBAL: sqlite("BufferedGlobal"),
    BASELINE_SHARDS: sqlite("BaselineShard"),
    BASELINE_GLOBAL: sqlite("BaselineGlobal"),
  },
  kvNamespaces: ["BENCH_KV"],
  bindings: { SHARD_COUNT: String(SHARD_COUNT), COALESCE: process.env.COALESCE ?? "1", COALESCE_WINDOW_MS: process.env.COALESCE_WINDOW_MS ?? "" },
  unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
});
await mf.ready;
const base = await mf.unsafeGetDirectURL();
const pids = workerdPids();
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function request(method, pathname, retried = false) {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(pathname, base), { method, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", (error) => {
      // A kept-alive connection the server closed while idle: the request never reached
      // it, so it is sent again (once) on a new connection.
      if (!retried && req.reusedSocket && error.code === "ECONNRESET") resolve(request(method, pathname, true));
      else reject(error);
    });
    req.end();
  });
}

async function get(pathname, method = "GET") {
  const res = await request(method, pathname);
  if (res.status !== 200) throw new Error(`${method} ${pathname}: ${res.status} ${res.text}`);
  return JSON.parse(res.text);
}

/** `n` increments of KEYS counters, `CONCURRENCY` in flight. */
async function burst(setup, n) {
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, n) }, async () => {
      while (next < n) {
        const i = next++;
        let res;
        try {
          res = await request("POST", `/${setup}/increment/k${i % KEYS}`);
        } catch (error) {
          res = { status: error.code ?? "error", text: error.message };
        }
        if (res.status !== 200) {
          failed += 1;
          if (failed === 1) out(`  ${setup}: ${res.status} ${res.text}`);
        }
      }
    }),
  );
  if (failed > 0) out(`  ${setup}: ${failed} of ${n} increments failed (not counted as sent)`);
  return n - failed;
}

const results = {};
let exact = true;
try {
  if (pids.length === 0) throw new Error("no workerd process found under this process (is /proc readable?)");
  out(`load: ${N} increments per round over HTTP, ${CONCURRENCY} in flight, ${ROUNDS} round(s) per setup (median reported), ${SHARD_COUNT} shards, workerd via Miniflare (direct socket)`);
  const sent = Object.fromEntries(SETUPS.map((s) => [s, 0]));
  // Start-up (objects, the engine module) is not part of the timing.
  for (const setup of SETUPS) sent[setup] += await burst(setup, Math.min(200, N));
  const runs = Object.fromEntries(SETUPS.map((s) => [s, { cpu: [], rate: [] }]));
  const sums = Object.fromEntries(SETUPS.map((s) => [s, { shard: 0, global: 0, n: 0, calls: 0 }]));
  // Setups interleave round by round so machine noise hits them alike. I/O counters live
  // in each object's memory, so each round's writes are read just before and after it.
  for (let round = 0; round < ROUNDS; round++) {
    for (const setup of SETUPS) {
      const before = await get(`/stats?setup=${setup}`);
      const cpu0 = cpuMs(pids);
      const t0 = performance.now();
      const accepted = await burst(setup, N);
      const ms = performance.now() - t0;
      const cpu = cpuMs(pids) - cpu0;
      const after = await get(`/stats?setup=${setup}`);
      sent[setup] += accepted;
      const w = (s) => Number(s?.storageWrites ?? 0) + Number(s?.alarmWrites ?? 0);
      sums[setup].shard += w(after.shard) - w(before.shard);
      sums[setup].global += w(after.global) - w(before.global);
      sums[setup].calls += Number(after.shard.calls ?? 0) - Number(before.shard.calls ?? 0);
      sums[setup].n += N;
      runs[setup].cpu.push(cpu / N);
      runs[setup].rate.push((N / ms) * 1000);
      out(`  round ${round + 1} ${setup.padEnd(8)} ${(cpu / N).toFixed(3)} ms CPU per increment, ${String(Math.round((N / ms) * 1000)).padStart(6)} increments/s`);
    }
  }
  const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
  for (const setup of SETUPS) {
    const s = sums[setup];
    results[setup] = {
      cpu: median(runs[setup].cpu),
      rate: median(runs[setup].rate),
      shardWrites: (s.shard / s.n) * 1000,
      systemWrites: ((s.shard + s.global) / s.n) * 1000,
      perCall: s.calls > 0 ? s.n / s.calls : null,
      writesPerCall: s.calls > 0 ? s.shard / s.calls : null,
    };
  }

  // Every increment answered 200 is counted exactly once: flush and compare the totals.
  for (const setup of SETUPS) {
    let total = null;
    for (let attempt = 0; attempt < 50; attempt++) {
      await get(`/flush?setup=${setup}`, "POST");
      ({ total } = await get(`/stats?setup=${setup}`));
      if (total === sent[setup]) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const ok = total === sent[setup];
    exact &&= ok;
    out(`  totals ${setup.padEnd(8)} sent ${sent[setup]}, counted ${total}: ${ok ? "exact" : "DIFFERENT"}`);
  }
} finally {
  agent.destroy();
  await mf.dispose();
}

const b = results.baseline;
const x = (a, r) => `${(a / r).toFixed(3)}x`;
out();
out("per increment: workerd CPU (all threads); per 1000 increments: storage + alarm writes");
out("setup      CPU ms/increment  vs baseline  increments/s  vs baseline  shard writes  vs baseline  shard+global  vs baseline");
for (const [setup, r] of Object.entries(results)) {
  out(
    `${setup.padEnd(10)} ${r.cpu.toFixed(3).padStart(16)} ${x(r.cpu, b.cpu).padStart(12)} ${String(Math.round(r.rate)).padStart(13)} ${x(r.rate, b.rate).padStart(12)}` +
      ` ${r.shardWrites.toFixed(1).padStart(13)} ${x(r.shardWrites, b.shardWrites).padStart(12)} ${r.systemWrites.toFixed(1).padStart(13)} ${x(r.systemWrites, b.systemWrites).padStart(12)}`,
  );
}
for (const [setup, r] of Object.entries(results)) {
  if (r.perCall !== null) {
    out(`${setup}: ${r.perCall.toFixed(1)} increments per shard call (coalesced in the Worker), ${r.writesPerCall.toFixed(2)} shard writes per call`);
  }
}
const goals = [
  ["durable: workerd CPU <= 0.1 ms per increment", results.durable.cpu <= 0.1],
  ["buffered: workerd CPU <= 0.1 ms per increment", results.buffered.cpu <= 0.1],
  ["durable: shard writes <= 0.2x baseline", results.durable.shardWrites / b.shardWrites <= 0.2],
  ["durable: shard + global writes <= 0.2x baseline", results.durable.systemWrites / b.systemWrites <= 0.2],
  ["buffered: shard writes <= 0.02x baseline", results.buffered.shardWrites / b.shardWrites <= 0.02],
  ["buffered: shard + global writes <= 0.02x baseline", results.buffered.systemWrites / b.systemWrites <= 0.02],
  ["every accepted increment counted exactly once", exact],
];
out();
for (const [goal, met] of goals) out(`  ${met ? "met    " : "NOT MET"}  ${goal}`);
if (SMOKE) {
  // The smoke run (make test) is too small for the figures; it checks that the script
  // runs end to end and that the totals are exact.
  if (!exact) {
    out("load smoke FAILED: totals differ from the increments sent");
    process.exitCode = 1;
  }
}
