// How a TypeScript Worker uses the shim; type-checked by scripts/test.sh (`tsc --noEmit`),
// not executed. It proves src/index.d.ts names real types of shardtally-wasm.
import { CounterClient, GlobalObject, ShardObject, counterWorker, resolveOptions, type CounterOptions } from "../../src/index.js";

const options: CounterOptions = {
  shardCount: 8,
  strategy: "hash",
  shard: { flushAfterRequests: 100, flushAfterIdleMs: 5_000 },
  global: { persistAfterWrites: 100, publishMode: "changes" },
};
// @ts-expect-error a misspelt engine setting (INVALID_OPTIONS at run time)
export const misspelt: CounterOptions = { shard: { flushAfterRequest: 100 } };
// @ts-expect-error the shard objects choose their seeds
export const seeded: CounterOptions = { shard: { seed: 1 } };

export class Shards extends ShardObject {
  static options = options;
}
export class Totals extends GlobalObject {
  static options = options;
}
export default counterWorker(options);

/** Admin routes for a bearer token; the dashboard asks a browser to log in. */
export const guarded: CounterOptions = {
  ...options,
  authorize: async (request, route, env: { ADMIN_TOKEN?: string }) => {
    if (request.headers.get("authorization") === `Bearer ${env.ADMIN_TOKEN}`) return true;
    return route.name === "dashboard" ? new Response(null, { status: 401, headers: { "www-authenticate": "Basic" } }) : false;
  },
  allowName: (name) => name.startsWith("page:"),
  maxNameBytes: 128,
  fanOutConcurrency: 4,
};
// @ts-expect-error authorize is a function
export const notAHook: CounterOptions = { authorize: "token" };

export async function use(env: unknown): Promise<number> {
  const counter = new CounterClient(env, options);
  await counter.increment("page:/home");
  const writes = await counter.shardWrites();
  const totals = await counter.liveCounters();
  return Object.keys(writes.shardWrites).length + Object.keys(totals).length + resolveOptions(options).shardCount;
}

/** A fan-in tree past 32 shards, and what the objects answer. */
export const tree: CounterOptions = { ...options, shardCount: 1000, fanIn: 32, kvMaxKeys: 50_000, shardSnapshotRowBytes: 8192, aggregator: { flushAfterIdleMs: 1_000 } };
export async function objects(shard: Shards, top: Totals): Promise<number> {
  const { count } = await shard.incrementCoalesced([["page:/home", 3]], 3);
  const settled = await top.settle();
  const page = await top.published({ limit: 1000 });
  const reset = await top.reset("page:/home");
  const undelivered = reset.type === "reset" ? reset.undelivered.length : 0;
  const io = await shard.stats();
  const oneRow: boolean = io.storageLayout === "snapshot";
  return Number(oneRow) + count + settled.children + Object.keys(page.counters).length + undelivered + io.storageTransactions + (page.next === null ? 0 : 1);
}
