// Fan-in trees (SPEC §4 "tiered aggregation", §10): past `fanIn` shards, aggregator objects
// of the global class sit between the shards and the top global, so no object takes calls
// from more than `fanIn` children. This module only names the nodes and finds parents; the
// aggregation itself is the engine's (a `Global` with an `upstream` shard).
//
// Level 0 holds the shards `shard:<n>`. Level 1 holds `ceil(shardCount / fanIn)`
// aggregators named `<globalName>:1:<i>`, aggregator `i` taking shards `i*fanIn ..
// (i+1)*fanIn - 1`; each further level groups the one below by `fanIn` again, until at most
// `fanIn` nodes are left: those are the top global's children. A node looks its parent up
// once, when its life starts, and keeps it for that life (stored), so changing `shardCount`
// or `fanIn` between deploys never sends a batch in flight to a node that does not know it.

/** Engine shard indices of aggregators' upstream shards start here (above any shard number). */
export const AGGREGATOR_INDEX_BASE = 2_000_000_000;
/** Aggregator indices per level in the engine index space. */
const LEVEL_SPAN = 100_000;
/** Deepest aggregator level (fan-in 2 over 10000 shards needs 13). */
export const MAX_LEVELS = 16;

/**
 * Node counts of the aggregator levels, level 1 first; empty when the top global takes every
 * shard directly (`shardCount <= fanIn`).
 * @param {number} shardCount
 * @param {number} fanIn
 * @returns {number[]}
 */
export function aggregatorLevels(shardCount, fanIn) {
  const out = [];
  for (let n = shardCount; n > fanIn; ) {
    n = Math.ceil(n / fanIn);
    out.push(n);
  }
  return out;
}

/**
 * Object name of aggregator `index` of `level` (>= 1).
 * @param {{globalName: string}} options
 */
export function aggregatorName(options, level, index) {
  return `${options.globalName}:${level}:${index}`;
}

/**
 * What an object of the global class is, from its name: `{level: 0, index: 0}` for the top
 * global (`options.globalName`), `{level, index}` for an aggregator, or null for any other
 * name.
 * @param {string | null | undefined} name
 * @param {{globalName: string}} options
 * @returns {{level: number, index: number} | null}
 */
export function parseGlobalName(name, options) {
  if (name === options.globalName) return { level: 0, index: 0 };
  if (typeof name !== "string" || !name.startsWith(`${options.globalName}:`)) return null;
  const m = /^([1-9][0-9]?):(0|[1-9][0-9]{0,4})$/.exec(name.slice(options.globalName.length + 1));
  if (!m) return null;
  const level = Number(m[1]);
  const index = Number(m[2]);
  return level <= MAX_LEVELS && index < LEVEL_SPAN ? { level, index } : null;
}

/**
 * The parent of shard `n` under the current options: the level-1 aggregator holding it, or
 * the top global.
 * @param {{shardCount: number, fanIn: number, globalName: string}} options
 * @param {number} n
 */
export function shardParent(options, n) {
  const levels = aggregatorLevels(options.shardCount, options.fanIn);
  return levels.length === 0 ? options.globalName : aggregatorName(options, 1, Math.floor(n / options.fanIn));
}

/**
 * The parent of aggregator `index` of `level`: an aggregator of the level above, or the top
 * global (also for a level the current options no longer have).
 * @param {{shardCount: number, fanIn: number, globalName: string}} options
 */
export function aggregatorParent(options, level, index) {
  const levels = aggregatorLevels(options.shardCount, options.fanIn);
  return level < levels.length ? aggregatorName(options, level + 1, Math.floor(index / options.fanIn)) : options.globalName;
}

/** Engine shard index of an aggregator's upstream shard: disjoint from every shard number. */
export function upstreamIndex(level, index) {
  return AGGREGATOR_INDEX_BASE + level * LEVEL_SPAN + index;
}

/** Whether an engine shard index is an aggregator's. */
export function isAggregatorIndex(index) {
  return index >= AGGREGATOR_INDEX_BASE;
}

/**
 * Object name of the child with engine shard index `index` (a shard, or an aggregator).
 * @param {{shardPrefix: string, globalName: string}} options
 */
export function childName(options, index) {
  if (!isAggregatorIndex(index)) return `${options.shardPrefix}${index}`;
  const rest = index - AGGREGATOR_INDEX_BASE;
  return aggregatorName(options, Math.floor(rest / LEVEL_SPAN), rest % LEVEL_SPAN);
}

/**
 * Runs `fn` over `items`, at most `limit` calls at a time; resolves to the results in order
 * (rejects with the first error, after every started call settled).
 * @template T, R
 * @param {T[]} items
 * @param {number} limit
 * @param {(item: T, i: number) => Promise<R>} fn
 * @returns {Promise<R[]>}
 */
export async function mapLimited(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  let failure = null;
  const worker = async () => {
    while (next < items.length && failure === null) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}
