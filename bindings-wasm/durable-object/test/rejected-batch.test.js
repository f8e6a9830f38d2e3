// A batch the global can never apply (here: new counters beyond its `maxKeys`) is dropped by
// the shard as a counted drop instead of being retried forever ahead of every later batch:
// increments of existing counters keep flushing and count exactly.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { call, settle, startCounter, stats } from "./counter-harness.js";

let worker;
before(async () => {
  // One shard, flushed only when the test asks; a global with room for two counters.
  worker = await startCounter({ SHARD_COUNT: "1", GLOBAL_MAX_KEYS: "2", FLUSH_AFTER_REQUESTS: "0", FLUSH_AFTER_IDLE_MS: "60000", FLUSH_MAX_AGE_MS: "0" });
});
after(() => worker?.dispose());

test("a batch rejected for good is dropped and counted; later batches flow and count exactly", async () => {
  assert.equal((await worker.request("POST", "/increments", { a: 1, b: 2 })).status, 200);
  let { json: flushed } = await worker.request("POST", "/shard/0/write");
  assert.deepEqual([flushed.type, flushed.acknowledged], ["sent", true]);

  // Two new counters: the global's key table (maxKeys 2) cannot take them.
  assert.equal((await worker.request("POST", "/increments", { c: 1, d: 1 })).status, 200);
  ({ json: flushed } = await worker.request("POST", "/shard/0/write"));
  assert.deepEqual([flushed.type, flushed.acknowledged], ["sent", false]);

  const { json: view } = await worker.request("GET", "/__test/shard/0/view");
  assert.equal(view.inFlight, null, "the rejected batch is no longer in flight");
  assert.deepEqual(view.pending, []);
  assert.deepEqual([view.stats.rejectedBatches, view.stats.rejectedEntries], [1, 2]);
  let s = await stats(worker);
  assert.equal(s.shards[0].globalRejections, 1);
  assert.equal(s.shards[0].globalFailures, 0, "not retried as a failure");
  assert.deepEqual(
    [s.shards[0].lastFailure.code, s.shards[0].lastFailure.rejected, s.shards[0].lastFailure.seq],
    ["TABLE_FULL", true, view.stats.batches],
  );
  assert.equal(s.global.rejectedBatches, 1);

  // The dropped batch is never sent again: no timer is left that could re-send it, and an
  // alarm delivered an hour later (past any retry backoff) sends nothing.
  assert.equal(view.nextDeadline, null);
  await call(worker, "POST", "/__test/shard/0/alarm", { atMs: Date.now() + 3_600_000 });
  s = await stats(worker);
  assert.equal(s.shards[0].globalCalls, 2, "one call per batch, no re-send");
  assert.equal(s.views[0].nextDeadline, null);

  // Existing counters keep flowing: 40 increments of a, 20 of b (delta 3), then a flush.
  await worker.request("POST", "/__test/increments-burst", { n: 40, name: "a", shards: 1 });
  await worker.request("POST", "/__test/increments-burst", { n: 20, name: "b", shards: 1, delta: 3 });
  ({ json: flushed } = await worker.request("POST", "/shard/0/write"));
  assert.deepEqual([flushed.type, flushed.acknowledged], ["sent", true]);
  s = await settle(worker);
  const { json: live } = await worker.request("GET", "/global/counters");
  assert.deepEqual(live, { a: 41, b: 62 });
  assert.deepEqual([s.views[0].stats.rejectedBatches, s.views[0].stats.acks], [1, 2]);
  const { json: published } = await worker.request("GET", "/counters");
  assert.deepEqual(published, { a: 41, b: 62 });
});
