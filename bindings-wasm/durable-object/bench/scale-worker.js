// The Worker of the scale bench (bench/scale.mjs): 16 shards and a global of the shim,
// driven by RPC from routes the bench calls. Nothing flushes by itself: the bench fills the
// counters in batches, then sends a stream of 100-increment batches and reads each object's
// storage I/O around every one.
import { GlobalObject, ShardObject } from "../src/index.js";
import { mapLimited } from "../src/tree.js";
// The engine's WebAssembly instance (the module the package's workerd entry initialised:
// `initSync` returns its exports once it is), to read the size of its memory.
import { initSync } from "../node_modules/shardtally-wasm/shardtally_wasm.js";

const SHARDS = 16;
/** Counters per filling batch (a shard's in-flight batch is one row: keep it well below 2 MB). */
const FILL_BATCH = 5_000;

const options = (env) => ({
  shardBinding: "SHARDS",
  globalBinding: "GLOBAL",
  shardCount: SHARDS,
  durability: "durable",
  kvBinding: null,
  shard: { flushAfterRequests: 100, flushAfterIdleMs: 0, flushMaxAgeMs: 0, maxPendingKeys: FILL_BATCH * 2 },
  global: {
    publishMode: "changes",
    persistAfterWrites: 0,
    persistAfterIdleMs: 0,
    persistMaxAgeMs: 0,
    maxKeys: Math.max(1_000_000, Number(env.COUNTERS)),
  },
});

export class ScaleShard extends ShardObject {
  static options = options;
}
export class ScaleGlobal extends GlobalObject {
  static options = options;

  /** Bytes of WebAssembly memory in this isolate (it only grows: the peak of every engine in it). */
  benchWasmBytes() {
    return initSync().memory.buffer.byteLength;
  }
}

const json = (value) => new Response(JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
const key = (i) => `c${i}`;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const body = request.method === "POST" ? await request.json().catch(() => ({})) : {};
    const shard = (n) => env.SHARDS.getByName(`shard:${n}`);
    const global = env.GLOBAL.getByName("global");
    switch (url.pathname) {
      case "/fill": {
        // Counters i in [from, to) each +1 on shard i % 16, in batches of FILL_BATCH.
        const { from, to } = body;
        await mapLimited([...Array(SHARDS).keys()], 4, async (s) => {
          let entries = [];
          for (let i = from + ((s - (from % SHARDS) + SHARDS) % SHARDS); i < to; i += SHARDS) {
            entries.push([key(i), 1]);
            if (entries.length === FILL_BATCH) {
              await shard(s).increments(entries);
              await shard(s).settle();
              entries = [];
            }
          }
          if (entries.length > 0) {
            await shard(s).increments(entries);
            await shard(s).settle();
          }
        });
        return json({ ok: true });
      }
      case "/batch": {
        // One 100-increment batch: 100 concurrent single increments of distinct counters
        // on one shard (its flushAfterRequests is 100), then its acknowledgement.
        const { n, keys } = body;
        const [gBefore, sBefore] = await Promise.all([global.stats(), shard(n).stats()]);
        await Promise.all(keys.map((i) => shard(n).increment(key(i), 1)));
        await shard(n).settle();
        const [gAfter, sAfter] = await Promise.all([global.stats(), shard(n).stats()]);
        const delta = (a, b) => ({ rows: b.storageWrites - a.storageWrites, bytes: b.storageWriteBytes - a.storageWriteBytes, tx: b.storageTransactions - a.storageTransactions });
        return json({ global: delta(gBefore, gAfter), shard: delta(sBefore, sAfter), batches: gAfter.batches - gBefore.batches });
      }
      case "/publish": {
        const before = await global.stats();
        const started = Date.now();
        const outcome = await global.publish();
        const after = await global.stats();
        return json({ outcome, ms: Date.now() - started, rows: after.storageWrites - before.storageWrites, bytes: after.storageWriteBytes - before.storageWriteBytes });
      }
      case "/stats":
        return json({ global: await global.stats(), view: await global.view() });
      case "/total":
        return json(await global.total(url.searchParams.get("key")));
      case "/page":
        return json(await global.published(body));
      case "/memory":
        return json(await global.benchWasmBytes());
      default:
        return new Response("not found", { status: 404 });
    }
  },
};
