// The load script's Worker: the shim in both durability modes and the baseline objects,
// and a `/run` route that drives one shard object from inside workerd.
import { GlobalObject, ShardObject } from "../src/index.js";

export { BaselineGlobal, BaselineShard } from "./baseline.js";

const common = { shardCount: 1, strategy: "hash", kvBinding: "BENCH_KV" };
const durable = { ...common, shardBinding: "DURABLE_SHARDS", globalBinding: "DURABLE_GLOBAL", durability: "durable", kvPrefix: "durable" };
const buffered = { ...common, shardBinding: "BUFFERED_SHARDS", globalBinding: "BUFFERED_GLOBAL", durability: "buffered", kvPrefix: "buffered" };

export class DurableShard extends ShardObject {
  static options = durable;
}
export class DurableGlobal extends GlobalObject {
  static options = durable;
}
export class BufferedShard extends ShardObject {
  static options = buffered;
}
export class BufferedGlobal extends GlobalObject {
  static options = buffered;
}

const SETUPS = {
  durable: { shards: "DURABLE_SHARDS", global: "DURABLE_GLOBAL", shardName: "shard:0" },
  buffered: { shards: "BUFFERED_SHARDS", global: "BUFFERED_GLOBAL", shardName: "shard:0" },
  baseline: { shards: "BASELINE_SHARDS", global: "BASELINE_GLOBAL", shardName: "shard:0" },
};

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const setup = SETUPS[url.searchParams.get("setup")];
    if (!setup) return new Response("unknown setup", { status: 404 });
    const shard = env[setup.shards].getByName(setup.shardName);
    const global = env[setup.global].getByName("global");
    if (url.pathname === "/stats") {
      return Response.json({ shard: await shard.stats(), global: await global.stats() });
    }
    const n = Number(url.searchParams.get("n"));
    const concurrency = Number(url.searchParams.get("concurrency"));
    const keys = Number(url.searchParams.get("keys") ?? 4);
    await shard.stats(); // wake the object: start-up is not part of the timing
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          const i = next++;
          await shard.increment(`k${i % keys}`, 1);
        }
      }),
    );
    const ms = performance.now() - started;
    return Response.json({ n, ms });
  },
};
