// A reset while shards hold pending deltas (SPEC §4): the total goes to 0, deltas accepted
// before the shards learned of the reset never count, later increments do, and the
// publish reflects the reset.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { settle, startCounter, stats } from "./counter-harness.js";

let worker;
before(async () => {
  // Idle flushes far away: the test decides when shards flush.
  worker = await startCounter({ FLUSH_AFTER_IDLE_MS: "60000", FLUSH_AFTER_REQUESTS: "0" });
});
after(() => worker?.dispose());

test("reset with pending deltas on every shard ends at the reset semantics", async () => {
  // Global x = 10 (flushed, every shard has written: the global knows them all), then every
  // shard holds pending x deltas.
  await worker.request("POST", "/__test/increments-burst", { n: 4, name: "x", shards: 4, delta: 1 });
  for (let n = 0; n < 4; n++) await worker.request("POST", `/shard/${n}/write`);
  await worker.request("POST", "/increments", { x: 6 });
  for (let n = 0; n < 4; n++) await worker.request("POST", `/shard/${n}/write`);
  let { json: live } = await worker.request("GET", "/global/counters");
  assert.equal(live.x, 10);

  await worker.request("POST", "/__test/increments-burst", { n: 20, name: "x", shards: 4, delta: 5 });
  const views = (await stats(worker)).views;
  assert.deepEqual(views.map((v) => v.pending.map((p) => [p.key, p.delta])), [0, 1, 2, 3].map(() => [["x", 25]]), "every shard holds 25 pending");

  const { status, json: reset } = await worker.request("POST", "/global/reset/x");
  assert.equal(status, 200);
  assert.equal(reset.type, "reset");
  assert.equal(reset.previous, 10);

  // Once the reset was stored, the global told every shard it knows (its notice by RPC):
  // their pending pre-reset deltas are already dropped, before any flush.
  const told = await stats(worker);
  assert.equal(told.global.notices, 4);
  assert.equal(told.global.noticeFailures, 0);
  assert.deepEqual(told.views.map((v) => v.pending), [[], [], [], []]);
  assert.deepEqual(told.views.map((v) => v.stats.staleDropped), [1, 1, 1, 1], "one pending entry (x: 25) each");

  // The shards now flush: nothing of before the reset reaches the global.
  const flushes = await Promise.all([0, 1, 2, 3].map((n) => worker.request("POST", `/shard/${n}/write`)));
  assert.ok(flushes.every((f) => f.status === 200));
  ({ json: live } = await worker.request("GET", "/global/counters"));
  assert.equal(live.x, 0, "no increment accepted before the reset counts after it");

  // Increments accepted after the shards learned of the reset count.
  for (let i = 0; i < 8; i++) await worker.request("POST", "/increment/x", "1");
  await Promise.all([0, 1, 2, 3].map((n) => worker.request("POST", `/shard/${n}/write`)));
  await settle(worker);
  ({ json: live } = await worker.request("GET", "/global/counters"));
  assert.equal(live.x, 8);
  const { json: published } = await worker.request("GET", "/counters");
  assert.equal(published.x, 8);

  const { json: writes } = await worker.request("GET", "/global/writes");
  assert.ok(writes.some((w) => w.type === "reset" && w.key === "x" && w.previous === 10), "the write log records the reset");
});

test("resetting an undefined counter reports not_defined and changes nothing", async () => {
  const before = (await stats(worker)).global.view.stats;
  const { status, json } = await worker.request("POST", "/global/reset/never-counted");
  assert.equal(status, 200);
  assert.equal(json.type, "not_defined");
  const after = (await stats(worker)).global.view.stats;
  assert.equal(after.resets, before.resets);
});
