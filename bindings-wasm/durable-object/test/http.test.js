// The HTTP layer on its own, in Node, against recording fake stubs: what each route sends
// to which object, `basePath`, and the error responses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { handleCounterRequest } from "../src/http.js";

function fakeEnv() {
  const calls = [];
  const namespace = (binding) => ({
    idFromName: (name) => name,
    get: (name) =>
      new Proxy(
        {},
        {
          get: (_, method) =>
            async (...args) => {
              calls.push([binding, name, method, ...args]);
              if (method === "increment" || method === "increments") return { shard: Number(name.split(":")[1]), count: 2 };
              if (method === "published") return { counters: { a: 1 } };
              return { from: name };
            },
        },
      ),
  });
  return { env: { COUNTER_SHARDS: namespace("shards"), COUNTER_GLOBAL: namespace("global") }, calls };
}

const options = { shardCount: 3, strategy: "hash", basePath: "/metrics" };
const send = (env, method, path, body) =>
  handleCounterRequest(new Request(`http://x${path}`, { method, body }), env, options);

test("routes call the right object and method under basePath", async () => {
  const { env, calls } = fakeEnv();
  let res = await send(env, "POST", "/metrics/increment/a");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
  const [binding, name, method, key, delta] = calls.at(-1);
  assert.deepEqual([binding, method, key, delta], ["shards", "increment", "a", 1]);
  assert.match(name, /^shard:[0-2]$/);

  await send(env, "POST", "/metrics/increment/a", '"-9223372036854775808"');
  assert.equal(calls.at(-1)[4], -9223372036854775808n, "decimal strings become bigints");

  await send(env, "POST", "/metrics/increments", '{"a": 2, "b": 3}');
  assert.deepEqual(calls.at(-1).slice(2), ["increments", [["a", 2], ["b", 3]]]);

  res = await send(env, "GET", "/metrics/counters");
  assert.deepEqual(await res.json(), { a: 1 });
  await send(env, "POST", "/metrics/global/reset/a%20b");
  assert.deepEqual(calls.at(-1), ["global", "global", "reset", "a b"]);
  await send(env, "GET", "/metrics/shard/2/counters");
  assert.deepEqual(calls.at(-1), ["shards", "shard:2", "counters"]);
  await send(env, "POST", "/metrics/shard/1/write");
  assert.deepEqual(calls.at(-1), ["shards", "shard:1", "flush"]);
  res = await send(env, "GET", "/metrics/global/shards");
  assert.deepEqual(await res.json(), [{ from: "shard:0" }, { from: "shard:1" }, { from: "shard:2" }]);
});

test("paths outside basePath, wrong methods and missing bindings are errors", async () => {
  const { env, calls } = fakeEnv();
  let res = await send(env, "POST", "/increment/a");
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error, "NOT_FOUND");
  res = await send(env, "DELETE", "/metrics/global/counters");
  assert.equal(res.status, 405);
  assert.equal(res.headers.get("allow"), "GET");
  res = await send(env, "GET", "/metrics/shard/3/counters");
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error, "SHARD_OUT_OF_RANGE");
  assert.equal(calls.length, 0, "no object was called");
  res = await send({}, "GET", "/metrics/global/counters");
  assert.equal(res.status, 500);
  assert.equal((await res.json()).error, "MISSING_BINDING");
});
