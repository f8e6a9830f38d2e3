// Worker-side access to a sharded counter: picks a shard for each increment (the engine's
// `Router`), coalesces the increments that arrive while a shard is busy into one RPC, and
// calls the shard and global objects with bounded fan-out.

import { Router } from "./engine.js";
import { CounterError } from "./errors.js";
import { baseOptions, optionsFor } from "./options.js";
import { globalStub, shardStub } from "./stubs.js";
import { randomSeed } from "./views.js";

/** Most requests one coalesced call carries (a fuller group waits for the next call). */
export const MAX_GROUP_REQUESTS = 1024;
/** Most distinct counters one coalesced call carries. */
export const MAX_GROUP_KEYS = 256;
/** Most increments waiting for one shard in this isolate; beyond, `BUSY` (503). */
export const MAX_QUEUED = 16_384;
/** Most `hash` routes remembered per isolate (the engine's answers, by counter name). */
const ROUTE_CACHE = 4096;

/** Engine errors that reject an input as a whole and change nothing (safe to split). */
const REJECTS_INPUT = new Set([
  "OVERFLOW",
  "TABLE_FULL",
  "EMPTY_KEY",
  "KEY_TOO_LONG",
  "INVALID_KEY",
  "INVALID_DELTA",
  "INVALID_ARGUMENT",
  "LENGTH_MISMATCH",
]);

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

const states = new WeakMap();

/**
 * Per isolate and options: the router (`random` draws from a seed chosen here, the host's
 * randomness; `round_robin` keeps its position across requests), the coalescing lane of
 * each shard, and the object ids (hashing a name into an id is not free).
 */
function stateFor(options) {
  const base = baseOptions(options);
  let state = states.get(base);
  if (!state) {
    state = {
      router: new Router({ strategy: base.strategy, shardCount: base.shardCount, seed: randomSeed() }),
      routes: new Map(),
      lanes: new Map(),
      ids: new WeakMap(),
    };
    states.set(base, state);
  }
  return state;
}

/**
 * UTF-8 length of a well-formed string, in bytes.
 * @param {string} s
 */
export function utf8Length(s) {
  let bytes = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A surrogate pair is 2 units and 4 bytes: each unit adds 1 more.
    if (c >= 0x80) bytes += c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 1 : 2;
  }
  return bytes;
}

/**
 * Checks a counter name against the options (`maxNameBytes` in UTF-8 bytes, `allowName`):
 * EMPTY_KEY, INVALID_NAME (not a string, or a lone surrogate: not UTF-8), KEY_TOO_LONG,
 * NAME_NOT_ALLOWED.
 * @param {object} options resolved options
 * @param {unknown} name
 */
export function checkName(options, name) {
  if (typeof name !== "string") throw new CounterError("INVALID_NAME", "a counter name must be a string", {});
  if (name.length === 0) throw new CounterError("EMPTY_KEY", "a counter name must not be empty", {});
  const limit = options.maxNameBytes;
  if (name.length * 3 > limit) {
    if (name.length > limit) throw tooLong(name.length, limit);
    if (!name.isWellFormed()) throw notUtf8();
    const bytes = utf8Length(name);
    if (bytes > limit) throw tooLong(bytes, limit);
  } else if (!name.isWellFormed()) {
    throw notUtf8();
  }
  if (options.allowName !== null && options.allowName(name) !== true) {
    throw new CounterError("NAME_NOT_ALLOWED", "this counter name is not allowed", { name });
  }
  return name;
}

function tooLong(bytes, limit) {
  return new CounterError("KEY_TOO_LONG", `the counter name exceeds ${limit} bytes (UTF-8)`, { bytes, limit });
}

function notUtf8() {
  return new CounterError("INVALID_NAME", "the counter name has a lone surrogate (not UTF-8)", {});
}

/**
 * Checks a delta: a safe integer or a bigint in the signed 64-bit range.
 * @param {unknown} delta
 */
