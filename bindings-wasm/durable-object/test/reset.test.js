// Resets that stick and lose nothing (SPEC §4): a reset answers once every shard learned
// it — by its notice, sent to the shards the global heard from and to those that only
// registered their life — so increments accepted after it answered count exactly without
// any flush in between, and none accepted before it count.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { MANUAL, call, flushTree, startCounter } from "./counter-harness.js";

let worker;
before(async () => {
  // Shards and the global act only when the test asks: no flush by count, idle or age.
  worker = await startCounter({ ...MANUAL, SHARD_COUNT: "6", KV: "none" });
});
after(() => worker?.dispose());

const add = (n, name, delta) => call(worker, "POST", `/__test/shard/${n}/increment`, { name, delta });
const view = (n) => call(worker, "GET", `/__test/shard/${n}/view`);

test("reset without a flush: the total is exactly the increments accepted after it answered", async () => {
  // x = 10 at the global, from shard 0: the only shard the global's engine has heard from.
  await add(0, "x", 10);
  assert.equal((await call(worker, "POST", "/__test/shard/0/flush")).acknowledged, true);
  // Pending x everywhere: shard 0 again, and shards 1..3, which started their lives (and
  // registered them with the global) but never sent a batch. Shards 4 and 5 do not exist yet.
  await add(0, "x", 5);
  for (const n of [1, 2, 3]) await add(n, "x", 7);

  const reset = await call(worker, "POST", "/__test/reset/x");
  assert.deepEqual([reset.type, reset.previous, reset.generation], ["reset", 10, 1]);
  assert.equal(reset.notified, 4, "every shard with a life was told: 0 by the engine's notice, 1..3 by their registration");
  assert.deepEqual(reset.undelivered, []);

  // Once reset answered, every shard dropped its pre-reset x and tags new increments with
  // generation 1: nothing was flushed.
  for (const n of [0, 1, 2, 3]) {
    const v = await view(n);
    assert.deepEqual(v.pending, [], `shard ${n} dropped its stale pending x`);
    assert.equal(v.generation, 1);
    assert.equal(v.stats.staleDropped, 1);
  }

  // Increments after the answer, still without a flush: shards 0..3, and shards 4 and 5,
  // whose lives start now (from the global's generation).
  let expected = 0;
  for (const n of [0, 1, 2, 3, 4, 5]) {
    await add(n, "x", n + 1);
    expected += n + 1;
  }
  assert.equal((await view(5)).generation, 1, "a new shard starts from the global's generation");
  await flushTree(worker);
  const live = await call(worker, "GET", "/__test/live");
  assert.equal(live.x, expected, "every post-reset increment counted, no pre-reset one");
  const published = await call(worker, "GET", "/__test/published");
  assert.equal(published.counters.x, expected);
  const g = await call(worker, "GET", "/__test/global/state");
  assert.equal(g.notices, 4);
  assert.equal(g.view.stats.staleDropped, 0, "no stale delta even reached the global");
  const writes = await call(worker, "GET", "/global/writes");
  assert.ok(writes.some((w) => w.type === "reset" && w.key === "x" && w.previous === 10), "the write log records the reset");
});

test("a shard that cannot be told is named; it learns from its next acknowledgement", async () => {
  // y = 3 from shard 2; shard 2 then holds pending y and refuses notices.
  await add(2, "y", 3);
  await call(worker, "POST", "/__test/shard/2/flush");
  await add(2, "y", 4);
  await call(worker, "POST", "/__test/shard/2/refuse-notices", { on: true });
  const reset = await call(worker, "POST", "/__test/reset/y");
  assert.equal(reset.type, "reset");
  assert.deepEqual(reset.undelivered, ["shard:2"]);
  assert.equal(reset.notified, 5, "the other shards were told");
  const g = await call(worker, "GET", "/__test/global/state");
  assert.ok(g.noticeFailures >= 3, "the notice was tried again before giving up");
  // Shard 2 still holds its pre-reset y: its flush sends it with the old generation, the
  // global drops it and the acknowledgement teaches the shard.
  await call(worker, "POST", "/__test/shard/2/refuse-notices", { on: false });
  assert.equal((await call(worker, "POST", "/__test/shard/2/flush")).acknowledged, true);
  assert.equal((await call(worker, "GET", "/__test/live")).y, 0);
  assert.equal((await view(2)).generation, 2);
  await add(2, "y", 9);
  await flushTree(worker);
  assert.equal((await call(worker, "GET", "/__test/live")).y, 9);
});

test("resetting an undefined counter reports not_defined and changes nothing", async () => {
  const before = await call(worker, "GET", "/__test/global/state");
  const outcome = await call(worker, "POST", "/__test/reset/never-counted");
  assert.deepEqual(outcome, { type: "not_defined" });
  const after = await call(worker, "GET", "/__test/global/state");
  assert.equal(after.view.stats.resets, before.view.stats.resets);
  assert.equal(after.notices, before.notices, "no notice for a reset that changed nothing");
});
