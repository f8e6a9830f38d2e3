// The load script's Worker: the shim's HTTP routes in both durability modes and the
// baseline (do-counter-sharding's design, bench/baseline.js), each under its own path:
//   POST /durable/increment/:name    POST /buffered/increment/:name    (counterWorker)
//   POST /baseline/increment/:name   (forwarded to a random baseline shard's fetch)
//   GET /stats?setup=S               every object's I/O counters (summed) and the totals
//   POST /flush?setup=S              flushes every shard (to check the totals)
import { CounterClient, GlobalObject, ShardObject, counterWorker } from "../src/index.js";

export { BaselineGlobal, BaselineShard } from "./baseline.js";

/** Settings of the run (variables): shard count, the shim's coalescing and its window. */
const setupOptions = (env, durability, prefix) => ({
  shardBinding: `${prefix}_SHARDS`,
  globalBinding: `${prefix}_GLOBAL`,
  shardCount: Number(env.SHARD_COUNT ?? 4),
  strategy: "random",
  durability,
  kvBinding: "BENCH_KV",
  kvPrefix: durability,
  basePath: `/${durability}`,
  coalesce: env.COALESCE !== "0",
  ...(env.COALESCE_WINDOW_MS ? { coalesceWindowMs: Number(env.COALESCE_WINDOW_MS) } : {}),
  // The load script's own Worker on loopback: its admin routes are open.
  authorize: () => true,
});
const durable = (env) => setupOptions(env, "durable", "DURABLE");
const buffered = (env) => setupOptions(env, "buffered", "BUFFERED");

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

const workers = { durable: counterWorker(durable), buffered: counterWorker(buffered) };
const SHIM = { durable, buffered };

const sum = (list, field) => list.reduce((n, s) => n + Number(s[field] ?? 0), 0);

async function stats(setup, env) {
  const shardCount = Number(env.SHARD_COUNT ?? 4);
  if (setup === "baseline") {
    const shards = await Promise.all(Array.from({ length: shardCount }, (_, n) => env.BASELINE_SHARDS.getByName(`shard${n}`).stats()));
    const global = await env.BASELINE_GLOBAL.getByName("global").stats();
    const pending = shards.reduce((n, s) => n + s.pending, 0);
    const total = Object.values(global.counters).reduce((a, b) => a + b, 0);
    return { shard: { storageWrites: sum(shards, "storageWrites"), alarmWrites: 0 }, global, total: total + pending };
  }
  const client = new CounterClient(env, SHIM[setup]);
  const shards = await Promise.all(Array.from({ length: shardCount }, (_, n) => client.shard(n).stats()));
  const global = await client.global().stats();
  const totals = await client.liveCounters();
  const total = Object.values(totals).reduce((a, b) => a + Number(b), 0);
  return {
    shard: {
      storageWrites: sum(shards, "storageWrites"),
      alarmWrites: sum(shards, "alarmWrites"),
      increments: sum(shards, "increments"),
      calls: sum(shards, "coalescedCalls"),
    },
    global: { storageWrites: global.storageWrites, alarmWrites: global.alarmWrites },
    total,
  };
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const setup = url.pathname.split("/")[1];
    if (setup === "durable" || setup === "buffered") return workers[setup].fetch(request, env, ctx);
    if (setup === "baseline") {
      // do-counter-sharding's Worker: the request goes on to a random shard's fetch, with
      // the shard's name in a header.
      const n = Math.floor(Math.random() * Number(env.SHARD_COUNT ?? 4));
      const headers = new Headers(request.headers);
      headers.set("shardName", `shard${n}`);
      return env.BASELINE_SHARDS.getByName(`shard${n}`).fetch(new Request(request, { headers }));
    }
    const which = url.searchParams.get("setup");
    if (url.pathname === "/stats") return Response.json(await stats(which, env));
    if (url.pathname === "/flush") {
      if (which === "baseline") {
        const shardCount = Number(env.SHARD_COUNT ?? 4);
        await Promise.all(Array.from({ length: shardCount }, (_, n) => env.BASELINE_SHARDS.getByName(`shard${n}`).writeToGlobal("requestWrite")));
        return Response.json({ ok: true });
      }
      return Response.json(await new CounterClient(env, SHIM[which]).flushAll());
    }
    return new Response("no such route", { status: 404 });
  },
};
