// An alarm delivered twice (or early) changes nothing: the engine fires only due
// deadlines, once. The test moves the objects' clocks itself (every timer is a minute
// away on the wall clock, so the runtime's own alarms stay out of the way).
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { waitFor } from "./harness.js";
import { call, startCounter } from "./counter-harness.js";

let worker;
before(async () => {
  worker = await startCounter({
    FLUSH_AFTER_IDLE_MS: "60000",
    FLUSH_MAX_AGE_MS: "0",
    PERSIST_AFTER_IDLE_MS: "60000",
    PERSIST_MAX_AGE_MS: "0",
    STRATEGY: "hash",
    KV: "none",
  });
});
after(() => worker?.dispose());

test("a shard alarm delivered early, twice, and concurrently flushes exactly once", async () => {
  const replies = [];
  for (let i = 0; i < 5; i++) replies.push(await worker.request("POST", "/increment/x", "2"));
  assert.ok(replies.every((r) => r.status === 200));
  const n = replies[0].json.shard;
  assert.ok(replies.every((r) => r.json.shard === n), "hash routing keeps x on one shard");

  // Early: nothing is due yet, nothing moves.
  let view = await call(worker, "POST", `/__test/shard/${n}/alarm`);
  assert.equal(view.inFlight, null);
  assert.deepEqual(view.pending.map((p) => [p.key, p.delta]), [["x", 10]]);
  assert.equal(view.nextDeadline.timer, "idle");

  // Due: two deliveries at the deadline at once, and one more afterwards.
  const at = Number(view.nextDeadline.atMs);
  await Promise.all([call(worker, "POST", `/__test/shard/${n}/alarm`, { atMs: at }), call(worker, "POST", `/__test/shard/${n}/alarm`, { atMs: at })]);
  view = await call(worker, "POST", `/__test/shard/${n}/alarm`, { atMs: at + 1 });
  // The batch's acknowledgement is the event to wait for.
  const shard = await waitFor(async () => {
    const s = await call(worker, "GET", `/__test/shard/${n}/view`);
    return s.inFlight === null && s.pending.length === 0 && s;
  }, 5_000, "the batch's acknowledgement");
  assert.equal(shard.stats.batches, 1, "one batch cut");
  const live = await call(worker, "GET", "/__test/live");
  assert.deepEqual(live, { x: 10 });
  const g = await call(worker, "GET", "/__test/global/state");
  assert.equal(g.view.stats.totalWrites, 1, "one batch applied");
  assert.equal(g.duplicates, 0, "no batch sent twice");
  assert.equal((await call(worker, "GET", `/__test/shard/${n}/stats`)).globalCalls, 1);
});

test("a global alarm delivered twice publishes once", async () => {
  // x = 10 is applied and not yet published: the global's next deadline is its idle publish.
  let g = await call(worker, "GET", "/__test/global/state");
  assert.equal(g.view.nextDeadline !== null, true);
  const publishes = g.view.stats.publishes;
  const at = Number(g.view.nextDeadline);
  const [a, b] = await Promise.all([
    call(worker, "POST", "/__test/global/alarm", { atMs: at }),
    call(worker, "POST", "/__test/global/alarm", { atMs: at }),
  ]);
  await call(worker, "POST", "/__test/global/alarm", { atMs: at + 1 });
  g = await call(worker, "GET", "/__test/global/state");
  assert.equal(g.view.stats.publishes, publishes + 1, "the idle publish, and nothing more");
  assert.equal(a.publishedVersion, b.publishedVersion);
  assert.equal(g.view.nextDeadline, null, "nothing left to publish");
  const { json: published } = await worker.request("GET", "/counters");
  assert.deepEqual(published, { x: 10 });

  // A reset publishes at once; alarms after it find nothing due.
  await call(worker, "POST", "/__test/reset/x");
  await call(worker, "POST", "/__test/global/alarm", { atMs: at + 120_000 });
  await call(worker, "POST", "/__test/global/alarm", { atMs: at + 120_000 });
  g = await call(worker, "GET", "/__test/global/state");
  assert.equal(g.view.stats.publishes, publishes + 2, "the reset's publish only");
  assert.deepEqual((await worker.request("GET", "/counters")).json, { x: 0 });
});
