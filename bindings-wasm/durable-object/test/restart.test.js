// Disposing the runtime mid-flush and starting it again from persisted storage ends with
// exact totals: every acknowledged increment is counted once (durable mode).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { sleep, waitFor } from "./harness.js";
import { settle, startCounter, stats } from "./counter-harness.js";

const dirs = [];
let worker;
after(async () => {
  await worker?.dispose();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function burst(n, name) {
  const replies = await Promise.all(Array.from({ length: n }, () => worker.request("POST", `/increment/${name}`)));
  const bad = replies.filter((r) => r.status !== 200);
  assert.deepEqual(bad.slice(0, 3), [], "every increment acknowledged before the restart");
}

test("a restart while batches are in flight (applied or not) loses and double-counts nothing", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "shardtally-do-"));
  dirs.push(dir);

  // Life 1: batches reach the global, which applies and stores them but is slow to answer.
  worker = await startCounter({ FLUSH_AFTER_REQUESTS: "50", GLOBAL_ACK_DELAY_MS: "5000", ACK_TIMEOUT_MS: "300" }, dir);
  await burst(400, "hits");
  await waitFor(async () => (await stats(worker)).global.batches >= 4, 10_000, "applied batches waiting for their acks");
  const mid = await stats(worker);
  assert.ok(mid.views.some((v) => v.inFlight !== null), "batches are in flight");
  await worker.dispose();
  worker = null;

  // Life 2: batches are slow to reach the global (not applied yet) when it stops again.
  worker = await startCounter({ FLUSH_AFTER_REQUESTS: "50", GLOBAL_DELAY_MS: "5000", ACK_TIMEOUT_MS: "300" }, dir);
  await burst(200, "hits");
  await sleep(150);
  await worker.dispose();
  worker = null;

  // Life 3: nothing is slow. Without any request to the shards, their persisted alarms
  // wake them, they re-send what was in flight and flush the rest.
  worker = await startCounter({ FLUSH_AFTER_REQUESTS: "50", ACK_TIMEOUT_MS: "300" }, dir);
  const total = await waitFor(
    async () => {
      const { json } = await worker.request("GET", "/global/counters");
      return json.hits === 600 ? json.hits : null;
    },
    20_000,
    "the shards' alarms to deliver every increment",
  ).catch(() => null);
  const s = await settle(worker);
  const { json } = await worker.request("GET", "/global/counters");
  assert.equal(json.hits, 600, "every acknowledged increment counted exactly once");
  assert.equal(total, 600, "the alarms alone completed the delivery");
  assert.ok(s.global.duplicates >= 1 || s.global.view.stats.duplicates >= 1, "batches applied in life 1 were re-sent and recognised");
  assert.ok(s.shards.some((sh) => sh.restored), "shards restored their state from storage");
});
