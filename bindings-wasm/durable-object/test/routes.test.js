// Every do-counter-sharding route answers as documented, bad input gets a 4xx JSON error
// with its code, and no public route reaches the internal batch path.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { settle, startCounter, stats } from "./counter-harness.js";

let worker;
before(async () => {
  worker = await startCounter({ FLUSH_AFTER_IDLE_MS: "60000", FLUSH_AFTER_REQUESTS: "0", STRATEGY: "hash" });
});
after(() => worker?.dispose());

test("POST /increment/:name adds 1 or the JSON integer body and names the shard", async () => {
  let r = await worker.request("POST", "/increment/pages");
  assert.equal(r.status, 200);
  assert.equal(r.json.name, "pages");
  assert.ok(Number.isInteger(r.json.shard) && r.json.shard >= 0 && r.json.shard < 4);
  r = await worker.request("POST", "/increment/pages", "41");
  assert.equal(r.status, 200);
  r = await worker.request("POST", `/increment/${encodeURIComponent("a/b ü")}`, "-2");
  assert.equal(r.json.name, "a/b ü");
  r = await worker.request("POST", "/increment/huge", '"9007199254740993"');
  assert.equal(r.status, 200, "decimal strings carry deltas beyond 2^53");
});

test("POST /increments applies a multi-counter body as one request", async () => {
  let r = await worker.request("POST", "/increments", { pages: 8, visits: 3 });
  assert.equal(r.status, 200);
  assert.equal(r.json.count, 2);
  r = await worker.request("POST", "/increments", [["visits", 2], ["visits", 5]]);
  assert.equal(r.status, 200);
});

test("GET /shard/:n/counters shows pending deltas; POST /shard/:n/write flushes them", async () => {
  const all = await Promise.all([0, 1, 2, 3].map((n) => worker.request("GET", `/shard/${n}/counters`)));
  const pending = {};
  for (const r of all) {
    assert.equal(r.status, 200);
    for (const [k, v] of Object.entries(r.json)) pending[k] = (pending[k] ?? 0) + Number(v);
  }
  assert.deepEqual(pending, { pages: 50, visits: 10, "a/b ü": -2, huge: 9007199254740993 });
  const { json: shards } = await worker.request("GET", "/global/shards");
  assert.deepEqual(shards, all.map((r) => r.json), "GET /global/shards lists every shard's pending counters");

  const writes = await Promise.all([0, 1, 2, 3].map((n) => worker.request("POST", `/shard/${n}/write`)));
  for (const [n, w] of writes.entries()) {
    assert.equal(w.status, 200);
    assert.equal(w.json.shard, n);
    assert.ok(["sent", "nothing_pending"].includes(w.json.type));
    assert.equal(w.json.acknowledged, w.json.type === "sent");
  }
  const again = await worker.request("POST", "/shard/0/write");
  assert.deepEqual(again.json, { shard: 0, type: "nothing_pending", acknowledged: false });
});

test("GET /global/counters, /global/writes, /global/shardWrites show the global's state", async () => {
  const { json: live } = await worker.request("GET", "/global/counters");
  assert.deepEqual(live, { pages: 50, visits: 10, "a/b ü": -2, huge: "9007199254740993" });
  const { json: writes } = await worker.request("GET", "/global/writes");
  assert.ok(Array.isArray(writes) && writes.length >= 1);
  assert.ok(writes.every((w) => w.type === "batch"));
  assert.ok(writes.every((w, i) => i === 0 || writes[i - 1].atMs >= w.atMs), "newest first");
  const { json: sw } = await worker.request("GET", "/global/shardWrites");
  assert.equal(sw.totalWrite, writes.length);
  assert.equal(sw.totalShards, Object.keys(sw.shardWrites).length);
  for (const [name, w] of Object.entries(sw.shardWrites)) {
    assert.match(name, /^shard:[0-3]$/);
    assert.ok(w.writeCount >= 1);
  }
});

test("GET /counters serves the published totals; POST /global/reset/:name resets", async () => {
  await worker.request("POST", "/__test/global/publish");
  await settle(worker);
  const { json: published } = await worker.request("GET", "/counters");
  assert.equal(published.pages, 50);
  const r = await worker.request("POST", "/global/reset/pages");
  assert.equal(r.status, 200);
  assert.deepEqual({ name: r.json.name, type: r.json.type, previous: r.json.previous }, { name: "pages", type: "reset", previous: 50 });
  const { json: live } = await worker.request("GET", "/global/counters");
  assert.equal(live.pages, 0);
});

