// A storage write that fails never wedges an object: the object rolls back to what is
// stored (memory and storage agree again), the input's caller gets STORAGE_FAILED, and a
// retry applies it — so a batch the global failed to store is counted when re-sent (not
// answered as a duplicate), and only increments that were acknowledged count.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { MANUAL, call, flushTree, startCounter } from "./counter-harness.js";

let worker;
before(async () => {
  worker = await startCounter({
    SHARD_COUNT: "2",
    // Shards retry a failed batch only when the test delivers their alarm.
    RETRY_MS: "60000",
    ...MANUAL,
    KV: "none",
  });
});
after(() => worker?.dispose());

const add = (n, name, delta = 1) => worker.request("POST", `/__test/shard/${n}/increment`, { name, delta });

test("a batch whose write fails at the global is applied by the retry, once", async () => {
  assert.equal((await add(0, "x", 3)).status, 200);
  assert.equal((await call(worker, "POST", "/__test/shard/0/flush")).acknowledged, true);
  // The global's next write fails: the batch is applied in memory, then rolled back.
  await call(worker, "POST", "/__test/global/fail-writes", { after: 0 });
  assert.equal((await add(0, "x", 4)).status, 200);
  const flushed = await call(worker, "POST", "/__test/shard/0/flush");
  assert.deepEqual([flushed.type, flushed.acknowledged], ["sent", false]);
  let g = await call(worker, "GET", "/__test/global/state");
  assert.equal(g.rollbacks, 1);
  assert.equal(g.lastStorageError.code, "STORAGE_FAILED");
  assert.equal((await call(worker, "GET", "/__test/live")).x, 3, "memory went back to what is stored");
  const shard = await call(worker, "GET", "/__test/shard/0/stats");
  assert.equal(shard.globalFailures, 1);
  assert.equal(shard.lastFailure.code, "STORAGE_FAILED");

  // The shard re-sends the same batch at its retry deadline: the global applies it now.
  const view = await call(worker, "GET", "/__test/shard/0/view");
  assert.equal(view.nextDeadline.timer, "retry");
  await call(worker, "POST", "/__test/shard/0/alarm", { atMs: Number(view.nextDeadline.atMs) });
  await call(worker, "POST", "/__test/shard/0/settle");
  g = await call(worker, "GET", "/__test/global/state");
  assert.equal((await call(worker, "GET", "/__test/live")).x, 7, "counted once, by the retry");
  assert.equal(g.duplicates, 0, "the retry was not taken for a duplicate (no wedge)");
  // And later batches flow as before.
  await add(0, "x", 5);
  await flushTree(worker);
  assert.equal((await call(worker, "GET", "/__test/live")).x, 12);
  assert.equal((await call(worker, "GET", "/__test/published")).counters.x, 12);
});

test("a shard whose write fails answers STORAGE_FAILED; exactly the acknowledged increments count", async () => {
  // One good write, then a failing one: concurrent increments share writes (group commit),
  // so every increment of the failing group fails, and only those.
  await call(worker, "POST", "/__test/shard/1/fail-writes", { after: 1 });
  const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => add(1, "y", (i % 5) + 1)));
  const ok = replies.filter((r) => r.status === 200);
  const failed = replies.filter((r) => r.status !== 200);
  assert.ok(failed.length > 0, "the failing write failed its increments");
  assert.ok(ok.length > 0, "the good write acknowledged its increments");
  assert.ok(failed.every((r) => r.json.error === "STORAGE_FAILED"), JSON.stringify(failed[0]?.json));
  const acknowledged = replies.reduce((sum, r, i) => sum + (r.status === 200 ? (i % 5) + 1 : 0), 0);
  const stats = await call(worker, "GET", "/__test/shard/1/stats");
  assert.equal(stats.rollbacks, 1);
  // A batch cut whose write fails: the flush fails, the deltas stay pending, nothing is sent.
  await call(worker, "POST", "/__test/shard/1/fail-writes", { after: 0 });
  const cut = await worker.request("POST", "/__test/shard/1/flush");
  assert.equal(cut.json.error, "STORAGE_FAILED");
  assert.equal((await call(worker, "GET", "/__test/shard/1/stats")).globalCalls, 0, "no batch left unstored");
  await flushTree(worker);
  assert.equal((await call(worker, "GET", "/__test/live")).y, acknowledged, "exactly the acknowledged increments");
});
