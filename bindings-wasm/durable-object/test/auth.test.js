// Admin routes in workerd: off (404, nothing called) without an `authorize` hook; with one,
// refused (403, or the hook's own 401 for the dashboard) unless it allows the request, which
// it decides from the request, the route and env. Refused requests change nothing.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startWorker } from "./harness.js";

const ENTRY = fileURLToPath(new URL("./workers/routes.js", import.meta.url));
const OBJECTS = { COUNTER_SHARDS: { className: "RouteShard", useSQLite: true }, COUNTER_GLOBAL: { className: "RouteGlobal", useSQLite: true } };

/** Every admin route, with a request that would change or show something. */
const ADMIN = [
  ["POST", "/global/reset/x", "reset", { name: "x" }],
  ["GET", "/global/writes", "writes", {}],
  ["GET", "/global/shardWrites", "shardWrites", {}],
  ["GET", "/global/shards", "shards", {}],
  ["GET", "/shard/1/counters", "shardCounters", { n: 1 }],
  ["POST", "/shard/1/write", "shardWrite", { n: 1 }],
  ["GET", "/dashboard", "dashboard", {}],
  ["GET", "/dashboard/data", "dashboardData", {}],
];

let off;
let token;
before(async () => {
  [off, token] = await Promise.all([
    startWorker({ entry: ENTRY, durableObjects: OBJECTS, bindings: { ADMIN: "off", SHARD_COUNT: 2 } }),
    startWorker({ entry: ENTRY, durableObjects: OBJECTS, bindings: { ADMIN: "token", SHARD_COUNT: 2 } }),
  ]);
});
after(() => Promise.all([off?.dispose(), token?.dispose()]));

async function send(worker, method, path, headers = {}) {
  const res = await worker.mf.dispatchFetch(`http://counter.test${path}`, { method, headers });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

test("without authorize every admin route is 404 (any method) and no object is called; public routes work", async () => {
  assert.equal((await send(off, "POST", "/increment/x")).status, 200);
  const shardBefore = await send(off, "GET", "/__test/shard/1/stats");
  for (const [method, path] of ADMIN) {
    for (const m of [method, method === "GET" ? "POST" : "GET"]) {
      const r = await send(off, m, path, { authorization: "Bearer test-admin" });
      assert.equal(r.status, 404, `${m} ${path}`);
      assert.equal(r.json.error, "NOT_FOUND", `${m} ${path}`);
    }
  }
  assert.deepEqual((await send(off, "GET", "/__test/shard/1/stats")).json, shardBefore.json, "no shard call changed anything");
  assert.deepEqual((await send(off, "GET", "/global/counters")).json, {}, "nothing was flushed or reset");
  assert.deepEqual((await send(off, "GET", "/__test/asked")).json, [], "there is no hook to ask");
});

test("with authorize, a request it refuses gets 403 (the dashboard: its 401 login challenge) and changes nothing", async () => {
  await send(token, "POST", "/increment/x", {});
  for (const [method, path] of ADMIN) {
    for (const headers of [{}, { authorization: "Bearer wrong" }]) {
      const r = await send(token, method, path, headers);
      if (path === "/dashboard") {
        assert.equal(r.status, 401, path);
        assert.equal(r.headers.get("www-authenticate"), 'Basic realm="test"');
      } else {
        assert.equal(r.status, 403, `${method} ${path}`);
        assert.equal(r.json.error, "FORBIDDEN");
      }
    }
  }
  const asked = (await send(token, "GET", "/__test/asked")).json;
  assert.deepEqual(
    asked.filter((_, i) => i % 2 === 0),
    ADMIN.map(([method, path, name, params]) => ({ name, method, pattern: path.replace(/\/1\//, "/:n/").replace(/\/x$/, "/:name"), params, env: "object" })),
    "the hook is told the route, its parameters and env",
  );
  // Nothing was flushed or reset: the increment is still pending on its shard.
  assert.deepEqual((await send(token, "GET", "/global/counters")).json, {});
});

test("with authorize, a request it allows reaches every admin route", async () => {
  const admin = { authorization: "Bearer test-admin" };
  const written = await Promise.all([0, 1].map((n) => send(token, "POST", `/shard/${n}/write`, admin)));
  assert.ok(written.every((r) => r.status === 200));
  assert.deepEqual((await send(token, "GET", "/global/counters")).json, { x: 1 });
  for (const [method, path] of ADMIN) {
    if (path === "/global/reset/x") continue;
    const r = await send(token, method, path, admin);
    assert.equal(r.status, 200, `${method} ${path}: ${r.text.slice(0, 200)}`);
  }
  const reset = await send(token, "POST", "/global/reset/x", admin);
  assert.equal(reset.status, 200);
  assert.equal(reset.json.previous, 1);
  assert.deepEqual((await send(token, "GET", "/global/counters")).json, { x: 0 });
});
