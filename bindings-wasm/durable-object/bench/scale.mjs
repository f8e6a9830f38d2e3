// Scale bench (not a test): does the cost of an applied batch follow the batch or the
// number of counters? For 1 000, 100 000 and 1 000 000 distinct counters spread over 16
// shards (in workerd, SQLite-backed objects, persisted to a temporary directory), it fills
// the counters, then sends a stream of 100-increment batches and reports per applied batch
// the rows (`cursor.rowsWritten`) and bytes the global and the shard wrote, the publish of
// what the stream changed, the time the global takes to restore from its rows after the
// runtime restarted, the workerd process's peak memory, and whether every total is exact
// (all of them, read back page by page). It fails when a batch costs more than 2x at the
// largest size than at the smallest, or a total is wrong.
//
//   node bindings-wasm/durable-object/bench/scale.mjs [counters ...]   # default 1000 100000 1000000
//   node bindings-wasm/durable-object/bench/scale.mjs --smoke         # 1000 and 20000 (make test)
import { mkdtemp, rm } from "node:fs/promises";
import { readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startWorker } from "../dev/workerd.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SMOKE = process.argv.includes("--smoke");
const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const SIZES = args.length > 0 ? args.map(Number) : SMOKE ? [1_000, 20_000] : [1_000, 100_000, 1_000_000];
const SHARDS = 16;
const STREAM = SMOKE ? 8 : 32;
const FILL_CHUNK = 80_000;

const say = (line = "") => process.stdout.write(`${line}\n`);

/** Resident memory (MB) of the workerd processes this process started: `VmHWM` (peak) or `VmRSS`. */
function workerdMb(field = "VmHWM") {
  let kb = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!stat.includes("(workerd)") || ppid !== process.pid) continue;
      const value = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${entry}/status`, "utf8"));
      kb += Number(value?.[1] ?? 0);
    } catch {
      // The process ended while listing.
    }
  }
  return Math.round(kb / 1024);
}

function start(counters, persist) {
  return startWorker({
    entry: path.join(HERE, "scale-worker.js"),
    durableObjects: { SHARDS: { className: "ScaleShard", useSQLite: true }, GLOBAL: { className: "ScaleGlobal", useSQLite: true } },
    bindings: { COUNTERS: String(counters) },
    persist,
  });
}

async function call(worker, method, pathname, body) {
  const r = await worker.request(method, pathname, body);
  if (r.status !== 200) throw new Error(`${pathname}: ${r.status} ${r.text.slice(0, 500)}`);
  return r.json;
}

/**
 * A deterministic stream: batch b sends 100 increments of 100 distinct existing counters
 * (spread over the whole table) to shard b % 16.
 */
function streamKeys(counters, b) {
  const keys = new Set();
  for (let j = 0; keys.size < 100; j++) keys.add((b * 7919 + j * 104_729) % counters);
  return { n: b % SHARDS, keys: [...keys] };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(counters) {
  const dir = await mkdtemp(path.join(tmpdir(), "shardtally-scale-"));
  let worker = await start(counters, dir);
  try {
    let t = Date.now();
    for (let from = 0; from < counters; from += FILL_CHUNK) {
      await call(worker, "POST", "/fill", { from, to: Math.min(counters, from + FILL_CHUNK) });
      if (counters >= 100_000) say(`  ${counters}: filled ${Math.min(counters, from + FILL_CHUNK)} counters (${((Date.now() - t) / 1000).toFixed(0)} s)`);
    }
    const fillSeconds = (Date.now() - t) / 1000;
    const firstPublish = await call(worker, "POST", "/publish");

    const expected = new Map();
    const global = [];
    const shard = [];
    for (let b = 0; b < STREAM; b++) {
      const { n, keys } = streamKeys(counters, b);
      for (const i of keys) expected.set(i, (expected.get(i) ?? 1) + 1);
      const r = await call(worker, "POST", "/batch", { n, keys });
      if (r.batches !== 1) throw new Error(`batch ${b}: the global applied ${r.batches} batches`);
      global.push({ ...r.global, entries: keys.length });
      shard.push(r.shard);
    }
    const publish = await call(worker, "POST", "/publish");
    const stored = await call(worker, "GET", "/stats");
    const liveWasmMb = (await call(worker, "GET", "/memory")) / 2 ** 20;

    // Eviction: the runtime stops; the global restores from its rows on the next call.
    await worker.dispose();
    worker = null;
    worker = await start(counters, dir);
    await worker.request("GET", "/nothing");
    const idleMb = workerdMb("VmRSS");
    t = Date.now();
    const sample = await call(worker, "GET", "/total?key=c0");
    const firstCallMs = Date.now() - t;
    const restoredMb = workerdMb("VmRSS") - idleMb;
    const restoredWasmMb = (await call(worker, "GET", "/memory")) / 2 ** 20;
    const restored = await call(worker, "GET", "/stats");

    // Every total, read back page by page from the published rows.
    let wrong = 0;
    let seen = 0;
    let page = { next: null };
    do {
      page = await call(worker, "POST", "/page", { after: page.next, limit: 100_000 });
      for (const [k, total] of Object.entries(page.counters)) {
        seen += 1;
        if (Number(total) !== (expected.get(Number(k.slice(1))) ?? 1)) wrong += 1;
      }
    } while (page.next !== null);
    const exact = wrong === 0 && seen === counters && Number(sample) === (expected.get(0) ?? 1);
    return {
      counters,
      fillSeconds,
      globalRows: median(global.map((g) => g.rows)),
      globalBytes: median(global.map((g) => g.bytes)),
      entries: median(global.map((g) => g.entries)),
      shardRows: median(shard.map((s) => s.rows)),
      shardBytes: median(shard.map((s) => s.bytes)),
      publishRows: publish.rows,
      publishEntries: expected.size,
      firstPublishSeconds: firstPublish.ms / 1000,
      databaseMb: stored.global.databaseBytes / 1e6,
      loadMs: restored.global.loadMs,
      firstCallMs,
      restoredMb,
      liveWasmMb,
      restoredWasmMb,
      peakMb: workerdMb("VmHWM"),
      exact,
      wrong,
      seen,
    };
  } finally {
    await worker?.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

say(`shardtally Durable Object scale bench: ${SIZES.join(", ")} counters over ${SHARDS} shards, ${STREAM} batches of 100 increments each`);
const results = [];
for (const counters of SIZES) {
  const started = Date.now();
  const r = await measure(counters);
  results.push(r);
  say(`  ${counters}: done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

