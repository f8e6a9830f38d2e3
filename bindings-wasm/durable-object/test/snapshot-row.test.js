// A small shard's state is stored as one row (its snapshot, `options.shardSnapshotRowBytes`):
// a write is then one row however many of its rows changed. Past the limit the state moves
// to its change rows, and back to one row once it is small again (after an acknowledgement);
// restarts in either layout restore it exactly, and a write that fails while switching
// leaves the stored layout as it was.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { MANUAL, call, flushTree, startCounter } from "./counter-harness.js";

const dirs = [];
let worker;
after(async () => {
  await worker?.dispose();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

// One shard, no flush but the test's, an 800-byte limit: 63 pending counters (~1.1 KB)
// are past it; once they are acknowledged, the keys the shard retains (~0.6 KB) are not.
const env = { ...MANUAL, SHARD_COUNT: "1", KV: "none", SHARD_SNAPSHOT_ROW_BYTES: "800" };

const shardStats = () => call(worker, "GET", "/__test/shard/0/stats");
const rows = () => call(worker, "GET", "/__test/shard/0/rows");
const pending = async () => Object.fromEntries((await call(worker, "GET", "/__test/shard/0/view")).pending.map((e) => [e.key, e.delta]));
const names = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, "0")}`);

async function restart(dir) {
  await worker.dispose();
  worker = await startCounter(env, dir);
}

test("a small shard writes one row per write; it moves to rows past the limit and back when small, restoring exactly in both", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "shardtally-do-"));
  dirs.push(dir);
  worker = await startCounter(env, dir);

  // Small: every durable write (one per call here) is one row.
  await call(worker, "POST", "/__test/shard/0/increment", { name: "a", delta: 1 });
  const before = await shardStats();
  for (let i = 0; i < 5; i++) {
    await call(worker, "POST", "/__test/shard/0/increments", { entries: [["a", 1], ["b", 2], ["c", 3]] });
  }
  const small = await shardStats();
  assert.equal(small.storageLayout, "snapshot");
  assert.equal(small.storageTransactions - before.storageTransactions, 5);
  assert.equal(small.storageWrites - before.storageWrites, 5, "one row per write");
  assert.deepEqual(await rows(), { snapshot: 1 }, "no engine rows beside the snapshot row");
  await restart(dir);
  assert.deepEqual(await pending(), { a: 6, b: 10, c: 15 }, "restored from the snapshot row");

  // 60 more counters of 6 bytes: past 800 bytes. The state moves to its rows in that write.
  const many = names("k", 60);
  await call(worker, "POST", "/__test/shard/0/increments", { entries: many.map((k) => [k, 1]) });
  const large = await shardStats();
  assert.equal(large.storageLayout, "rows");
  const stored = await rows();
  assert.equal(stored.snapshot, undefined, "the snapshot row went");
  assert.equal(stored.pending, 63, "every pending counter has its row");
  // Rows from here on: a write of one changed counter is a few rows, not the state.
  const one = await shardStats();
  await call(worker, "POST", "/__test/shard/0/increment", { name: "a", delta: 1 });
  const written = (await shardStats()).storageWrites - one.storageWrites;
  assert.ok(written >= 1 && written <= 3, `one counter's write in rows: ${written} rows`);
  await restart(dir);
  const restored = await pending();
  assert.equal(Object.keys(restored).length, 63);
  assert.deepEqual([restored.a, restored.b, restored["k-0059"]], [7, 10, 1], "restored from the rows");

  // Flushed and acknowledged: nothing pending or in flight; the acknowledgement's write
  // finds the state small again and stores it as one row.
  await flushTree(worker);
  await call(worker, "POST", "/__test/shard/0/increment", { name: "z", delta: 4 });
  assert.equal((await shardStats()).storageLayout, "snapshot");
  assert.deepEqual(await rows(), { snapshot: 1 }, "the rows went with the move back");
  await restart(dir);
  assert.deepEqual(await pending(), { z: 4 });
  await flushTree(worker);
  const live = await call(worker, "GET", "/__test/live");
  assert.deepEqual([live.a, live.b, live.c, live.z, live["k-0000"], live["k-0059"]], [7, 10, 15, 4, 1, 1], "every increment counted once");
});

test("a write that fails while the layout changes leaves the stored layout and state as they were", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "shardtally-do-"));
  dirs.push(dir);
  await worker?.dispose();
  worker = await startCounter(env, dir);
  await call(worker, "POST", "/__test/shard/0/increment", { name: "s", delta: 2 });
  assert.equal((await shardStats()).storageLayout, "snapshot");

  // The write that would move the state to rows fails: the caller gets STORAGE_FAILED and
  // the shard is back to the stored snapshot row.
  await call(worker, "POST", "/__test/shard/0/fail-writes", { after: 0 });
  const grow = names("g", 60).map((k) => [k, 1]);
  const failed = await worker.request("POST", "/__test/shard/0/increments", { entries: grow });
  assert.equal(failed.json.error, "STORAGE_FAILED");
  const s = await shardStats();
  assert.equal(s.storageLayout, "snapshot");
  assert.equal(s.rollbacks, 1);
  assert.deepEqual(await rows(), { snapshot: 1 });
  assert.deepEqual(await pending(), { s: 2 });

  // The retry is stored (in rows), and survives a restart.
  await call(worker, "POST", "/__test/shard/0/increments", { entries: grow });
  assert.equal((await shardStats()).storageLayout, "rows");
  await restart(dir);
  const restored = await pending();
  assert.equal(Object.keys(restored).length, 61);
  await flushTree(worker);
  const live = await call(worker, "GET", "/__test/live");
  assert.deepEqual([live.s, live["g-0000"], live["g-0059"]], [2, 1, 1]);
});
