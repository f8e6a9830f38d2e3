// Every public and admin route answers as documented (admin routes allowed by the Worker's
// `authorize`), bad input gets a 4xx JSON error with its code, bodies and names are bounded
// in bytes, fan-out routes page, and no route reaches the internal batch path.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startWorker } from "./harness.js";

const ENTRY = fileURLToPath(new URL("./workers/routes.js", import.meta.url));
const OBJECTS = { COUNTER_SHARDS: { className: "RouteShard", useSQLite: true }, COUNTER_GLOBAL: { className: "RouteGlobal", useSQLite: true } };

let worker;
before(async () => {
  worker = await startWorker({ entry: ENTRY, durableObjects: OBJECTS, bindings: { ADMIN: "open", STRATEGY: "hash" } });
});
after(() => worker?.dispose());

/** Sends raw bytes (not JSON); answers like `worker.request`. */
async function sendBytes(method, path, body) {
  const res = await worker.mf.dispatchFetch(`http://counter.test${path}`, { method, body });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) };
}

const pendingEverywhere = async () => {
  const views = await Promise.all([0, 1, 2, 3].map((n) => worker.request("GET", `/__test/shard/${n}/view`)));
  return views.flatMap((v) => v.json.pending);
};

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
  // Concurrent increments of one counter (coalesced in the Worker) are each answered once.
  const burst = await Promise.all(Array.from({ length: 40 }, () => worker.request("POST", "/increment/pages", "2")));
  assert.ok(burst.every((b) => b.status === 200 && b.json.name === "pages" && b.json.shard === burst[0].json.shard));
});

test("POST /increments applies a multi-counter body as one request", async () => {
  let r = await worker.request("POST", "/increments", { pages: 8, visits: 3 });
  assert.equal(r.status, 200);
  assert.equal(r.json.count, 2);
  r = await worker.request("POST", "/increments", [["visits", 2], ["visits", 5]]);
  assert.equal(r.status, 200);
});

test("GET /shard/:n/counters and GET /global/shards (paged) show pending deltas; POST /shard/:n/write flushes them", async () => {
  const all = await Promise.all([0, 1, 2, 3].map((n) => worker.request("GET", `/shard/${n}/counters`)));
  const pending = {};
  for (const r of all) {
    assert.equal(r.status, 200);
    for (const [k, v] of Object.entries(r.json)) pending[k] = (pending[k] ?? 0) + Number(v);
  }
  assert.deepEqual(pending, { pages: 130, visits: 10, "a/b ü": -2, huge: 9007199254740993 });
  const shards = await worker.mf.dispatchFetch("http://counter.test/global/shards");
  assert.equal(shards.headers.get("link"), null, "4 shards fit one page");
  assert.deepEqual(await shards.json(), all.map((r) => r.json), "GET /global/shards lists every shard's pending counters");
  const first = await worker.mf.dispatchFetch("http://counter.test/global/shards?limit=3");
  assert.equal(first.headers.get("link"), '</global/shards?start=3&limit=3>; rel="next"');
  assert.deepEqual(await first.json(), all.slice(0, 3).map((r) => r.json));
  const rest = await worker.mf.dispatchFetch("http://counter.test/global/shards?start=3&limit=3");
  assert.equal(rest.headers.get("link"), null);
  assert.deepEqual(await rest.json(), [all[3].json]);

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
  assert.deepEqual(live, { pages: 130, visits: 10, "a/b ü": -2, huge: "9007199254740993" });
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
  const { json: published } = await worker.request("GET", "/counters");
  assert.equal(published.pages, 130);
  const r = await worker.request("POST", "/global/reset/pages");
  assert.equal(r.status, 200);
  assert.deepEqual({ name: r.json.name, type: r.json.type, previous: r.json.previous }, { name: "pages", type: "reset", previous: 130 });
  const { json: live } = await worker.request("GET", "/global/counters");
  assert.equal(live.pages, 0);
});

