// Disposing the runtime mid-flush and starting it again from persisted storage ends with
// exact totals: every acknowledged increment is counted once (durable mode). The global
// holds batch calls (never answers them) in the first two lives (`GLOBAL_HOLD`), so
// batches are in flight — applied, or not — exactly when the runtime stops.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { waitFor } from "./harness.js";
import { call, settle, startCounter, stats } from "./counter-harness.js";

const dirs = [];
let worker;
after(async () => {
  await worker?.dispose();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const env = { FLUSH_AFTER_REQUESTS: "50", ACK_TIMEOUT_MS: "300" };

async function burst(n, name) {
  const r = await call(worker, "POST", "/__test/increments-burst", { n, name, shards: 4 });
  assert.deepEqual(r.failed, [], "every increment acknowledged before the restart");
}

test("a restart while batches are in flight (applied or not) loses and double-counts nothing", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "shardtally-do-"));
  dirs.push(dir);

  // Life 1: the global applies and stores batches but never answers them.
  worker = await startCounter({ ...env, GLOBAL_HOLD: "after" }, dir);
  await burst(400, "hits");
  await waitFor(async () => (await call(worker, "GET", "/__test/global/state")).batches >= 4, 10_000, "a batch of every shard applied");
  const mid = await stats(worker);
  assert.ok(mid.views.every((v) => v.inFlight !== null), "every shard has a batch in flight");
  await worker.dispose();
  worker = null;

  // Life 2: batches reach the global, which never applies them.
  worker = await startCounter({ ...env, GLOBAL_HOLD: "before" }, dir);
  await burst(200, "hits");
  await waitFor(async () => (await call(worker, "GET", "/__test/global/state")).received >= 4, 10_000, "batches reaching the global");
  const held = await call(worker, "GET", "/__test/global/state");
  assert.equal(held.batches, 0, "nothing applied in this life");
  await worker.dispose();
  worker = null;

  // Life 3: nothing is held. Without any request to the shards, their stored alarms wake
  // them; they re-send what was in flight and flush the rest.
  worker = await startCounter(env, dir);
  const total = await waitFor(
    async () => {
      const { json } = await worker.request("GET", "/global/counters");
      return json.hits === 600 ? json.hits : null;
    },
    20_000,
    "the shards' alarms to deliver every increment",
  );
  assert.equal(total, 600, "the alarms alone completed the delivery");
  const s = await settle(worker);
  const { json } = await worker.request("GET", "/global/counters");
  assert.equal(json.hits, 600, "every acknowledged increment counted exactly once");
  assert.ok(s.global.duplicates >= 1, "batches applied in life 1 were re-sent and recognised");
  assert.ok(s.shards.every((sh) => sh.restored), "shards restored their state from storage");
  assert.ok(s.global.restored, "the global restored its rows");
});
