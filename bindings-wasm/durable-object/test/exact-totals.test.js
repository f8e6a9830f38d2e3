// 1000 concurrent increments through the Worker routes (and 400 more straight to the 4
// shards) end with exact totals once the alarms have flushed every shard and published the
// global (durable mode, the default).
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { settle, startCounter } from "./counter-harness.js";

let worker;
before(async () => {
  worker = await startCounter();
});
after(() => worker?.dispose());

test("1000 concurrent increments over 4 shards end with exact totals after the alarms fire", async () => {
  const names = ["views", "clicks", "signups"];
  const expected = { views: 0, clicks: 0, signups: 0 };
  const requests = Array.from({ length: 1000 }, (_, i) => {
    const name = names[i % 3];
    const delta = (i % 7) + 1;
    expected[name] += delta;
    return worker.request("POST", `/increment/${name}`, String(delta));
  });
  const replies = await Promise.all(requests);
  assert.ok(replies.every((r) => r.status === 200), "every increment is accepted");
  // The Worker coalesces concurrent increments into a few shard calls; 400 more go to the
  // four shards by RPC, 100 each, so every shard has deltas to flush.
  const burst = await Promise.all(
    names.map((name) => worker.request("POST", "/__test/increments-burst", { n: 100 + (name === "views" ? 100 : 0), name, shards: 4, delta: 2 })),
  );
  assert.ok(burst.every((r) => r.status === 200 && r.json.failed.length === 0));
  expected.views += 400;
  expected.clicks += 200;
  expected.signups += 200;

  // Nothing has been flushed by hand: only the flush-after-requests threshold and the
  // idle alarms (60 ms here) move the deltas to the global.
  const s = await settle(worker);
  const { json: live } = await worker.request("GET", "/global/counters");
  assert.deepEqual(live, expected);
  const { json: published } = await worker.request("GET", "/counters");
  assert.deepEqual(published, expected, "the last publish (KV) carries the exact totals");

  const { json: shardWrites } = await worker.request("GET", "/global/shardWrites");
  const summed = { views: 0, clicks: 0, signups: 0 };
  for (const w of Object.values(shardWrites.shardWrites)) for (const [k, v] of Object.entries(w.counters)) summed[k] += v;
  assert.deepEqual(summed, expected, "per-shard write statistics add up to the totals");
  assert.equal(shardWrites.totalShards, 4);

  const accepted = s.shards.reduce((n, sh) => n + sh.increments, 0);
  assert.equal(accepted, 1400);
  const shardWritesCount = s.shards.reduce((n, sh) => n + sh.storageWrites, 0);
  assert.ok(shardWritesCount < 1000, `durable mode writes less than once per increment (${shardWritesCount})`);
  assert.ok(s.shards.some((sh) => sh.alarmsFired > 0), "the alarms drove the idle flushes");
  assert.equal(s.global.duplicates, 0);
});
