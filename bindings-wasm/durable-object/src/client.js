// Worker-side access to a sharded counter: picks a shard for each increment (the engine's
// `Router`) and calls the shard and global objects by RPC.

import { Router } from "./engine.js";
import { CounterError } from "./errors.js";
import { optionsFor } from "./options.js";
import { globalStub, shardStub } from "./stubs.js";
import { randomSeed } from "./views.js";

const routers = new WeakMap();

function routerFor(options) {
  let router = routers.get(options);
  if (!router) {
    // One router per isolate and options: `random` draws from a seed chosen here (the
    // host's randomness), `round_robin` keeps its position across requests.
    router = new Router({ strategy: options.strategy, shardCount: options.shardCount, seed: randomSeed() });
    routers.set(options, router);
  }
  return router;
}

/**
 * A client of one sharded counter, used inside a Worker (or any code with the bindings).
 *
 * ```js
 * const counter = new CounterClient(env, options);
 * await counter.increment("page:/home");
 * const totals = await counter.liveCounters();
 * ```
 */
export class CounterClient {
  /**
   * @param {object} env the Worker environment holding the two Durable Object bindings
   * @param {object | ((env: object) => object)} options the shim options (see README)
   */
  constructor(env, options = {}) {
    this.env = env;
    this.options = optionsFor(options, env);
    for (const binding of [this.options.shardBinding, this.options.globalBinding]) {
      if (!env?.[binding]) {
        throw new CounterError("MISSING_BINDING", `no Durable Object binding ${binding} in env`, { binding });
      }
    }
    this.router = routerFor(this.options);
  }

  /**
   * The stub of shard `n`.
   * @param {number} n shard number in `0..shardCount`
   */
  shard(n) {
    if (!Number.isInteger(n) || n < 0 || n >= this.options.shardCount) {
      throw new CounterError("SHARD_OUT_OF_RANGE", `shard ${n} is not in 0..${this.options.shardCount}`, {
        shard: n,
        shardCount: this.options.shardCount,
      });
    }
    return shardStub(this.env, this.options, n);
  }

  /** The stub of the global object. */
  global() {
    return globalStub(this.env, this.options);
  }

  /**
   * Adds `delta` (default 1) to counter `name` through the shard the router picks.
   * @param {string} name
   * @param {number | bigint} [delta]
   * @returns {Promise<{shard: number}>}
   */
  async increment(name, delta = 1) {
    if (typeof name !== "string") {
      throw new CounterError("INVALID_NAME", "a counter name must be a string", { name });
    }
    return this.shard(this.router.route(name)).increment(name, delta);
  }

  /**
   * Adds several deltas as one atomic request on one shard (routed by the first name).
   * @param {Record<string, number | bigint> | Array<[string, number | bigint]>} entries
   * @returns {Promise<{shard: number, count: number}>}
   */
  async increments(entries) {
    const first = Array.isArray(entries) ? entries[0]?.[0] : entries && typeof entries === "object" ? Object.keys(entries)[0] : undefined;
    if (typeof first !== "string") {
      throw new CounterError("INVALID_BODY", "increments need at least one [name, delta] entry", {});
    }
    return this.shard(this.router.route(first)).increments(entries);
  }

  /**
   * The published totals (`{name: total}`): read from KV when `options.kvBinding` is set
   * (what do-counter-sharding's `/counters` served), else from the global's last publish.
   */
  async counters() {
    const kv = this.options.kvBinding ? this.env[this.options.kvBinding] : null;
    if (kv) return (await kv.get(`${this.options.kvPrefix}~counters`, "json")) ?? {};
    return (await this.global().published()).counters;
  }

  /** The global's live totals. */
  liveCounters() {
    return this.global().counters();
  }

  /**
   * One live total.
   * @param {string} name
   */
  total(name) {
    return this.global().total(name);
  }

  /**
   * Resets counter `name` (SPEC §4).
   * @param {string} name
   */
  reset(name) {
    return this.global().reset(name);
  }

  /** The global's write log, newest first. */
  writes() {
    return this.global().writes();
  }

  /** Writes and summed deltas per shard. */
  shardWrites() {
    return this.global().shardWrites();
  }

  /** Pending deltas of every shard, indexed by shard number. */
  shards() {
    return Promise.all(Array.from({ length: this.options.shardCount }, (_, n) => this.shard(n).counters()));
  }

  /**
   * Pending deltas of shard `n`.
   * @param {number} n
   */
  shardCounters(n) {
    return this.shard(n).counters();
  }

  /**
   * Flushes shard `n` now and waits for the global's answer.
   * @param {number} n
   */
  flush(n) {
    return this.shard(n).flush();
  }

  /** Flushes every shard. */
  flushAll() {
    return Promise.all(Array.from({ length: this.options.shardCount }, (_, n) => this.shard(n).flush()));
  }
}