test("GET /dashboard is a self-contained page; GET /dashboard/data has its figures", async () => {
  await worker.request("POST", `/increment/${encodeURIComponent('<script>alert("x")</script>')}`, "5");
  await Promise.all([0, 1, 2, 3].map((n) => worker.request("POST", `/shard/${n}/write`)));
  const res = await worker.mf.dispatchFetch("http://counter.test/dashboard?refresh=0");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  const csp = res.headers.get("content-security-policy");
  assert.match(csp, /default-src 'none'/);
  const html = await res.text();
  assert.ok(!html.includes("<script>alert"), "counter names are escaped");
  assert.ok(html.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
  assert.ok(!/\b(src|href)="https?:/.test(html), "nothing is loaded from elsewhere");
  assert.ok((html.match(/<svg /g) ?? []).length >= 4, "charts are inline SVG");
  const { status, json: data } = await worker.request("GET", "/dashboard/data");
  assert.equal(status, 200);
  assert.equal(data.shardCount, 4);
  assert.equal(data.totals.counters, 5);
  assert.deepEqual(data.page, { start: 0, end: 4, next: null });
  assert.equal(data.shards.length, 4);
  const { json: sw } = await worker.request("GET", "/global/shardWrites");
  assert.equal(data.global.writes, sw.totalWrite);
});

test("bad bodies, names, shard numbers and queries get 4xx JSON errors with a code", async () => {
  const cases = [
    ["POST", "/increment/x", "not json", 400, "INVALID_BODY"],
    ["POST", "/increment/x", "1.5", 400, "INVALID_DELTA"],
    ["POST", "/increment/x", '{"delta":1}', 400, "INVALID_DELTA"],
    ["POST", "/increment/x", "9007199254740993", 400, "INVALID_DELTA"],
    ["POST", "/increment/x", '"99999999999999999999"', 400, "INVALID_DELTA"],
    ["POST", "/increment/%E0%A4%A", undefined, 400, "INVALID_NAME"],
    ["POST", "/increment/", undefined, 400, "EMPTY_KEY"],
    ["POST", `/increment/${"k".repeat(257)}`, undefined, 400, "KEY_TOO_LONG"],
    // 129 characters, 258 bytes of UTF-8: the cap is in bytes.
    ["POST", `/increment/${encodeURIComponent("é".repeat(129))}`, undefined, 400, "KEY_TOO_LONG"],
    ["POST", "/increments", "[]", 400, "INVALID_BODY"],
    ["POST", "/increments", "{}", 400, "INVALID_BODY"],
    ["POST", "/increments", '{"a": "x"}', 400, "INVALID_DELTA"],
    ["POST", "/increments", '[["a"]]', 400, "INVALID_BODY"],
    ["POST", "/increments", "5", 400, "INVALID_BODY"],
    ["POST", "/increments", '{"\\ud800": 1}', 400, "INVALID_NAME"],
    ["POST", "/increments", JSON.stringify({ a: 1, ["k".repeat(300)]: 1 }), 400, "KEY_TOO_LONG"],
    ["POST", "/increments", "x".repeat(70_000), 413, "PAYLOAD_TOO_LARGE"],
    // 40 000 characters, 80 000 bytes: the limit is in bytes.
    ["POST", "/increments", `{"a": 1, "b": "${"é".repeat(40_000)}"}`, 413, "PAYLOAD_TOO_LARGE"],
    ["POST", "/increment/x", new Uint8Array([0x31, 0xff]), 400, "INVALID_BODY"],
    ["GET", "/shard/4/counters", undefined, 404, "SHARD_OUT_OF_RANGE"],
    ["POST", "/shard/99/write", undefined, 404, "SHARD_OUT_OF_RANGE"],
    ["GET", "/global/shards?start=4", undefined, 404, "SHARD_OUT_OF_RANGE"],
    ["GET", "/global/shards?limit=-1", undefined, 400, "INVALID_ARGUMENT"],
    ["GET", "/shard/-1/counters", undefined, 404, "NOT_FOUND"],
    ["GET", "/shard/01/counters", undefined, 404, "NOT_FOUND"],
    ["GET", "/increment/x", undefined, 405, "METHOD_NOT_ALLOWED"],
    ["POST", "/global/counters", undefined, 405, "METHOD_NOT_ALLOWED"],
    ["GET", "/nope", undefined, 404, "NOT_FOUND"],
    ["GET", "/", undefined, 404, "NOT_FOUND"],
  ];
  const before = await worker.request("GET", "/global/counters");
  for (const [method, path, body, status, code] of cases) {
    const r = body instanceof Uint8Array ? await sendBytes(method, path, body) : await worker.request(method, path, body);
    assert.equal(r.status, status, `${method} ${path.slice(0, 40)} -> ${r.text.slice(0, 200)}`);
    assert.equal(r.json?.error, code, `${method} ${path.slice(0, 40)}`);
    assert.equal(typeof r.json.message, "string");
  }
  assert.deepEqual(await pendingEverywhere(), [], "rejected requests changed nothing");
  assert.deepEqual((await worker.request("GET", "/global/counters")).json, before.json);
  const r = await worker.request("GET", "/increment/x");
  assert.equal(r.json.allow, "POST");
});

test("a body growing past the limit is refused with 413 before it is read to the end", async () => {
  // Inside workerd, a request whose body never ends: the routes stop reading at the limit.
  const { json } = await worker.request("GET", "/__test/endless-body");
  assert.equal(json.status, 413);
  assert.deepEqual(json.body, { error: "PAYLOAD_TOO_LARGE", message: "the body exceeds 65536 bytes", limit: 65536 });
  assert.ok(json.pulled <= 65536 + 2 * 16384, `read ${json.pulled} bytes of an endless body`);
});

test("a client cannot reach the internal batch path", async () => {
  const before = await worker.request("GET", "/__test/global/stats");
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
    "/shard/0/incrementCoalesced",
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
  const after = await worker.request("GET", "/__test/global/stats");
  assert.equal(after.json.batches, before.json.batches, "no batch reached the global");
  assert.deepEqual((await worker.request("GET", "/global/counters")).json.pages, 0);
});
