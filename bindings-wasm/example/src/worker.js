// A Worker serving a sharded counter with the do-counter-sharding routes:
//   POST /increment/:name   POST /increments   GET /counters
//   POST /global/reset/:name   GET /global/counters   GET /global/writes
//   GET /global/shardWrites   GET /global/shards
//   GET /shard/:n/counters   POST /shard/:n/write
// Settings come from `vars` in wrangler.jsonc (all optional).
import { GlobalObject, ShardObject, counterWorker } from "shardtally-durable-object";

const num = (value, fallback) => (value === undefined || value === "" ? fallback : Number(value));

/** One options object for the shard class, the global class and the routes. */
export const options = (env) => ({
  shardBinding: "COUNTER_SHARDS",
  globalBinding: "COUNTER_GLOBAL",
  shardCount: num(env.SHARD_COUNT, 4),
  strategy: env.STRATEGY || "random",
  durability: env.DURABILITY || "durable",
  kvBinding: env.COUNTER_KV ? "COUNTER_KV" : null,
  kvPrefix: "counters",
  shard: {
    flushAfterRequests: num(env.FLUSH_AFTER_REQUESTS, 100),
    flushAfterIdleMs: num(env.FLUSH_AFTER_IDLE_MS, 5_000),
    flushMaxAgeMs: num(env.FLUSH_MAX_AGE_MS, 60_000),
  },
  global: {
    persistAfterWrites: num(env.PUBLISH_AFTER_WRITES, 100),
    persistAfterIdleMs: num(env.PUBLISH_AFTER_IDLE_MS, 5_000),
    persistMaxAgeMs: num(env.PUBLISH_MAX_AGE_MS, 60_000),
  },
});

/** Shard objects: named `shard:<n>` by the routes; buffer increments, flush by alarm. */
export class CounterShard extends ShardObject {
  static options = options;
}

/** The global object (named `global`): exact totals, write log, publishes. */
export class CounterGlobal extends GlobalObject {
  static options = options;
}

export default counterWorker(options);
