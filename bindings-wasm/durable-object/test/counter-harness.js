// Starts the counter test Worker (test/workers/counter.js) in workerd, with functions
// shared by the scenario tests.
import { fileURLToPath } from "node:url";
import { startWorker, waitFor } from "./harness.js";

/** Durable Object bindings of the counter test Worker. */
export const COUNTER_OBJECTS = { COUNTER_SHARDS: "TestShard", COUNTER_GLOBAL: "TestGlobal" };

/**
 * Starts the counter test Worker.
 * @param {Record<string, string>} [bindings] variables (DURABILITY, STRATEGY, GLOBAL_DELAY_MS, ...)
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

/** Reads every object's I/O counters and views. */
export async function stats(worker) {
  const { json } = await worker.request("GET", "/__test/stats");
  return json;
}

/**
 * Waits until every shard has nothing pending and nothing in flight (so the global applied
 * everything the shards accepted) and the global has published its last change; returns
 * the final stats.
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
