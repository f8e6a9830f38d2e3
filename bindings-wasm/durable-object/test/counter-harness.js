// Starts the counter test Worker (test/workers/counter.js) in workerd, with functions
// shared by the scenario tests.
import { fileURLToPath } from "node:url";
import { startWorker, waitFor } from "./harness.js";

/** Durable Object bindings of the counter test Worker: SQLite-backed, as deployed. */
export const COUNTER_OBJECTS = {
  COUNTER_SHARDS: { className: "TestShard", useSQLite: true },
  COUNTER_GLOBAL: { className: "TestGlobal", useSQLite: true },
};

/**
 * Variables under which shards and the global act only when the test asks: no flush by
 * count, idle time or age, no persist timers.
 */
export const MANUAL = Object.freeze({
  FLUSH_AFTER_REQUESTS: "0",
  FLUSH_AFTER_IDLE_MS: "0",
  FLUSH_MAX_AGE_MS: "0",
  PERSIST_AFTER_IDLE_MS: "0",
  PERSIST_MAX_AGE_MS: "0",
});

/**
 * Starts the counter test Worker.
 * @param {Record<string, string>} [bindings] variables (DURABILITY, STRATEGY, SHARD_COUNT, FAN_IN, ...)
 * @param {string} [persist] directory to persist Durable Objects and KV in
 */
export function startCounter(bindings = {}, persist) {
  return startWorker({
    entry: fileURLToPath(new URL("./workers/counter.js", import.meta.url)),
    durableObjects: COUNTER_OBJECTS,
    kvNamespaces: ["COUNTER_KV"],
    bindings,
    persist,
  });
}

/** Calls a test route and returns its JSON, failing on an error status. */
export async function call(worker, method, path, body) {
  const r = await worker.request(method, path, body);
  if (r.status !== 200) throw new Error(`${method} ${path} answered ${r.status}: ${r.text}`);
  return r.json;
}

/** Reads every object's I/O counters and views. */
export async function stats(worker) {
  return call(worker, "GET", "/__test/stats");
}

/**
 * Waits until every shard has nothing pending and nothing in flight (so the global applied
 * everything the shards accepted) and the global has published its last change, driven by
 * the objects' own alarms; returns the final stats.
 */
export async function settle(worker, ms = 20_000) {
  return waitFor(
    async () => {
      const s = await stats(worker);
      const shardsIdle = s.views.every((v) => v.pending.length === 0 && v.inFlight === null);
      const published = s.global.view.publishedVersion === s.global.view.stats.publishes;
      return shardsIdle && published && s.global.view.nextDeadline === null ? s : null;
    },
    ms,
    "every shard idle and the last change published",
  );
}

/**
 * Ships everything to the top global now, through every level of the tree, and publishes
 * (`GlobalObject.settle`): no waiting for alarms.
 */
export async function flushTree(worker) {
  const result = await call(worker, "POST", "/__test/settle");
  if (!result.idle) throw new Error(`the tree did not settle: ${JSON.stringify(result)}`);
  return result;
}
