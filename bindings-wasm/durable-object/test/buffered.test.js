// Buffered durability: state is written only when a batch is handed to the global (and
// once when a shard life starts); a restart loses exactly the increments accepted since the
// last flush (the documented loss window) and nothing already flushed; the shard goes on
// with the same life. A reset notice is stored at once, so it survives the restart.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { call, settle, startCounter, stats } from "./counter-harness.js";

const dirs = [];
let worker;
after(async () => {
  await worker?.dispose();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const env = { DURABILITY: "buffered", STRATEGY: "hash", FLUSH_AFTER_REQUESTS: "50", FLUSH_AFTER_IDLE_MS: "60000", FLUSH_MAX_AGE_MS: "0" };

test("buffered shards write once per flush and lose only unflushed increments on a restart", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "shardtally-do-"));
  dirs.push(dir);
  worker = await startCounter(env, dir);
  let n;
  for (let i = 0; i < 120; i++) {
    const r = await worker.request("POST", "/increment/orders");
    assert.equal(r.status, 200);
    n = r.json.shard;
  }
  const s = await stats(worker);
  const shard = s.shards[n];
  assert.equal(shard.globalCalls, 2, "two flushes (at 50 and 100 requests)");
  assert.equal(shard.storageTransactions, 1 + 2, "the life's start (with the object's name), then one write per flush; none per increment");
  assert.ok(shard.storageWrites <= 4 + 2 * 6, `a few rows per write (${shard.storageWrites})`);
  assert.deepEqual(s.views[n].pending.map((p) => [p.key, p.delta]), [["orders", 20]]);
  const incarnation = s.views[n].incarnation;
  assert.ok(Number.isSafeInteger(Number(incarnation)));
  await worker.dispose();
  worker = null;

  worker = await startCounter(env, dir);
  let { json: live } = await worker.request("GET", "/global/counters");
  assert.equal(live.orders, 100, "flushed increments survive; the 20 unflushed ones are the loss window");
  const restarted = await stats(worker);
  assert.ok(restarted.shards[n].restored, "the shard restored its last flushed state");
  assert.equal(restarted.views[n].incarnation, incarnation, "same life: its batches keep their sequence");
  assert.deepEqual(restarted.views[n].pending, []);

  for (let i = 0; i < 10; i++) await worker.request("POST", "/increment/orders");
  await worker.request("POST", `/shard/${n}/write`);
  await settle(worker);
  ({ json: live } = await worker.request("GET", "/global/counters"));
  assert.equal(live.orders, 110, "the restored shard goes on counting exactly");
  const g = (await stats(worker)).global;
  assert.equal(g.view.stats.totalWrites, 3, "its next batch was not mistaken for a duplicate");

  // A reset reaches the shard (its notice is stored at once, even in buffered mode) ...
  const reset = await call(worker, "POST", "/__test/reset/orders");
  assert.deepEqual([reset.type, reset.undelivered], ["reset", []]);
  await worker.dispose();
  worker = null;
  // ... so after a restart the shard still tags its increments with the new generation,
  // and they count.
  worker = await startCounter(env, dir);
  assert.equal((await call(worker, "GET", `/__test/shard/${n}/view`)).generation, 1);
  for (let i = 0; i < 3; i++) await worker.request("POST", "/increment/orders");
  await worker.request("POST", `/shard/${n}/write`);
  await settle(worker);
  ({ json: live } = await worker.request("GET", "/global/counters"));
  assert.equal(live.orders, 3);
});