const pad = (v, n) => String(v).padStart(n);
say();
say("| counters | global rows / batch | global bytes / batch | shard rows / batch | shard bytes / batch | publish of the stream's changes (rows) | global restore (ms, in the object / first call) | workerd memory after the restore (MB more than idle) / peak | wasm memory (MB): live / after the restore | totals exact |");
say("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
for (const r of results) {
  say(
    `| ${pad(r.counters, 9)} | ${pad(r.globalRows, 5)} | ${pad(r.globalBytes, 7)} | ${pad(r.shardRows, 4)} | ${pad(r.shardBytes, 6)} | ${pad(`${r.publishRows} for ${r.publishEntries} counters`, 26)} | ${pad(`${r.loadMs} / ${r.firstCallMs}`, 13)} | ${pad(`${r.restoredMb} / ${r.peakMb}`, 11)} | ${pad(`${r.liveWasmMb.toFixed(0)} / ${r.restoredWasmMb.toFixed(0)}`, 9)} | ${r.exact ? `yes (${r.seen})` : `NO: ${r.wrong} wrong of ${r.seen}`} |`,
  );
}
const [small, large] = [results[0], results[results.length - 1]];
const rowRatio = large.globalRows / small.globalRows;
const byteRatio = large.globalBytes / small.globalBytes;
say();
say(`per applied batch (median of ${STREAM}, ~${small.entries} counters each), ${large.counters} vs ${small.counters} counters: rows ${rowRatio.toFixed(2)}x, bytes ${byteRatio.toFixed(2)}x (limit 2x)`);
say(`global database: ${results.map((r) => `${r.counters}: ${r.databaseMb.toFixed(1)} MB`).join("; ")}`);
say(`filling (seconds): ${results.map((r) => `${r.counters}: ${r.fillSeconds.toFixed(1)} + first publish ${r.firstPublishSeconds.toFixed(1)}`).join("; ")}`);
const failures = [];
if (rowRatio > 2 || byteRatio > 2) failures.push("a batch costs more than 2x at the largest size");
for (const r of results) if (!r.exact) failures.push(`totals at ${r.counters} counters are not exact`);
if (failures.length > 0) {
  say(`FAILED: ${failures.join("; ")}`);
  process.exit(1);
}
