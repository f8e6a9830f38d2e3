// Bounded fan-out: runs an async function over items with at most `limit` calls in
// flight, and reports each item's outcome instead of failing as a whole.

/**
 * @template T, R
 * @param {T[]} items
 * @param {number} limit most calls in flight
 * @param {(item: T) => Promise<R>} fn
 * @returns {Promise<Array<{ok: true, value: R} | {ok: false, error: unknown}>>} outcomes in item order
 */
export async function fanout(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = { ok: true, value: await fn(items[i]) };
      } catch (error) {
        out[i] = { ok: false, error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
