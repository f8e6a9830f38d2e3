// Object builders imported by the WebAssembly glue (wasm-bindgen `raw_module =
// "./objects.js"`). Internal to the package. Lists of keyed entries cross the boundary
// once per list (all keys as one string, their UTF-16 lengths, their values as numbers)
// instead of once per entry, which costs several calls and a string decode each.

/** `target[name] = value`, without the exception wrapper of `Reflect.set`. */
export function set(target, name, value) {
  target[name] = value;
}

/** A batch or pending entry. */
export function entry(key, generation, delta) {
  return { key, generation, delta };
}

/** A `{ key, total }` pair. */
export function keyTotal(key, total) {
  return { key, total };
}

/** A `{ key, delta }` pair. */
export function keyDelta(key, delta) {
  return { key, delta };
}

/** A `{ key, generation }` pair. */
export function keyGeneration(key, generation) {
  return { key, generation };
}

/** Cuts `keys` into `lengths.length` strings of the given UTF-16 lengths. */
function split(keys, lengths) {
  const out = new Array(lengths.length);
  let at = 0;
  for (let i = 0; i < lengths.length; i++) {
    const end = at + lengths[i];
    out[i] = keys.slice(at, end);
    at = end;
  }
  return out;
}

/** `[{ key, generation, delta }]` from packed keys and two value columns. */
export function entries(keys, lengths, generations, deltas) {
  const k = split(keys, lengths);
  for (let i = 0; i < k.length; i++) k[i] = { key: k[i], generation: generations[i], delta: deltas[i] };
  return k;
}

/** `[{ key, total }]` from packed keys and a value column. */
export function keyTotals(keys, lengths, totals) {
  const k = split(keys, lengths);
  for (let i = 0; i < k.length; i++) k[i] = { key: k[i], total: totals[i] };
  return k;
}

/** `[{ key, delta }]` from packed keys and a value column. */
export function keyDeltas(keys, lengths, deltas) {
  const k = split(keys, lengths);
  for (let i = 0; i < k.length; i++) k[i] = { key: k[i], delta: deltas[i] };
  return k;
}

/** `[{ key, generation }]` from packed keys and a value column. */
export function keyGenerations(keys, lengths, generations) {
  const k = split(keys, lengths);
  for (let i = 0; i < k.length; i++) k[i] = { key: k[i], generation: generations[i] };
  return k;
}

/**
 * Packs multi-key increments for one crossing: `[keys joined, UTF-16 lengths, deltas]` when
 * `value` is an array of `[string, number]` pairs, a `Map` or a plain object whose values
 * are numbers; otherwise `null`, and the engine converts entry by entry (with a precise
 * error for a wrong type). The engine validates the numbers either way.
 */
export function packEntries(value) {
  let keys;
  let deltas;
  if (Array.isArray(value)) {
    keys = new Array(value.length);
    deltas = new Float64Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const pair = value[i];
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'number') return null;
      keys[i] = pair[0];
      deltas[i] = pair[1];
    }
  } else if (value instanceof Map) {
    keys = new Array(value.size);
    deltas = new Float64Array(value.size);
    let i = 0;
    for (const [k, d] of value) {
      if (typeof k !== 'string' || typeof d !== 'number') return null;
      keys[i] = k;
      deltas[i++] = d;
    }
  } else if (value !== null && typeof value === 'object') {
    keys = Object.keys(value);
    deltas = new Float64Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const d = value[keys[i]];
      if (typeof d !== 'number') return null;
      deltas[i] = d;
    }
  } else {
    return null;
  }
  const lengths = new Uint32Array(keys.length);
  for (let i = 0; i < keys.length; i++) lengths[i] = keys[i].length;
  return [keys.join(''), lengths, deltas];
}
