// A fan-in tree (SPEC §4 tiered aggregation, §10): 1000 shards under `fanIn: 32` send to 32
// aggregator objects, which forward to the top global — no object hears from more than 32
// children. Totals through the tree are exact, the per-shard view is per shard at any
// depth, and a reset at the top reaches every leaf through the aggregators before it
// answers.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { call, flushTree, startCounter } from "./counter-harness.js";

const SHARDS = 1000;
let worker;
before(async () => {
  // Nothing moves by itself: the test settles the tree (`GlobalObject.settle`).
  worker = await startCounter({
    SHARD_COUNT: String(SHARDS),
    FAN_IN: "32",
    FLUSH_AFTER_REQUESTS: "0",
    FLUSH_AFTER_IDLE_MS: "0",
    FLUSH_MAX_AGE_MS: "0",
    AGG_FLUSH_AFTER_REQUESTS: "0",
    AGG_FLUSH_AFTER_IDLE_MS: "0",
    PERSIST_AFTER_IDLE_MS: "0",
    PERSIST_MAX_AGE_MS: "0",
    KV: "none",
  });
});
after(() => worker?.dispose());

const eachShard = (name, delta) => call(worker, "POST", "/__test/each-shard", { shards: SHARDS, name, delta });

test("1000 shards through a fan-in tree of 32 aggregators count exactly", async () => {
  await eachShard("x", 1);
  await eachShard("y", 2);
  await flushTree(worker);
  assert.deepEqual(await call(worker, "GET", "/__test/live"), { x: SHARDS, y: 2 * SHARDS });
  assert.deepEqual((await call(worker, "GET", "/__test/published")).counters, { x: SHARDS, y: 2 * SHARDS });

  const top = await call(worker, "GET", "/__test/global/state");
  assert.equal(top.view.children, 32, "the top global hears from the 32 aggregators only");
  assert.equal(top.registrations, 32);
  assert.ok(top.batches <= 64, `a few forwarded batches (${top.batches}), not one per shard`);
  const agg = await call(worker, "GET", `/__test/node/${encodeURIComponent("global:1:31")}/view`);
  assert.deepEqual([agg.level, agg.parent, agg.children], [1, "global", SHARDS - 31 * 32]);
  const leaf = await call(worker, "GET", "/__test/shard/999/view");
  assert.equal(leaf.parent, "global:1:31");

  // The per-shard view reaches through the aggregators.
  const writes = await call(worker, "GET", "/__test/shard-writes");
  assert.equal(writes.totalShards, SHARDS);
  assert.equal(writes.totalWrite, SHARDS, "one batch per shard");
  assert.deepEqual(writes.shardWrites["shard:517"], { writeCount: 1, counters: { x: 1, y: 2 } });
});

test("a reset at the top reaches every leaf through the aggregators", async () => {
  await eachShard("x", 5); // pending in every leaf when the reset comes
  const reset = await call(worker, "POST", "/__test/reset/x");
  assert.deepEqual([reset.type, reset.previous, reset.notified, reset.undelivered], ["reset", SHARDS, 32, []]);
  for (const n of [0, 31, 32, 500, 999]) {
    const v = await call(worker, "GET", `/__test/shard/${n}/view`);
    assert.deepEqual(v.pending, [], `leaf ${n} dropped its pre-reset x`);
    assert.equal(v.generation, 1);
  }
  // Increments after the answer, without a flush in between, all count.
  await eachShard("x", 3);
  await flushTree(worker);
  const live = await call(worker, "GET", "/__test/live");
  assert.deepEqual(live, { x: 3 * SHARDS, y: 2 * SHARDS });
  assert.equal((await call(worker, "GET", "/__test/published")).counters.x, 3 * SHARDS);
});
