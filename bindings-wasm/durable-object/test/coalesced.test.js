// A group of increments a Worker coalesced (`ShardObject.incrementCoalesced`) counts as the
// client requests it stands for towards `flushAfterRequests`, as the same increments one
// call each would: a group of 100 under `flushAfterRequests: 100` cuts a batch at once, and
// the group that completes the 100 cuts it with the increments before it.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { call, flushTree, startCounter } from "./counter-harness.js";

let worker;
before(async () => {
  // Only the request count cuts a batch (no idle or max-age flush within a test).
  worker = await startCounter({ SHARD_COUNT: "3", FLUSH_AFTER_REQUESTS: "100", FLUSH_AFTER_IDLE_MS: "600000", FLUSH_MAX_AGE_MS: "0" });
});
after(() => worker?.dispose());

const coalesced = (n, entries, requests) => call(worker, "POST", `/__test/shard/${n}/coalesced`, { entries, requests });
const view = (n) => call(worker, "GET", `/__test/shard/${n}/view`);

test("a group of 100 increments under flushAfterRequests 100 cuts a batch at once", async () => {
  assert.deepEqual(await coalesced(0, [["x", 70], ["y", 30]], 100), { shard: 0, count: 100 });
  const v = await view(0);
  assert.equal(v.stats.batches, 1, "the group's 100 requests reached the threshold");
  assert.equal(v.stats.requests, 100);
  assert.equal(v.pendingRequests, 0);
  await flushTree(worker);
  const live = await call(worker, "GET", "/__test/live");
  assert.deepEqual([live.x, live.y], [70, 30]);
});

test("requests add up across groups and single increments: the one that completes 100 cuts the batch", async () => {
  await coalesced(1, [["a", 50], ["b", 49]], 99);
  let v = await view(1);
  assert.deepEqual([v.stats.batches, v.pendingRequests], [0, 99], "99 requests: below the threshold");
  await call(worker, "POST", "/__test/shard/1/increment", { name: "c" });
  v = await view(1);
  assert.deepEqual([v.stats.batches, v.pendingRequests], [1, 0], "the 100th request cut the batch");
  await flushTree(worker);
  const live = await call(worker, "GET", "/__test/live");
  assert.deepEqual([live.a, live.b, live.c], [50, 49, 1]);
});

test("a group of requests without counters is LENGTH_MISMATCH and changes nothing", async () => {
  const before = await view(2);
  const r = await worker.request("POST", "/__test/shard/2/coalesced", { entries: [], requests: 3 });
  assert.equal(r.json.error, "LENGTH_MISMATCH");
  const after = await view(2);
  assert.deepEqual([after.pending, after.pendingRequests ?? 0], [before.pending, before.pendingRequests ?? 0]);
});
