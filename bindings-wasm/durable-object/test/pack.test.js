// The packed row (src/pack.js) against the engine itself, in Node: random sessions of a
// global (batches from several shard lives, new lives that push old ones out of the dedup
// table, resets, publishes acknowledged later, a small write-log ring) whose
// every change journal goes into a RowPack and its pages, stored as the Durable Object
// stores them; after every step the global rebuilt from the packed row and the pages has
// the live one's snapshot, byte for byte. And corrupt packed rows are typed errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Global, GlobalBuilder, Shard } from "shardtally-wasm";
import { PAGE_RECORDS, RowPack, compareBytes } from "../src/pack.js";

/** A seeded generator (xorshift32): the sessions are the same on every run. */
function rng(seed) {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

/** The pages table as SQL keeps it: by first key, `last` for the ring's deletes. */
class Pages {
  constructor() {
    this.rows = new Map();
  }

  apply({ pages, trimmedBelow, cleared }) {
    if (cleared) this.rows.clear();
    if (trimmedBelow !== null) for (const [k, p] of this.rows) if (compareBytes(p.last, trimmedBelow) < 0) this.rows.delete(k);
    for (const p of pages) this.rows.set(p.first.join(","), p);
  }

  /** Page values in key order (`ORDER BY k`). */
  values() {
    return [...this.rows.values()].sort((a, b) => compareBytes(a.first, b.first)).map((p) => p.value);
  }
}

/** Increments `entries` at shard `s`, flushes, and hands the batch to `g` and its acknowledgement back. */
function deliver(s, entries, g, now) {
  s.increments(entries, now);
  if (s.flush(now).type !== "sent") return;
  let out;
  while ((out = s.pollOutput()) !== null && out !== undefined) if (out.type === "batch") s.handleAck(g.handleBatch(out.bytes, now), now);
}

function rebuilt(pack, pages, settings) {
  const builder = new GlobalBuilder(settings);
  for (const page of RowPack.decode(pack.encode()).pairs(GlobalBuilder.readFirst(), pages.values())) builder.add(page);
  return builder.finish();
}

test("a global rebuilt from its packed row and pages equals the live one after every step", () => {
  for (let session = 0; session < 24; session++) {
    const draw = rng(0x9e3779b9 + session);
    const shardCount = 1 + draw(4);
    const settings = { writeLogCapacity: 5 + draw(80), persistAfterWrites: 1 + draw(20), maxDedupEntries: shardCount + 2, seed: session };
    const g = new Global(settings);
    let pack = new RowPack();
    const pages = new Pages();
    pages.apply(pack.apply(g.takeChanges()));
    let lives = 0;
    const life = (i) => new Shard({ shard: i, incarnation: ++lives, flushAfterRequests: 0, seed: session });
    const shards = Array.from({ length: shardCount }, (_, i) => life(i));
    const publishes = [];
    const seen = { batches: 0, pruned: 0, published: 0, trimmed: 0 };
    let now = 1;
    for (let step = 0; step < 150; step++) {
      now += 1 + draw(50);
      const action = draw(12);
      if (action < 7) {
        const s = shards[draw(shards.length)];
        const entries = {};
        for (let i = 0, n = 1 + draw(6); i < n; i++) entries[`k${draw(30)}`] = 1 + draw(9);
        deliver(s, entries, g, now);
      } else if (action < 8) {
        g.reset(`k${draw(30)}`, now);
      } else if (action < 9) {
        // A shard index starts a new life (its old one is pruned once the table is full).
        const i = draw(shards.length);
        shards[i] = life(i);
      } else if (action < 10 && publishes.length > 0) {
        // A publish stored earlier is acknowledged now (its row goes).
        g.handlePublishAck(publishes.shift(), now);
        seen.published += 1;
      } else {
        g.handleTimeout(now);
      }
      let out;
      while ((out = g.pollOutput()) !== null && out !== undefined) if (out.type === "publish") publishes.push(out.version);
      const ops = g.takeChanges();
      seen.pruned += ops.filter((o) => o.op === "delete" && o.table === "dedup").length;
      seen.trimmed += ops.filter((o) => o.op === "delete_below").length;
      pages.apply(pack.apply(ops));
      // Now and then the mirror is the stored row read back, as after a restart.
      if (draw(10) === 0) pack = RowPack.decode(pack.encode());
      assert.deepEqual(rebuilt(pack, pages, settings).snapshot(), g.snapshot(), `session ${session}, step ${step}`);
      // Under a larger ring the records the ring passed stay gone (as in the row layout).
      assert.deepEqual(rebuilt(pack, pages, { ...settings, writeLogCapacity: 1000 }).writeLog(), g.writeLog());
      // What is stored of the write log is the ring and at most a page more.
      const tail = pack.tables.get("writes")?.size ?? 0;
      assert.ok(tail < PAGE_RECORDS, `records in the packed row: ${tail}`);
      assert.ok(pages.rows.size <= Math.ceil(settings.writeLogCapacity / PAGE_RECORDS) + 1, `pages kept: ${pages.rows.size}`);
    }
    seen.batches = Number(g.stats().totalWrites);
    assert.ok(seen.batches > 50 && seen.pruned > 0 && seen.published > 0 && seen.trimmed > 0, `session ${session} exercised: ${JSON.stringify(seen)}`);
  }
});

test("an aggregator (a global with an upstream shard) rebuilt from its packed row equals the live one", () => {
  for (let session = 0; session < 8; session++) {
    const draw = rng(0x51ed270b + session);
    const upstream = { shard: 3, incarnation: 11 + session, flushAfterRequests: 1 + draw(5), seed: session };
    const settings = { writeLogCapacity: 5 + draw(60), publishMode: "changes", seed: session, upstream };
    const g = new Global(settings);
    const top = new Global({ seed: session });
    let pack = new RowPack();
    const pages = new Pages();
    pages.apply(pack.apply(g.takeChanges()));
    const leaves = [0, 1].map((i) => new Shard({ shard: i, incarnation: 100 + i, flushAfterRequests: 0, seed: session }));
    const held = [];
    let forwarded = 0;
    let now = 1;
    for (let step = 0; step < 120; step++) {
      now += 1 + draw(40);
      const action = draw(5);
      if (action < 3) {
        const s = leaves[draw(leaves.length)];
        deliver(s, { [`k${draw(12)}`]: 1 + draw(5) }, g, now);
      } else if (action < 4 && held.length > 0) {
        // A forwarded batch reaches the parent; its acknowledgement comes back.
        g.handleUpstreamAck(top.handleBatch(held.shift(), now), now);
        forwarded += 1;
      } else {
        g.handleTimeout(now);
      }
      let out;
      while ((out = g.pollOutput()) !== null && out !== undefined) {
        if (out.type === "forward") held.push(out.bytes);
        else if (out.type === "publish") g.handlePublishAck(out.version, now);
      }
      pages.apply(pack.apply(g.takeChanges()));
      if (draw(8) === 0) pack = RowPack.decode(pack.encode());
      // The builder takes the upstream shard's settings without its identity (in its rows).
      const stored = { ...settings, upstream: { flushAfterRequests: upstream.flushAfterRequests } };
      assert.deepEqual(rebuilt(pack, pages, stored).snapshot(), g.snapshot(), `session ${session}, step ${step}`);
    }
    assert.ok(forwarded > 0 && [...pack.tables.keys()].some((t) => t.startsWith("upstream.")), `session ${session} forwarded ${forwarded} batches`);
  }
});

test("a corrupt packed row or page is DECODE_CORRUPT", () => {
  const g = new Global({});
  const s = new Shard({ shard: 0, incarnation: 7, flushAfterRequests: 0 });
  s.increments({ a: 1, b: 2 }, 1);
  s.flush(2);
  g.handleBatch(s.pollOutput().bytes, 3);
  const pack = new RowPack();
  pack.apply(g.takeChanges());
  const bytes = pack.encode();
  assert.throws(() => RowPack.decode(bytes.subarray(0, bytes.length - 3)), { code: "DECODE_CORRUPT" });
  const magic = bytes.slice();
  magic[0] ^= 1;
  assert.throws(() => RowPack.decode(magic), { code: "DECODE_CORRUPT" });
  // A changed byte inside a row's value: the engine's checksum of that row.
  const flipped = bytes.slice();
  flipped[bytes.length - 2] ^= 0x40;
  assert.throws(
    () => {
      const builder = new GlobalBuilder({});
      for (const page of RowPack.decode(flipped).pairs(GlobalBuilder.readFirst(), [])) builder.add(page);
      builder.finish();
    },
    (error) => String(error.code).startsWith("DECODE_"),
  );
  // A page cut short.
  assert.throws(() => [...pack.pairs([], [new Uint8Array([0, 0, 0, 9, 1])])], { code: "DECODE_CORRUPT" });
});
