// Conversions between the engine's outputs and the shim's views, and the host's randomness.

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A bigint as a number when it is a safe integer, else unchanged. */
function narrow(value) {
  return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value;
}

/** Exact sum of numbers / bigints: a number when safe, else a bigint. */
function add(a, b) {
  return narrow(BigInt(a) + BigInt(b));
}

/**
 * A random 53-bit identifier drawn from the host (`crypto.getRandomValues`), used as a new
 * shard's incarnation: a shard that lost its state must never reuse an earlier one.
 */
export function randomIncarnation() {
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2));
  return (hi & 0x1fffff) * 2 ** 32 + lo;
}

/** A random engine seed (retry jitter, random routing), drawn from the host. */
export function randomSeed() {
  return randomIncarnation();
}

/**
 * A shard's pending deltas, its batch in flight, and both summed per counter.
 * @param {import("shardtally-wasm").Shard} engine
 */
export function pendingView(engine) {
  const pending = engine.pending().map(({ key, generation, delta }) => ({ key, generation, delta }));
  const batch = engine.inFlight();
  const inFlight = batch
    ? { seq: batch.seq, reason: batch.reason, entries: batch.entries.map(({ key, generation, delta }) => ({ key, generation, delta })) }
    : null;
  const counters = {};
  for (const { key, delta } of [...pending, ...(inFlight?.entries ?? [])]) {
    counters[key] = key in counters ? add(counters[key], delta) : delta;
  }
  return { pending, inFlight, counters };
}

/**
 * `{name: total}` from the engine's sorted totals.
 * @param {Array<{key: string, total: number | bigint}>} totals
 */
export function totalsMap(totals) {
  const out = {};
  for (const { key, total } of totals) out[key] = total;
  return out;
}

/**
 * do-counter-sharding's `/global/shardWrites` view: per shard name, the number of batches
 * it wrote and its summed deltas per counter; plus totals over all shards.
 * @param {Array<{shard: number, writes: number, deltas: Array<{key: string, delta: number | bigint}>}>} perShard the engine's `shardWrites()`
 * @param {{totalWrites: number, distinctShards: number}} stats
 * @param {{shardPrefix: string}} options
 */
export function shardWritesView(perShard, stats, options) {
  const shardWrites = {};
  for (const { shard, writes, deltas } of perShard) {
    shardWrites[`${options.shardPrefix}${shard}`] = { writeCount: writes, counters: totalsMap(deltas.map(({ key, delta }) => ({ key, total: delta }))) };
  }
  return { shardWrites, totalWrite: stats.totalWrites, totalShards: stats.distinctShards };
}

/**
 * A value made JSON-safe: bigints become numbers when safe and decimal strings beyond,
 * byte arrays are left out.
 * @param {unknown} value
 */
export function toJson(value) {
  if (typeof value === "bigint") {
    const n = narrow(value);
    return typeof n === "bigint" ? n.toString() : n;
  }
  if (value instanceof Uint8Array) return undefined;
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      const j = toJson(v);
      if (j !== undefined) out[k] = j;
    }
    return out;
  }
  return value;
}
