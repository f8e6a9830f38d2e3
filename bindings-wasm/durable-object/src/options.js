// Options shared by the shard class, the global class and the Worker routes.

import { Global, Shard } from "./engine.js";
import { CounterError } from "./errors.js";

/**
 * Defaults of every shim option. Engine settings left out of `shard` / `global` keep the
 * engine's own defaults (SPEC §3 and §4).
 */
export const DEFAULT_OPTIONS = Object.freeze({
  shardBinding: "COUNTER_SHARDS",
  globalBinding: "COUNTER_GLOBAL",
  globalName: "global",
  shardPrefix: "shard:",
  shardCount: 4,
  strategy: "random",
  durability: "durable",
  kvBinding: null,
  kvPrefix: "shardtally",
  basePath: "",
  // The Worker routes (http.js): admin routes are off (404) without `authorize`.
  authorize: null,
  allowName: null,
  maxNameBytes: 256,
  maxBodyBytes: 64 * 1024,
  fanOutConcurrency: 8,
  fanOutLimit: 256,
  coalesce: true,
  coalesceWindowMs: 1,
  // Storage, resets and fan-in trees (shard.js, global.js, tree.js).
  fanIn: 32,
  kvMaxKeys: 100_000,
  // A shard whose whole state encodes to at most this many bytes is stored as one row (its
  // snapshot) instead of its change rows: one row per write. 0: always change rows.
  shardSnapshotRowBytes: 4096,
  // A global whose rows (all but its write log, which goes in pages of 32 records) pack into
  // at most this many bytes is stored as one row: one row per write. 0: always change rows.
  globalPackedRowBytes: 16384,
  shard: Object.freeze({}),
  global: Object.freeze({}),
  aggregator: Object.freeze({}),
});

// Engine settings the objects set themselves: identity, generation and random seeds.
const OWN_SETTINGS = {
  shard: ["shard", "incarnation", "generation", "seed"],
  global: ["seed", "upstream"],
  aggregator: ["shard", "incarnation", "generation", "seed"],
};

/** An engine machine with one setting, to let the engine say whether it knows the name. */
const probeShard = (settings) => new Shard({ shard: 0, incarnation: 1, ...settings });
const probe = { shard: probeShard, global: (settings) => new Global(settings), aggregator: probeShard };

const STRATEGIES = new Set(["random", "hash", "round_robin"]);
const DURABILITIES = new Set(["durable", "buffered"]);

function invalid(message, fields = {}) {
  return new CounterError("INVALID_OPTIONS", message, fields);
}

/**
 * Engine settings of one section. The engine knows their names: a name it does not know (or
 * one the objects set themselves) is INVALID_OPTIONS here; values are checked by the engine
 * when an object builds its machine (typed `CONFIG_*` errors).
 */
function pickSettings(section, value) {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw invalid(`options.${section} must be an object`, { option: section });
  }
  const out = {};
  for (const [name, setting] of Object.entries(value)) {
    const option = `${section}.${name}`;
    if (OWN_SETTINGS[section].includes(name)) throw invalid(`option ${option} is set by the ${section} object itself`, { option });
    try {
      probe[section]({ [name]: setting });
    } catch (err) {
      if (err?.code === "CONFIG_UNKNOWN_SETTING") throw invalid(`unknown option ${option}`, { option, suggestion: err.suggestion });
    }
    if (setting !== undefined) out[name] = setting;
  }
  return out;
}

function optionalFunction(options, name) {
  const value = options[name];
  if (value === null || value === undefined) return null;
  if (typeof value !== "function") throw invalid(`options.${name} must be a function or null`, { option: name });
  return value;
}

function integerIn(options, name, min, max) {
  const value = options[name];
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(`options.${name} must be an integer in ${min}..=${max}`, { option: name, value });
  }
  return value;
}

function nonEmptyString(options, name, { nullable = false } = {}) {
  const value = options[name];
  if (nullable && (value === null || value === undefined)) return null;
  if (typeof value !== "string" || value.length === 0) {
    throw invalid(`options.${name} must be a non-empty string`, { option: name });
  }
  return value;
}

/**
 * Validates user options and fills in the defaults. Engine setting names are checked by the
 * engine here, their values when a machine is built (typed `CONFIG_*` errors).
 * @param {object} [user]
 * @returns {Readonly<object>} the resolved options
 */