export function checkDelta(delta) {
  if (typeof delta === "number" ? Number.isSafeInteger(delta) : typeof delta === "bigint" && delta >= I64_MIN && delta <= I64_MAX) {
    return delta;
  }
  throw new CounterError("INVALID_DELTA", "a delta must be a safe integer or a bigint within the signed 64-bit range", {
    delta: typeof delta === "bigint" ? delta.toString() : typeof delta === "number" ? delta : null,
  });
}

/** Exact sum of two deltas: a number while safe, else a bigint. */
function addDelta(a, b) {
  if (typeof a === "number" && typeof b === "number") {
    const sum = a + b;
    if (Number.isSafeInteger(sum)) return sum;
  }
  return BigInt(a) + BigInt(b);
}

/**
 * Runs `task(i)` for `i` in `0..count` with at most `concurrency` running at once, and
 * resolves to the results in order. After a failure no new task starts; it rejects with the
 * first error once the running ones settled.
 * @template T
 * @param {number} count
 * @param {number} concurrency
 * @param {(i: number) => Promise<T>} task
 * @returns {Promise<T[]>}
 */
export async function mapBounded(count, concurrency, task) {
  const results = new Array(count);
  let next = 0;
  let failure = null;
  const worker = async () => {
    while (failure === null && next < count) {
      const i = next++;
      try {
        results[i] = await task(i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  if (failure !== null) throw failure.error;
  return results;
}

/**
 * The increments waiting for one shard. While a call to the shard is in flight, new
 * increments join the open group; when the call returns (and `coalesceWindowMs` later),
 * the group's leader (the request that opened it, so the call runs in a request that waits
 * for it) sends the whole group as one `incrementCoalesced` call, and every member reads
 * its outcome from the group's result. An increment that finds the shard idle is sent at
 * once.
 *
 * Workers cancel a request that waits on a promise only another request can settle (it
 * looks hung), unless the promise was made by that other request: so the group's result
 * is one promise made by the leader, which every member awaits, and it never rejects
 * (outcomes are values).
 */
class Lane {
  /** @param {number | null} n the lane's shard, or null when each group's is routed */
  constructor(n) {
    this.n = n;
    /** The group new increments join, or null. */
    this.open = null;
    /** Settles when the last group sent so far has been answered (made by its leader). */
    this.tail = null;
    /** Increments waiting in unsent groups. */
    this.queued = 0;
  }
}

class Group {
  constructor() {
    /** Summed deltas per counter, in first-seen order. */
    this.sums = new Map();
    /** @type {Array<{name: string, delta: number | bigint}>} */
    this.members = [];
    /**
     * `{error}` (every member failed alike), `{shard, errors}` (per member: an error or
     * null) or `{shard}` (every member succeeded).
     * @type {Promise<{shard?: number, error?: unknown, errors?: unknown[]}>}
     */
    this.result = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  fits(name) {
    return this.members.length < MAX_GROUP_REQUESTS && (this.sums.size < MAX_GROUP_KEYS || this.sums.has(name));
  }

  /** Adds one increment; returns its index among the members. */
  add(name, delta) {
    const sum = this.sums.get(name);
    this.sums.set(name, sum === undefined ? delta : addDelta(sum, delta));
    return this.members.push({ name, delta }) - 1;
  }
}

/**
 * A client of one sharded counter, used inside a Worker (or any code with the bindings).
 *
 * ```js
 * const counter = new CounterClient(env, options, ctx);
 * await counter.increment("page:/home");
 * const totals = await counter.liveCounters();
 * ```
 */
export class CounterClient {
  /**
   * @param {object} env the Worker environment holding the two Durable Object bindings
   * @param {object | ((env: object) => object)} [options] the shim options (see README)
   * @param {{waitUntil(p: Promise<unknown>): void}} [ctx] the request's execution context:
   *   a coalesced call is registered with `waitUntil`, so it completes for the other
   *   requests it carries even if the request that sends it is cancelled
   */
  constructor(env, options = {}, ctx = undefined) {
    this.env = env;
    this.ctx = ctx;
    this.options = optionsFor(options, env);
    for (const binding of [this.options.shardBinding, this.options.globalBinding]) {
      if (!env?.[binding]) {
        throw new CounterError("MISSING_BINDING", `no Durable Object binding ${binding} in env`, { binding });
      }
    }
    this.state = stateFor(this.options);
    this.router = this.state.router;
  }

  /**
   * The stub of shard `n`.
   * @param {number} n shard number in `0..shardCount`
   */
  shard(n) {
    this.#checkShard(n);
    return shardStub(this.env, this.options, n);
  }

  #checkShard(n) {
    if (!Number.isInteger(n) || n < 0 || n >= this.options.shardCount) {
      throw new CounterError("SHARD_OUT_OF_RANGE", `shard ${n} is not in 0..${this.options.shardCount}`, {
        shard: n,
        shardCount: this.options.shardCount,
      });
    }
  }

  /** A stub of shard `n` from a cached id (the same object `shard(n)` names). */
  #shardById(n) {
    const ns = this.env[this.options.shardBinding];
    let ids = this.state.ids.get(ns);
    if (!ids) {
      ids = [];
      this.state.ids.set(ns, ids);
    }
    ids[n] ??= ns.idFromName(`${this.options.shardPrefix}${n}`);
    return ns.get(ids[n]);
  }

  /** The stub of the global object. */
  global() {
    return globalStub(this.env, this.options);
  }

  /**
   * Adds `delta` (default 1) to counter `name` through the shard the router picks, and
   * resolves once that shard accepted it (in durable mode: stored it). With
   * `options.coalesce` (default), increments for a shard that is busy with a call wait
   * and go together in its next call, one `incrementCoalesced` RPC for the whole group;
   * a group the shard's engine rejects (e.g. `OVERFLOW`, `TABLE_FULL`) is re-sent one
   * increment at a time, so each is answered with its own outcome.
   * @param {string} name
   * @param {number | bigint} [delta]
   * @returns {Promise<{shard: number}>}
   */
  async increment(name, delta = 1) {
    checkName(this.options, name);
    checkDelta(delta);
    if (!this.options.coalesce) {
      const n = this.router.route(name);
      await this.#shardById(n).increment(name, delta);
      return { shard: n };
    }
    // A counter's shard matters only to `hash` routing: a lane per shard then. Otherwise
    // one lane, and the router picks the shard of each group as it is sent.
    const n = this.options.strategy === "hash" ? this.#hashRoute(name) : null;
    return this.#coalesce(n, name, delta);
  }

  /** The engine's `hash` route of a name, remembered (it depends on the name alone). */
  #hashRoute(name) {
    const routes = this.state.routes;
    let n = routes.get(name);
    if (n === undefined) {
      if (routes.size >= ROUTE_CACHE) routes.clear();
      n = this.router.route(name);
      routes.set(name, n);
    }
    return n;
  }

  async #coalesce(n, name, delta) {
    const lanes = this.state.lanes;
    let lane = lanes.get(n);
    if (!lane) {
      lane = new Lane(n);
      lanes.set(n, lane);
    }
    let group = lane.open;
    let leader = false;
    if (group === null || !group.fits(name)) {
      if (lane.queued >= MAX_QUEUED) {
        throw new CounterError("BUSY", `too many increments are waiting for shard ${n}; retry shortly`, { shard: n });
      }
      group = new Group();
      lane.open = group;
      leader = true;
    }
    lane.queued += 1;
    const index = group.add(name, delta);
    if (leader) {
      const sent = this.#lead(lane, group);
      this.ctx?.waitUntil?.(sent);
    }
    const outcome = await group.result;
    const error = outcome.error ?? outcome.errors?.[index] ?? null;
    if (error !== null) throw error;
    return { shard: outcome.shard };
  }

  /** Waits for the lane's previous call, then sends `group` and settles its result. */
  async #lead(lane, group) {
    const previous = lane.tail;
    let release;
    const done = new Promise((resolve) => {
      release = resolve;
    });
    lane.tail = done;
    try {
      if (previous !== null) {
        // Under load: the shard was busy. Keep the group open a moment longer, so that the
        // requests answered by the previous call, and others, can join it.
        await previous;
        const windowMs = this.options.coalesceWindowMs;
        if (windowMs > 0) await new Promise((resolve) => setTimeout(resolve, windowMs));
      }
      if (lane.open === group) lane.open = null;
      lane.queued -= group.members.length;
      group.settle(await this.#send(lane.n ?? this.router.route(group.members[0].name), group));
    } catch (error) {
      group.settle({ error });
    } finally {
      if (lane.tail === done) lane.tail = null;
      release();
    }
  }

  /** Sends one group; its outcome for `Group.result`. */
  async #send(n, group) {
    const { members } = group;
    try {
      await this.#shardById(n).incrementCoalesced([...group.sums], members.length);
      return { shard: n };
    } catch (error) {
      if (members.length === 1 || !REJECTS_INPUT.has(error?.code)) return { error };
    }
    // The shard's engine rejected the group as a whole, so nothing of it was applied:
    // each increment on its own, so that only those that cannot be applied fail.
    const errors = await mapBounded(members.length, this.options.fanOutConcurrency, async (i) => {
      try {
        await this.#shardById(n).increment(members[i].name, members[i].delta);
        return null;
      } catch (error) {
        return error;
      }
    });
    return { shard: n, errors };
  }

  /**
   * Adds several deltas as one atomic request on one shard (routed by the first name).
   * @param {Record<string, number | bigint> | Array<[string, number | bigint]>} entries
   * @returns {Promise<{shard: number, count: number}>}
   */
  async increments(entries) {
    const list = Array.isArray(entries) ? entries : entries !== null && typeof entries === "object" ? Object.entries(entries) : [];
    if (list.length === 0) {
      throw new CounterError("INVALID_BODY", "increments need at least one [name, delta] entry", {});
    }
    for (const entry of list) {
      if (!Array.isArray(entry) || entry.length !== 2) {
        throw new CounterError("INVALID_BODY", "each entry must be a [name, delta] pair", {});
      }
      checkName(this.options, entry[0]);
      checkDelta(entry[1]);
    }
    const n = this.router.route(list[0][0]);
    return this.#shardById(n).increments(list);
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
    checkName({ ...this.options, allowName: null }, name);
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

  /**
   * The shard numbers of one page: `start` and at most `limit` (capped at
   * `options.fanOutLimit`) after it, within `0..shardCount`.
   * @param {number} [start]
   * @param {number} [limit]
   */
  page(start = 0, limit = this.options.fanOutLimit) {
    const { shardCount, fanOutLimit } = this.options;
    if (!Number.isInteger(start) || start < 0 || start >= shardCount) {
      throw new CounterError("SHARD_OUT_OF_RANGE", `start ${start} is not in 0..${shardCount}`, { shard: start, shardCount });
    }
    if (!Number.isInteger(limit) || limit < 1) {
      throw new CounterError("INVALID_ARGUMENT", "limit must be a positive integer", { limit });
    }
    const end = Math.min(shardCount, start + Math.min(limit, fanOutLimit));
    return { start, end, next: end < shardCount ? end : null };
  }

  /**
   * Pending deltas of the shards `start ..` (at most `options.fanOutLimit`), indexed from
   * `start`; at most `options.fanOutConcurrency` shards are called at once.
   * @param {number} [start]
   * @param {number} [limit]
   */
  shards(start = 0, limit = this.options.fanOutLimit) {
    const page = this.page(start, limit);
    return mapBounded(page.end - page.start, this.options.fanOutConcurrency, (i) => this.shard(page.start + i).counters());
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

  /** Flushes every shard, at most `options.fanOutConcurrency` at once. */
  flushAll() {
    return mapBounded(this.options.shardCount, this.options.fanOutConcurrency, (n) => this.shard(n).flush());
  }
}
