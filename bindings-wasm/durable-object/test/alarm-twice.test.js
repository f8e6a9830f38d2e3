// An alarm delivered twice (or early) changes nothing: the engine fires only due
// deadlines, once.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { sleep } from "./harness.js";
import { settle, startCounter, stats } from "./counter-harness.js";

let worker;
before(async () => {
  // Long idle timer: the test delivers the alarms itself. Without KV, publishes are
  // served from the global's storage.
  worker = await startCounter({ FLUSH_AFTER_IDLE_MS: "1500", STRATEGY: "hash", KV: "none" });
});
after(() => worker?.dispose());

test("a shard alarm delivered early, twice, and concurrently flushes exactly once", async () => {
  const replies = [];
  for (let i = 0; i < 5; i++) replies.push(await worker.request("POST", "/increment/x", "2"));
  assert.ok(replies.every((r) => r.status === 200));
  const n = replies[0].json.shard;
  assert.ok(replies.every((r) => r.json.shard === n), "hash routing keeps x on one shard");

  // Early: nothing is due yet, nothing moves.
  let { json: view } = await worker.request("POST", `/__test/shard/${n}/alarm`);
  assert.equal(view.inFlight, null);
  assert.deepEqual(view.pending.map((p) => [p.key, p.delta]), [["x", 10]]);

  assert.equal(view.nextDeadline.timer, "idle");
  await sleep(Math.max(0, view.nextDeadline.atMs - Date.now() + 20));
  // Due: two deliveries at once and one more afterwards (the runtime's own alarm fires
  // around now as well).
  await Promise.all([worker.request("POST", `/__test/shard/${n}/alarm`), worker.request("POST", `/__test/shard/${n}/alarm`)]);
  await worker.request("POST", `/__test/shard/${n}/alarm`);
  const s = await settle(worker);
  const { json: live } = await worker.request("GET", "/global/counters");
  assert.deepEqual(live, { x: 10 });
  assert.equal(s.global.view.stats.totalWrites, 1, "one batch applied");
  assert.equal(s.global.duplicates, 0, "no batch sent twice");
  assert.equal(s.shards[n].globalCalls, 1);
});

test("a global alarm delivered twice publishes once", async () => {
  const before = (await stats(worker)).global;
  await worker.request("POST", "/global/reset/x");
  const after1 = await worker.request("POST", "/__test/global/alarm");
  const after2 = await worker.request("POST", "/__test/global/alarm");
  assert.equal(after1.status, 200);
  const g = (await stats(worker)).global;
  assert.equal(g.view.stats.publishes, before.view.stats.publishes + 1, "the reset's publish, and nothing more");
  assert.equal(after2.json.publishedVersion, after1.json.publishedVersion);
  const { json: published } = await worker.request("GET", "/counters");
  assert.deepEqual(published, { x: 0 });
});