export function resolveOptions(user = {}) {
  if (user === null || typeof user !== "object") throw invalid("options must be an object");
  for (const name of Object.keys(user)) {
    if (!(name in DEFAULT_OPTIONS)) throw invalid(`unknown option ${name}`, { option: name });
  }
  const o = { ...DEFAULT_OPTIONS, ...user };
  const resolved = {
    shardBinding: nonEmptyString(o, "shardBinding"),
    globalBinding: nonEmptyString(o, "globalBinding"),
    globalName: nonEmptyString(o, "globalName"),
    shardPrefix: nonEmptyString(o, "shardPrefix"),
    shardCount: o.shardCount,
    strategy: o.strategy,
    durability: o.durability,
    kvBinding: nonEmptyString(o, "kvBinding", { nullable: true }),
    kvPrefix: nonEmptyString(o, "kvPrefix"),
    basePath: o.basePath,
    authorize: optionalFunction(o, "authorize"),
    allowName: optionalFunction(o, "allowName"),
    maxNameBytes: integerIn(o, "maxNameBytes", 1, 65_536),
    maxBodyBytes: integerIn(o, "maxBodyBytes", 2, 16 * 1024 * 1024),
    fanOutConcurrency: integerIn(o, "fanOutConcurrency", 1, 64),
    fanOutLimit: integerIn(o, "fanOutLimit", 1, 10_000),
    coalesce: o.coalesce,
    coalesceWindowMs: integerIn(o, "coalesceWindowMs", 0, 100),
    fanIn: integerIn(o, "fanIn", 2, 10_000),
    kvMaxKeys: integerIn(o, "kvMaxKeys", 0, 10_000_000),
    shardSnapshotRowBytes: integerIn(o, "shardSnapshotRowBytes", 0, 1 << 20),
    globalPackedRowBytes: integerIn(o, "globalPackedRowBytes", 0, 1 << 20),
    shard: Object.freeze(pickSettings("shard", o.shard)),
    global: Object.freeze(pickSettings("global", o.global)),
    aggregator: Object.freeze(pickSettings("aggregator", o.aggregator)),
  };
  if (!Number.isInteger(resolved.shardCount) || resolved.shardCount < 1 || resolved.shardCount > 10_000) {
    throw invalid("options.shardCount must be an integer in 1..=10000", { option: "shardCount", value: o.shardCount });
  }
  if (!STRATEGIES.has(resolved.strategy)) {
    throw invalid(`options.strategy must be one of ${[...STRATEGIES].join(", ")}`, { option: "strategy", value: o.strategy });
  }
  if (!DURABILITIES.has(resolved.durability)) {
    throw invalid(`options.durability must be "durable" or "buffered"`, { option: "durability", value: o.durability });
  }
  if (typeof resolved.basePath !== "string" || (resolved.basePath !== "" && (!resolved.basePath.startsWith("/") || resolved.basePath.endsWith("/")))) {
    throw invalid('options.basePath must be "" or start with "/" and not end with "/"', { option: "basePath" });
  }
  if (typeof resolved.coalesce !== "boolean") {
    throw invalid("options.coalesce must be a boolean", { option: "coalesce", value: o.coalesce });
  }
  if (resolved.globalName.startsWith(resolved.shardPrefix)) {
    throw invalid("options.globalName must not start with options.shardPrefix", { option: "globalName" });
  }
  return Object.freeze(resolved);
}

const byObject = new WeakMap();
const byJson = new Map();

/**
 * Resolves options given as an object or as a function of `env` (so deployments can tune
 * settings through variables). Results are cached, so every request of an isolate shares
 * one resolved object (and one router).
 * @param {object | ((env: object) => object) | undefined} source
 * @param {object} env the Worker environment
 */
export function optionsFor(source, env) {
  if (typeof source === "function") {
    const user = source(env);
    // Functions (the route hooks) are left out of the JSON key: they are checked and
    // attached to the cached resolution when they differ from the cached ones.
    const key = JSON.stringify(user ?? {});
    let resolved = byJson.get(key);
    if (!resolved) {
      resolved = resolveOptions(user ?? {});
      byJson.set(key, resolved);
    }
    return withHooks(resolved, user ?? {});
  }
  const user = source ?? DEFAULT_OPTIONS;
  let resolved = byObject.get(user);
  if (!resolved) {
    resolved = resolveOptions(user);
    byObject.set(user, resolved);
    byObject.set(resolved, resolved);
  }
  return resolved;
}

const BASE = Symbol("base options");

/**
 * The resolution `resolved` with the route hooks of `user` (functions), when they differ;
 * `baseOptions` of the result is `resolved` (so per-options state, like a router, is
 * shared however often an options function makes new hooks).
 */
function withHooks(resolved, user) {
  const authorize = user.authorize ?? null;
  const allowName = user.allowName ?? null;
  if (authorize === resolved.authorize && allowName === resolved.allowName) return resolved;
  const derived = Object.freeze({
    ...resolved,
    authorize: optionalFunction({ authorize }, "authorize"),
    allowName: optionalFunction({ allowName }, "allowName"),
    [BASE]: resolved,
  });
  byObject.set(derived, derived);
  return derived;
}

/**
 * The options `resolved` came from, without per-call hooks (itself when it has none).
 * @param {object} resolved resolved options
 */
export function baseOptions(resolved) {
  return resolved[BASE] ?? resolved;
}

/**
 * The resolved options of a shard or global class: its static `options`.
 * @param {Function} cls the Durable Object class (a subclass of ShardObject / GlobalObject)
 * @param {object} env the Worker environment
 */
export function optionsOf(cls, env) {
  return optionsFor(cls.options, env);
}
