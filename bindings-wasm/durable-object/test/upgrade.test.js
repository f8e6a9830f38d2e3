// Deploys that change what a stored state was written under: a shard whose key table grew
// under larger `maxPendingKeys` / `maxInternedKeys` restores after they were lowered
// (keeping the stored values, reported), or — when the stored values are unknown — fails
// with an error naming the settings; and the state an earlier version of the shim stored
// (one snapshot through the key-value API) moves into the tables.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { call, flushTree, startCounter } from "./counter-harness.js";

const dirs = [];
let worker;
after(async () => {
  await worker?.dispose();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const manual = { SHARD_COUNT: "3", FLUSH_AFTER_REQUESTS: "0", FLUSH_AFTER_IDLE_MS: "0", FLUSH_MAX_AGE_MS: "0", KV: "none" };
const keys = (prefix, n) => Array.from({ length: n }, (_, i) => [`${prefix}${i}`, 1]);

test("settings lowered between deploys: the shard restores with its stored bounds, or names them", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "shardtally-do-"));
  dirs.push(dir);
  const wide = { ...manual, SHARD_MAX_PENDING_KEYS: "100", SHARD_MAX_INTERNED_KEYS: "10" };
  worker = await startCounter(wide, dir);
  for (const n of [0, 1]) {
    // 60 keys used slots of the key table; 5 more stay pending.
    await call(worker, "POST", `/__test/shard/${n}/increments`, { entries: keys("k", 60) });
    assert.equal((await call(worker, "POST", `/__test/shard/${n}/flush`)).acknowledged, true);
    await call(worker, "POST", `/__test/shard/${n}/increments`, { entries: keys("p", 5) });
  }
  // Shard 1's state carries no record of its bounds (as an earlier version's would not).
  await call(worker, "POST", "/__test/shard/1/forget-bounds");
  await worker.dispose();
  worker = null;

  // Lowered: 1 + 2 * 10 + 16 = 37 slots fit the new bounds; the stored tables hold 65.
  const low = { ...manual, SHARD_MAX_PENDING_KEYS: "10", SHARD_MAX_INTERNED_KEYS: "1" };
  worker = await startCounter(low, dir);
  const v = await call(worker, "GET", "/__test/shard/0/view");
  assert.deepEqual(v.keptSettings, {
    maxPendingKeys: { configured: 10, kept: 100 },
    maxInternedKeys: { configured: 1, kept: 10 },
  });
  assert.equal(v.pending.length, 5, "the pending deltas are back");
  const failed = await worker.request("GET", "/__test/shard/1/view");
  assert.equal(failed.status, 500);
  assert.match(failed.json.message, /shard\.maxPendingKeys = 10, shard\.maxInternedKeys = 1/);
  assert.match(failed.json.message, /raise them again/);

  await call(worker, "POST", "/__test/shard/0/flush");
  const live = await call(worker, "GET", "/__test/live");
  assert.equal(live.k0, 2);
  assert.equal(live.p0, 1, "shard 0's restored pending deltas counted");
  await worker.dispose();
  worker = null;
});

test("the state of an earlier version (a key-value snapshot) moves into the tables", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "shardtally-do-"));
  dirs.push(dir);
  worker = await startCounter(manual, dir);
  await call(worker, "POST", "/__test/shard/2/increment", { name: "warmup" });
  await call(worker, "POST", "/__test/shard/2/seed-legacy", { incarnation: 77, entries: [["old", 4], ["older", 6]] });
  await worker.dispose();
  worker = null;

  worker = await startCounter(manual, dir);
  const v = await call(worker, "GET", "/__test/shard/2/view");
  assert.equal(v.incarnation, 77, "the earlier life goes on");
  assert.deepEqual(v.pending.map((p) => [p.key, p.delta]), [["old", 4], ["older", 6]]);
  assert.deepEqual(await call(worker, "GET", "/__test/shard/2/legacy-keys"), [], "the key-value entries are gone");
  // Two counters: small enough for one row (options.shardSnapshotRowBytes).
  assert.deepEqual(await call(worker, "GET", "/__test/shard/2/rows"), { snapshot: 1 }, "its state is in the tables");
  await flushTree(worker);
  const live = await call(worker, "GET", "/__test/live");
  assert.deepEqual([live.old, live.older], [4, 6]);
});
