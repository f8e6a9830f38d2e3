// Buffered durability: state is written only when a batch is handed to the global; a
// restart loses exactly the increments accepted since the last flush (the documented
// loss window) and nothing already flushed; the shard goes on with the same life.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { settle, startCounter, stats } from "./counter-harness.js";

const dirs = [];
let worker;
after(async () => {
  await worker?.dispose();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const env = { DURABILITY: "buffered", STRATEGY: "hash", FLUSH_AFTER_REQUESTS: "50", FLUSH_AFTER_IDLE_MS: "60000" };

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
  assert.equal(shard.storageWrites, 1 + 2, "the name once, then one snapshot per flush; none per increment");
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
});
