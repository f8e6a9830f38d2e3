// The HTTP layer on its own, in Node, against recording fake stubs: what each route sends
// to which object, `basePath`, admin routes off / refused / allowed, bodies counted in
// bytes as they stream, bounded fan-out, and increments coalesced per shard.
import { test } from "node:test";
import assert from "node:assert/strict";
import { handleCounterRequest } from "../src/http.js";
import { ADMIN_ROUTES, PUBLIC_ROUTES, counterWorker } from "../src/http.js";

/** Resolves once `check()` is true (checked after each turn of the event loop). */
async function until(check) {
  while (!check()) await new Promise((r) => setImmediate(r));
}

/** Lets the work already queued run (every microtask, then a few event loop turns). */
async function drain() {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/** A promise with its resolve function. */
function deferred() {
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * Fake Durable Object namespaces recording every call. `hold(method)` makes the calls of
 * `method` that start from then on wait for the returned gate (`gate.resolve()`; `unhold`
 * stops holding new calls); `fail(method, fn)` makes them throw what `fn` returns.
 */
function fakeEnv() {
  const calls = [];
  const held = new Map();
  const failing = new Map();
  let inFlight = 0;
  let maxInFlight = 0;
  const namespace = (binding) => ({
    idFromName: (name) => name,
    get: (name) =>
      new Proxy(
        {},
        {
          get: (_, method) =>
            async (...args) => {
              calls.push([binding, name, method, ...args]);
              inFlight += 1;
              maxInFlight = Math.max(maxInFlight, inFlight);
              try {
                const gate = held.get(method);
                if (gate) await gate.promise;
                const error = failing.get(method)?.(...args);
                if (error) throw error;
              } finally {
                inFlight -= 1;
              }
              if (method === "increment" || method === "increments" || method === "incrementCoalesced") return { shard: Number(name.split(":")[1]), count: 2 };
              if (method === "published") return { counters: { a: 1 } };
              return { from: name };
            },
        },
      ),
  });
  return {
    env: { COUNTER_SHARDS: namespace("shards"), COUNTER_GLOBAL: namespace("global") },
    calls,
    hold: (method) => {
      const gate = deferred();
      held.set(method, gate);
      return gate;
    },
    unhold: (method) => held.delete(method),
    fail: (method, fn) => failing.set(method, fn),
    maxInFlight: () => maxInFlight,
  };
}

const open = { shardCount: 3, strategy: "hash", basePath: "/metrics", authorize: () => true };
const send = (env, method, path, body, options = open, headers = {}) =>
  handleCounterRequest(new Request(`http://x${path}`, { method, body, headers }), env, options);

test("routes call the right object and method under basePath", async () => {
  const { env, calls } = fakeEnv();
  let res = await send(env, "POST", "/metrics/increment/a");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
  const [binding, name, method, entries, requests] = calls.at(-1);
  assert.deepEqual([binding, method, entries, requests], ["shards", "incrementCoalesced", [["a", 1]], 1]);
  assert.match(name, /^shard:[0-2]$/);
  assert.deepEqual(await res.json(), { name: "a", shard: Number(name.slice(6)) });

  await send(env, "POST", "/metrics/increment/a", '"-9223372036854775808"');
  assert.deepEqual(calls.at(-1)[3], [["a", -9223372036854775808n]], "decimal strings become bigints");

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

test("admin routes are off (404) without authorize; public routes are not affected", async () => {
  const { env, calls } = fakeEnv();
  const off = { ...open, authorize: undefined };
  const admin = [
    ["POST", "/metrics/global/reset/a"],
    ["GET", "/metrics/global/writes"],
    ["GET", "/metrics/global/shardWrites"],
    ["GET", "/metrics/global/shards"],
    ["GET", "/metrics/shard/0/counters"],
    ["POST", "/metrics/shard/0/write"],
    ["GET", "/metrics/dashboard"],
    ["GET", "/metrics/dashboard/data"],
  ];
  assert.equal(admin.length, ADMIN_ROUTES.length, "every admin route is listed here");
  for (const [method, path] of admin) {
    for (const m of [method, method === "GET" ? "POST" : "GET"]) {
      const res = await send(env, m, path, undefined, off);
      assert.equal(res.status, 404, `${m} ${path}`);
      assert.equal((await res.json()).error, "NOT_FOUND");
    }
  }
  assert.equal(calls.length, 0, "no object was called");
  assert.deepEqual(PUBLIC_ROUTES, ["increment", "increments", "counters", "liveCounters"]);
  assert.equal((await send(env, "POST", "/metrics/increment/a", undefined, off)).status, 200);
  assert.equal((await send(env, "GET", "/metrics/global/counters", undefined, off)).status, 200);
});

test("authorize decides each admin request: refused is 403, a Response is sent as is, a throw refuses", async () => {
  const { env, calls } = fakeEnv();
  const seen = [];
  const options = {
    ...open,
    authorize: async (request, route, e) => {
      seen.push({ auth: request.headers.get("authorization"), ...route, env: e === env });
      if (request.headers.get("authorization") === "Bearer good") return true;
      if (request.headers.get("authorization") === "Bearer boom") throw new Error("hook failed");
      if (route.name === "dashboard") return new Response("login", { status: 401, headers: { "www-authenticate": "Basic" } });
      return "yes"; // anything but true refuses
    },
  };
  let res = await send(env, "POST", "/metrics/global/reset/a%2Fb", undefined, options);
  assert.equal(res.status, 403);
  assert.deepEqual(await res.json(), { error: "FORBIDDEN", message: "POST /global/reset/:name is not allowed for this request", route: "reset" });
  assert.deepEqual(seen.at(-1), { auth: null, name: "reset", method: "POST", pattern: "/global/reset/:name", params: { name: "a/b" }, env: true });
  res = await send(env, "GET", "/metrics/dashboard", undefined, options);
  assert.equal(res.status, 401);
  assert.equal(res.headers.get("www-authenticate"), "Basic");
  res = await send(env, "GET", "/metrics/shard/9/counters", undefined, options);
  assert.equal(res.status, 403, "refused before the shard number is checked");
  res = await send(env, "GET", "/metrics/global/writes", undefined, options, { authorization: "Bearer boom" });
  assert.equal(res.status, 500);
  assert.equal((await res.json()).error, "AUTHORIZE_FAILED");
  assert.equal(calls.length, 0, "no object was called");
  res = await send(env, "POST", "/metrics/shard/1/write", undefined, options, { authorization: "Bearer good" });
  assert.equal(res.status, 200);
  assert.deepEqual(calls.at(-1), ["shards", "shard:1", "flush"]);
  assert.deepEqual(seen.at(-1).params, { n: 1 });
  const before = seen.length;
  await send(env, "POST", "/metrics/increment/a", undefined, options);
  assert.equal(seen.length, before, "public routes do not ask");
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

test("bodies are counted in bytes as they stream in and refused at the limit without reading the rest", async () => {
  const { env, calls } = fakeEnv();
  const options = { ...open, maxBodyBytes: 1000 };
  let pulled = 0;
  const stream = () =>
    new ReadableStream({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new Uint8Array(300).fill(0x20));
      },
    });
  // No declared length: read until the count passes 1000 bytes (4 chunks of 300), no more.
  let res = await handleCounterRequest(new Request("http://x/metrics/increments", { method: "POST", body: stream(), duplex: "half" }), env, options);
  assert.equal(res.status, 413);
  assert.deepEqual(await res.json(), { error: "PAYLOAD_TOO_LARGE", message: "the body exceeds 1000 bytes", limit: 1000 });
  assert.ok(pulled <= 5, `pulled ${pulled} chunks of an endless body`);
  // A declared length over the limit: refused before reading anything.
  pulled = 0;
  res = await handleCounterRequest(
    new Request("http://x/metrics/increment/a", { method: "POST", body: stream(), duplex: "half", headers: { "content-length": "1001" } }),
    env,
    options,
  );
  assert.equal(res.status, 413);
  assert.ok(pulled <= 1, "nothing was read (a stream may pull once when it starts)");
  // 400 two-byte characters: 800 bytes are fine, 600 characters (1200 bytes) are not.
  res = await send(env, "POST", "/metrics/increments", JSON.stringify({ ["é".repeat(100)]: 1, pad: 0, x: "é".repeat(300) }), options);
  assert.equal(res.status, 400, "under the byte limit: parsed (and refused for its shape)");
  res = await send(env, "POST", "/metrics/increments", JSON.stringify({ a: 1, x: "é".repeat(600) }), options);
  assert.equal(res.status, 413);
  assert.equal(calls.length, 0);
});

test("counter names are capped in UTF-8 bytes and may be checked by allowName", async () => {
  const { env, calls } = fakeEnv();
  const options = { ...open, maxNameBytes: 8, allowName: (name) => !name.startsWith("secret") };
  const cases = [
    ["/metrics/increment/abcdefgh", 200, undefined],
    ["/metrics/increment/abcdefghi", 400, "KEY_TOO_LONG"],
    [`/metrics/increment/${encodeURIComponent("éééé")}`, 200, undefined], // 8 bytes
    [`/metrics/increment/${encodeURIComponent("ééééa")}`, 400, "KEY_TOO_LONG"], // 9 bytes, 5 characters
    [`/metrics/increment/${encodeURIComponent("😀😀")}`, 200, undefined], // 8 bytes, 4 UTF-16 units
    [`/metrics/increment/${encodeURIComponent("😀😀a")}`, 400, "KEY_TOO_LONG"],
    ["/metrics/increment/secret1", 403, "NAME_NOT_ALLOWED"],
  ];
  for (const [path, status, code] of cases) {
    const res = await send(env, "POST", path, undefined, options);
    assert.equal(res.status, status, path);
    if (code) assert.equal((await res.json()).error, code, path);
  }
  const res = await send(env, "POST", "/metrics/increments", JSON.stringify([["ok", 1], ["\ud800", 1]]), options);
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error, "INVALID_NAME", "a lone surrogate is not UTF-8");
  assert.equal(calls.length, 3, "only the accepted names reached a shard");
});

test("fan-out routes call at most fanOutConcurrency shards at once and page at fanOutLimit", async () => {
  const { env, calls, hold, unhold, maxInFlight } = fakeEnv();
  const options = { shardCount: 40, authorize: () => true, fanOutConcurrency: 3, fanOutLimit: 25 };
  const gate = hold("counters");
  const pending = handleCounterRequest(new Request("http://x/global/shards"), env, options);
  await until(() => calls.length === 3);
  unhold("counters");
  gate.resolve();
  const res = await pending;
  assert.equal(maxInFlight(), 3, "three calls at most were in flight");
  const body = await res.json();
  assert.deepEqual(body, Array.from({ length: 25 }, (_, n) => ({ from: `shard:${n}` })));
  assert.equal(res.headers.get("link"), '</global/shards?start=25&limit=25>; rel="next"');
  const next = await handleCounterRequest(new Request("http://x/global/shards?start=25&limit=25"), env, options);
  assert.equal((await next.json()).length, 15);
  assert.equal(next.headers.get("link"), null);
});

test("concurrent increments for a busy shard go together in its next call, each answered after it", async () => {
  const { env, calls, hold } = fakeEnv();
  const worker = counterWorker({ shardCount: 1, strategy: "hash" });
  const waited = [];
  const ctx = { waitUntil: (p) => waited.push(p) };
  const post = (name, body) => worker.fetch(new Request(`http://x/increment/${name}`, { method: "POST", body }), env, ctx);
  const gate1 = hold("incrementCoalesced");
  const first = post("a");
  await until(() => calls.length === 1);
  const answered = [];
  const rest = ["a", "b", "a", "c", "b", "a"].map((name, i) => post(name, String(i + 1)).then((r) => (answered.push(i), r)));
  await drain();
  const gate2 = hold("incrementCoalesced"); // the second call waits too
  gate1.resolve();
  assert.equal((await first).status, 200);
  await until(() => calls.length === 2);
  assert.deepEqual(calls[1].slice(2), ["incrementCoalesced", [["a", 1 + 3 + 6], ["b", 2 + 5], ["c", 4]], 6], "the six waited and went in one call");
  assert.deepEqual(answered, [], "nobody is answered before the shard accepted their increments");
  gate2.resolve();
  const responses = await Promise.all(rest);
  assert.ok(responses.every((r) => r.status === 200));
  assert.deepEqual((await responses[3].json()), { name: "c", shard: 0 });
  assert.equal(waited.length, 2, "each call is kept alive by the request that sends it");
});

test("a group the shard's engine rejects is re-sent one by one, so only the bad increment fails", async () => {
  const { env, calls, hold, unhold, fail } = fakeEnv();
  const worker = counterWorker({ shardCount: 1, strategy: "hash" });
  const post = (name, body) => worker.fetch(new Request(`http://x/increment/${name}`, { method: "POST", body }), env, {});
  const overflow = () => Object.assign(new Error("overflow"), { code: "OVERFLOW" });
  const gate = hold("incrementCoalesced");
  const first = post("a");
  await until(() => calls.length === 1);
  unhold("incrementCoalesced");
  fail("incrementCoalesced", overflow);
  fail("increment", (name) => (name === "big" ? overflow() : null));
  const group = [post("a", "2"), post("big", '"9223372036854775807"'), post("b", "3")];
  await drain();
  gate.resolve();
  assert.equal((await first).status, 409, "the first call failed alone: its own error");
  const [a, big, b] = await Promise.all(group);
  assert.deepEqual([a.status, big.status, b.status], [200, 409, 200]);
  assert.deepEqual(
    calls.slice(2).map((c) => c.slice(2)).sort(),
    [["increment", "a", 2], ["increment", "b", 3], ["increment", "big", 9223372036854775807n]],
  );
  // Any other failure (the shard unreachable, say) fails the whole group as it is.
  fail("incrementCoalesced", () => new Error("network"));
  const lost = await post("z");
  assert.equal(lost.status, 500);
});

test("route options are checked: hooks are functions, bounds are integers in range, coalesce a boolean", async () => {
  const { resolveOptions } = await import("../src/options.js");
  const bad = [
    { authorize: "token" },
    { allowName: true },
    { maxNameBytes: 0 },
    { maxNameBytes: 1.5 },
    { maxBodyBytes: 1 },
    { fanOutConcurrency: 65 },
    { fanOutLimit: 0 },
    { coalesce: "yes" },
    { coalesceWindowMs: 101 },
  ];
  for (const options of bad) {
    assert.throws(() => resolveOptions(options), (e) => e.code === "INVALID_OPTIONS" && e.option === Object.keys(options)[0], JSON.stringify(options));
  }
  const resolved = resolveOptions({ authorize: () => true, maxNameBytes: 64 });
  assert.equal(typeof resolved.authorize, "function");
  assert.equal(resolved.maxNameBytes, 64);
  assert.deepEqual(
    [resolved.maxBodyBytes, resolved.fanOutConcurrency, resolved.fanOutLimit, resolved.coalesce, resolved.coalesceWindowMs, resolved.allowName],
    [65536, 8, 256, true, 1, null],
  );
});

test("under load a group stays open coalesceWindowMs after the previous call returns; an idle shard gets its increment at once", async () => {
  const { env, calls, hold } = fakeEnv();
  const worker = counterWorker({ shardCount: 1, strategy: "hash", coalesceWindowMs: 100 });
  const post = (name) => worker.fetch(new Request(`http://x/increment/${name}`, { method: "POST" }), env, {});
  const gate = hold("incrementCoalesced");
  const first = post("a");
  await until(() => calls.length === 1);
  const second = post("b"); // waits: the shard is busy
  await drain();
  hold("incrementCoalesced").resolve(); // later calls answer at once
  gate.resolve();
  assert.equal((await first).status, 200);
  // The first call has returned and the second group is still open: these join it.
  const late = [post("c"), post("b")];
  await Promise.all([second, ...late]);
  assert.deepEqual(calls.map((c) => c.slice(3)), [[[["a", 1]], 1], [[["b", 2], ["c", 1]], 3]]);
});