test("bad bodies, names and shard numbers get 4xx JSON errors with a code", async () => {
  const cases = [
    ["POST", "/increment/x", "not json", 400, "INVALID_BODY"],
    ["POST", "/increment/x", "1.5", 400, "INVALID_DELTA"],
    ["POST", "/increment/x", '{"delta":1}', 400, "INVALID_DELTA"],
    ["POST", "/increment/x", "9007199254740993", 400, "INVALID_DELTA"],
    ["POST", "/increment/x", '"99999999999999999999"', 400, "INVALID_DELTA"],
    ["POST", "/increment/%E0%A4%A", undefined, 400, "INVALID_NAME"],
    ["POST", `/increment/${"k".repeat(300)}`, undefined, 400, "KEY_TOO_LONG"],
    ["POST", "/increments", "[]", 400, "INVALID_BODY"],
    ["POST", "/increments", "{}", 400, "INVALID_BODY"],
    ["POST", "/increments", '{"a": "x"}', 400, "INVALID_DELTA"],
    ["POST", "/increments", '[["a"]]', 400, "INVALID_BODY"],
    ["POST", "/increments", "5", 400, "INVALID_BODY"],
    ["POST", "/increments", JSON.stringify({ a: 1, ["k".repeat(300)]: 1 }), 400, "KEY_TOO_LONG"],
    ["POST", "/increments", "x".repeat(70_000), 413, "PAYLOAD_TOO_LARGE"],
    ["GET", "/shard/4/counters", undefined, 404, "SHARD_OUT_OF_RANGE"],
    ["POST", "/shard/99/write", undefined, 404, "SHARD_OUT_OF_RANGE"],
    ["GET", "/shard/-1/counters", undefined, 404, "NOT_FOUND"],
    ["GET", "/shard/01/counters", undefined, 404, "NOT_FOUND"],
    ["GET", "/increment/x", undefined, 405, "METHOD_NOT_ALLOWED"],
    ["POST", "/global/counters", undefined, 405, "METHOD_NOT_ALLOWED"],
    ["GET", "/nope", undefined, 404, "NOT_FOUND"],
    ["GET", "/", undefined, 404, "NOT_FOUND"],
  ];
  const before = await worker.request("GET", "/global/counters");
  for (const [method, path, body, status, code] of cases) {
    const r = await worker.request(method, path, body);
    assert.equal(r.status, status, `${method} ${path.slice(0, 40)} -> ${r.text.slice(0, 200)}`);
    assert.equal(r.json?.error, code, `${method} ${path.slice(0, 40)}`);
    assert.equal(typeof r.json.message, "string");
  }
  const pending = (await stats(worker)).views.flatMap((v) => v.pending);
  assert.deepEqual(pending, [], "rejected requests changed nothing");
  assert.deepEqual((await worker.request("GET", "/global/counters")).json, before.json);
  const r = await worker.request("GET", "/increment/x");
  assert.equal(r.json.allow ?? "POST", "POST");
});

test("a client cannot reach the internal batch path", async () => {
  const before = await stats(worker);
  // A forged batch body on every path a client might try.
  const forged = JSON.stringify({ from: { shard: 0, incarnation: 1 }, seq: 999, entries: [{ key: "pages", generation: 9, delta: 1e6 }] });
  const paths = [
    "/global/applyBatch",
    "/global/batch",
    "/global/write",
    "/global/handleBatch",
    "/write",
    "/applyBatch",
    "/shard/0/applyBatch",
    "/shard/0/batch",
    "/global/reset/pages/applyBatch",
    "/global",
  ];
  for (const path of paths) {
    for (const method of ["POST", "PUT", "GET"]) {
      const r = await worker.request(method, path, method === "GET" ? undefined : forged);
      assert.ok(r.status === 404 || r.status === 405, `${method} ${path} -> ${r.status}`);
    }
  }
  // A role header (do-counter-sharding took the role from one) changes nothing either.
  const res = await worker.mf.dispatchFetch("http://counter.test/increment/pages", {
    method: "POST",
    headers: { shardName: "global", "content-type": "application/json" },
    body: forged,
  });
  assert.equal(res.status, 400);
  const after = await stats(worker);
  assert.equal(after.global.batches, before.global.batches, "no batch reached the global");
  assert.deepEqual((await worker.request("GET", "/global/counters")).json.pages, 0);
});
