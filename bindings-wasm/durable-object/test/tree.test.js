// Fan-in tree layout and its options (plain Node: no Durable Object involved).
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveOptions } from "../src/options.js";
import {
  AGGREGATOR_INDEX_BASE,
  aggregatorLevels,
  aggregatorParent,
  childName,
  mapLimited,
  parseGlobalName,
  shardParent,
  upstreamIndex,
} from "../src/tree.js";

test("levels group by fanIn until at most fanIn nodes are left for the top", () => {
  assert.deepEqual(aggregatorLevels(4, 32), []);
  assert.deepEqual(aggregatorLevels(32, 32), []);
  assert.deepEqual(aggregatorLevels(33, 32), [2]);
  assert.deepEqual(aggregatorLevels(1000, 32), [32]);
  assert.deepEqual(aggregatorLevels(10_000, 32), [313, 10]);
  assert.deepEqual(aggregatorLevels(10_000, 2).length, 13);
  for (const [count, fanIn] of [[1000, 32], [10_000, 32], [10_000, 2], [777, 5]]) {
    const levels = aggregatorLevels(count, fanIn);
    const widths = [count, ...levels];
    for (let i = 1; i < widths.length; i++) assert.equal(widths[i], Math.ceil(widths[i - 1] / fanIn));
    assert.ok(widths[widths.length - 1] <= fanIn, "the top hears from at most fanIn children");
  }
});

test("every node's parent is one level up, and no node has more than fanIn children", () => {
  const options = resolveOptions({ shardCount: 10_000, fanIn: 32 });
  const children = new Map();
  const note = (parent, child) => children.set(parent, [...(children.get(parent) ?? []), child]);
  for (let n = 0; n < 10_000; n++) note(shardParent(options, n), `shard:${n}`);
  const levels = aggregatorLevels(10_000, 32);
  levels.forEach((count, i) => {
    for (let index = 0; index < count; index++) note(aggregatorParent(options, i + 1, index), `global:${i + 1}:${index}`);
  });
  assert.deepEqual(children.get("global").length, 10);
  assert.ok([...children.values()].every((c) => c.length <= 32));
  assert.equal(shardParent(options, 9999), "global:1:312");
  assert.equal(aggregatorParent(options, 1, 312), "global:2:9");
  assert.equal(aggregatorParent(options, 2, 9), "global");
  // A level the options no longer have reports to the top.
  assert.equal(aggregatorParent(options, 5, 0), "global");
  assert.equal(shardParent(resolveOptions({ shardCount: 4 }), 3), "global");
});

test("names and engine indices of aggregators round-trip and stay clear of shard numbers", () => {
  const options = resolveOptions({});
  assert.deepEqual(parseGlobalName("global", options), { level: 0, index: 0 });
  assert.deepEqual(parseGlobalName("global:2:17", options), { level: 2, index: 17 });
  for (const bad of ["global:0:1", "global:1:01", "global:1", "global:17:0", "global:1:100000", "other", null, "global:1:x"]) {
    assert.equal(parseGlobalName(bad, options), null, String(bad));
  }
  const i = upstreamIndex(2, 17);
  assert.ok(i >= AGGREGATOR_INDEX_BASE && i < 2 ** 32);
  assert.equal(childName(options, i), "global:2:17");
  assert.equal(childName(options, 9999), "shard:9999");
});

test("fan-in options are checked", () => {
  assert.equal(resolveOptions({}).fanIn, 32);
  assert.equal(resolveOptions({}).kvMaxKeys, 100_000);
  assert.deepEqual(resolveOptions({ aggregator: { flushAfterIdleMs: 100 } }).aggregator, { flushAfterIdleMs: 100 });
  for (const [options, option] of [
    [{ fanIn: 1 }, "fanIn"],
    [{ fanIn: 2.5 }, "fanIn"],
    [{ kvMaxKeys: -1 }, "kvMaxKeys"],
    [{ aggregator: { flushAfterRequest: 1 } }, "aggregator.flushAfterRequest"],
    [{ aggregator: { incarnation: 1 } }, "aggregator.incarnation"],
  ]) {
    assert.throws(() => resolveOptions(options), { code: "INVALID_OPTIONS", option }, JSON.stringify(options));
  }
});

test("mapLimited keeps order, bounds concurrency and reports the first failure", async () => {
  let running = 0;
  let most = 0;
  const out = await mapLimited([...Array(20).keys()], 3, async (i) => {
    running += 1;
    most = Math.max(most, running);
    await new Promise((r) => setImmediate(r));
    running -= 1;
    return i * 2;
  });
  assert.deepEqual(out, [...Array(20).keys()].map((i) => i * 2));
  assert.equal(most, 3);
  await assert.rejects(
    mapLimited([1, 2, 3], 2, async (i) => {
      if (i === 2) throw new Error("two");
      return i;
    }),
    /two/,
  );
});
