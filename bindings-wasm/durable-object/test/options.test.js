// Option validation (plain Node: no Durable Object involved).
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_OPTIONS, resolveOptions } from "../src/options.js";
import { statusOf } from "../src/errors.js";

test("defaults fill every option", () => {
  const o = resolveOptions({});
  assert.equal(o.shardCount, DEFAULT_OPTIONS.shardCount);
  assert.equal(o.durability, "durable");
  assert.equal(o.strategy, "random");
  assert.deepEqual(o.shard, {});
  assert.equal(o.shardSnapshotRowBytes, 4096);
  assert.equal(resolveOptions({ shardSnapshotRowBytes: 0 }).shardSnapshotRowBytes, 0);
  assert.equal(o.globalPackedRowBytes, 16384);
  assert.equal(resolveOptions({ globalPackedRowBytes: 0 }).globalPackedRowBytes, 0);
  assert.ok(Object.isFrozen(o));
});

test("engine settings pass through; unknown ones are rejected", () => {
  const o = resolveOptions({ shard: { flushAfterRequests: 10 }, global: { publishMode: "changes" } });
  assert.deepEqual(o.shard, { flushAfterRequests: 10 });
  assert.deepEqual(o.global, { publishMode: "changes" });
  assert.throws(() => resolveOptions({ shard: { flushAfter: 1 } }), { code: "INVALID_OPTIONS", option: "shard.flushAfter" });
  assert.throws(() => resolveOptions({ shard: { flushAfterRequest: 1 } }), { code: "INVALID_OPTIONS", option: "shard.flushAfterRequest", suggestion: "flushAfterRequests" });
  assert.throws(() => resolveOptions({ global: { flushAfterRequests: 1 } }), { code: "INVALID_OPTIONS", option: "global.flushAfterRequests" });
  // The objects set identity and seeds themselves.
  assert.throws(() => resolveOptions({ shard: { seed: 1 } }), { code: "INVALID_OPTIONS", option: "shard.seed" });
  assert.throws(() => resolveOptions({ global: { upstream: {} } }), { code: "INVALID_OPTIONS", option: "global.upstream" });
  // Values are the engine's to check, when an object builds its machine.
  assert.deepEqual(resolveOptions({ shard: { flushAfterRequests: -1 } }).shard, { flushAfterRequests: -1 });
});

test("bad options are typed errors naming the option", () => {
  const bad = [
    [{ shardCount: 0 }, "shardCount"],
    [{ shardCount: 2.5 }, "shardCount"],
    [{ strategy: "pinned" }, "strategy"],
    [{ durability: "sometimes" }, "durability"],
    [{ shardBinding: "" }, "shardBinding"],
    [{ basePath: "api/" }, "basePath"],
    [{ globalName: "shard:global" }, "globalName"],
    [{ shardCounts: 4 }, "shardCounts"],
    [{ shardSnapshotRowBytes: -1 }, "shardSnapshotRowBytes"],
    [{ shardSnapshotRowBytes: 1.5 }, "shardSnapshotRowBytes"],
    [{ shardSnapshotRowBytes: 2 ** 20 + 1 }, "shardSnapshotRowBytes"],
    [{ globalPackedRowBytes: -1 }, "globalPackedRowBytes"],
    [{ globalPackedRowBytes: 2 ** 20 + 1 }, "globalPackedRowBytes"],
  ];
  for (const [options, option] of bad) {
    assert.throws(() => resolveOptions(options), { code: "INVALID_OPTIONS", option }, JSON.stringify(options));
  }
});

test("error codes map to HTTP statuses", () => {
  assert.equal(statusOf("INVALID_BODY"), 400);
  assert.equal(statusOf("KEY_TOO_LONG"), 400);
  assert.equal(statusOf("NOT_FOUND"), 404);
  assert.equal(statusOf("METHOD_NOT_ALLOWED"), 405);
  assert.equal(statusOf("OVERFLOW"), 409);
  assert.equal(statusOf("TABLE_FULL"), 503);
  assert.equal(statusOf("SOMETHING_ELSE"), 500);
});
