// Storage follows the change, not the table (SPEC §1.8, §10): the objects write their
// engine's journal row by row, so a batch costs rows for its own counters whatever the
// number of counters stored; a `changes` publish writes only the changed counters'
// published rows; published totals page through their rows; the KV mirror stops beyond
// `kvMaxKeys`. And the shard's RPC for coalesced increments. The global is kept in the
// row layout here (`globalPackedRowBytes: 0`); its packed layout has packed-row.test.js.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { MANUAL, call, flushTree, startCounter } from "./counter-harness.js";

let worker;
before(async () => {
  worker = await startCounter({
    SHARD_COUNT: "2",
    ...MANUAL,
    PUBLISH_MODE: "changes",
    KV_MAX_KEYS: "1000",
    GLOBAL_PACKED_ROW_BYTES: "0",
  });
});
after(() => worker?.dispose());

const state = () => call(worker, "GET", "/__test/global/state");
const entries = (prefix, from, n, delta = 1) => Array.from({ length: n }, (_, i) => [`${prefix}${from + i}`, delta]);

/** Global rows and bytes written by one batch of `list` from shard 0. */
async function batchCost(list) {
  await call(worker, "POST", "/__test/shard/0/increments", { entries: list });
  const before = await state();
  assert.equal((await call(worker, "POST", "/__test/shard/0/flush")).acknowledged, true);
  const after = await state();
  return { rows: after.storageWrites - before.storageWrites, bytes: after.storageWriteBytes - before.storageWriteBytes };
}

test("a batch writes rows for its own counters, whatever the number of counters stored", async () => {
  const small = await batchCost(entries("c", 0, 20));
  // 4000 more counters at the global.
  await call(worker, "POST", "/__test/shard/1/increments", { entries: entries("big", 0, 4000) });
  await call(worker, "POST", "/__test/shard/1/flush");
  assert.equal((await state()).view.stats.totalWrites, 2);
  const large = await batchCost(entries("c", 0, 20));
  // Per entry: its total and its per-shard statistic; then the meta, dedup, per-shard
  // count and write-log rows.
  assert.ok(small.rows <= 2 * 20 + 6, `rows of a 20-counter batch: ${small.rows}`);
  assert.ok(large.rows <= small.rows + 2, `the same batch at 4020 counters: ${large.rows} rows (${small.rows} at 20)`);
  assert.ok(large.bytes <= small.bytes * 1.2, `bytes ${large.bytes} at 4020 counters, ${small.bytes} at 20`);
  const rows = await call(worker, "GET", "/__test/global/rows");
  assert.equal(rows.totals, 4020, "one stored row per counter");
});

test("a changes publish writes the changed counters' rows only; published totals page", async () => {
  await call(worker, "POST", "/__test/global/publish");
  const before = await state();
  await batchCost(entries("big", 10, 5, 2));
  const middle = await state();
  await call(worker, "POST", "/__test/global/publish");
  const after = await state();
  const publishRows = after.storageWrites - middle.storageWrites;
  // 5 published rows and the 5 totals' "unpublished" marks; the header, the engine's meta
  // and its publish in flight until KV answered (here: skipped), then its acknowledgement.
  assert.ok(publishRows <= 5 * 2 + 6, `a publish of 5 changed counters wrote ${publishRows} rows`);
  assert.equal(after.publishes, before.publishes + 1);

  let page = await call(worker, "POST", "/__test/published", { limit: 1500 });
  const seen = { ...page.counters };
  let pages = 1;
  while (page.next !== null) {
    page = await call(worker, "POST", "/__test/published", { after: page.next, limit: 1500 });
    Object.assign(seen, page.counters);
    pages += 1;
  }
  assert.equal(pages, 3);
  assert.equal(Object.keys(seen).length, 4020);
  assert.deepEqual([seen.big9, seen.big10, seen.big14, seen.c0], [1, 3, 3, 2]);
  const { json: live } = await worker.request("GET", "/global/counters");
  assert.deepEqual(seen, live, "the published rows equal the live totals");
});

test("the KV mirror stops beyond kvMaxKeys and says so", async () => {
  const g = await state();
  assert.ok(g.kvSkipped >= 1, "publishes of more than 1000 counters were not mirrored");
  assert.equal(g.lastKvError.code, "KV_TOO_MANY_KEYS");
  assert.deepEqual((await worker.request("GET", "/counters")).json, {}, "KV holds no partial copy");
});

test("a batch above the 2 MB value limit is stored in pieces, read back whole, and counts", async () => {
  // 12000 counters of 200 bytes: a batch of about 2.5 MB, one engine row.
  const long = (i) => `${"L".repeat(190)}-${String(i).padStart(6, "0")}`;
  const list = Array.from({ length: 12_000 }, (_, i) => [long(i), 1]);
  for (let i = 0; i < list.length; i += 3000) await call(worker, "POST", "/__test/shard/1/increments", { entries: list.slice(i, i + 3000) });
  // The global takes the batch but does not answer yet: it stays in flight at the shard.
  await call(worker, "POST", "/__test/global/hold", { mode: "before" });
  const cut = await call(worker, "POST", "/__test/shard/1/cut");
  assert.equal(cut.inFlight.entries.length, 12_000);
  const rows = await call(worker, "GET", "/__test/shard/1/rows");
  assert.equal(rows.in_flight, 1);
  assert.equal(rows["in_flight (pieces)"], 3, "the batch row went in 1 MiB pieces");
  // A failed write rolls the shard back to its rows: the batch in flight is read back whole.
  await call(worker, "POST", "/__test/shard/1/fail-writes", { after: 0 });
  assert.equal((await worker.request("POST", "/__test/shard/1/increment", { name: "after" })).json.error, "STORAGE_FAILED");
  const v = await call(worker, "GET", "/__test/shard/1/view");
  assert.equal(v.inFlight.entries.length, 12_000);
  await call(worker, "POST", "/__test/global/hold", { mode: null });
  await flushTree(worker);
  const live = await call(worker, "GET", "/__test/live");
  assert.deepEqual([live[long(0)], live[long(11_999)]], [1, 1]);
  const g = await call(worker, "GET", "/__test/global/rows");
  assert.equal(g["publish (pieces)"] ?? 0, 0, "the publish (2.5 MB, in pieces while in flight) was acknowledged");
});

test("incrementCoalesced takes a group of increments as one input and counts its requests", async () => {
  const before = await call(worker, "GET", "/__test/shard/1/stats");
  const r = await call(worker, "POST", "/__test/shard/1/coalesced", { entries: [["g", 3], ["h", 2]], requests: 5 });
  assert.deepEqual(r, { shard: 1, count: 5 });
  const after = await call(worker, "GET", "/__test/shard/1/stats");
  assert.deepEqual([after.requests - before.requests, after.coalescedCalls - before.coalescedCalls], [5, 1]);
  assert.equal(after.storageTransactions - before.storageTransactions, 1, "stored (durable mode) before it answered");
  const bad = await worker.request("POST", "/__test/shard/1/coalesced", { entries: [["g", 1]], requests: 0 });
  assert.equal(bad.json.error, "INVALID_ARGUMENT");
  const empty = await worker.request("POST", "/__test/shard/1/coalesced", { entries: [["", 1], ["g", 1]], requests: 2 });
  assert.equal(empty.json.error, "EMPTY_KEY", "validated as a whole");
  await flushTree(worker);
  const live = await call(worker, "GET", "/__test/live");
  assert.deepEqual([live.g, live.h], [3, 2]);
});
