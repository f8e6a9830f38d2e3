// The one place the shim imports the engine: the shardtally WebAssembly package. Its
// `workerd` export condition instantiates the module synchronously from a CompiledWasm
// import, which is how wrangler (and the tests' bundler) load it.
import { GlobalBuilder, ShardBuilder } from "shardtally-wasm";
import { CounterError } from "./errors.js";

export { Global, Router, Shard } from "shardtally-wasm";

/**
 * Shard settings that bound the key table a stored shard holds: a shard whose table grew
 * under larger values does not restore under smaller ones (`DECODE_CORRUPT`).
 */
export const SHARD_BOUNDS = ["maxPendingKeys", "maxInternedKeys"];

/** The bound settings of a shard's settings (null: the engine's default). */
export function boundsOf(settings) {
  return Object.fromEntries(SHARD_BOUNDS.map((name) => [name, settings?.[name] ?? null]));
}

function withBounds(settings, bounds) {
  const out = { ...settings };
  for (const name of SHARD_BOUNDS) {
    if (bounds[name] === null) delete out[name];
    else out[name] = bounds[name];
  }
  return out;
}

/**
 * Rebuilds a machine from its stored rows, surviving settings lowered between deploys.
 *
 * `build(shardSettings)` rebuilds with the given bound settings of the (upstream) shard.
 * When the rows do not decode with the configured values and they differ from the `stored`
 * ones (the values in force when the state was last written), the machine is rebuilt with
 * the stored values, which it then keeps (`kept` names each setting and both values). When
 * nothing was stored, the error names the bound settings to raise again.
 * @template M
 * @param {(shardSettings: object) => M} build
 * @param {object} settings the configured shard settings
 * @param {Record<string, number | null> | undefined} stored bounds stored with the state
 * @param {string} section the option section of the shard settings (`shard`, `aggregator`)
 * @param {string} objectName for error messages
 * @returns {{machine: M, bounds: Record<string, number | null>, kept: Record<string, {configured: number | null, kept: number | null}> | null}}
 */
export function rebuildWithin(build, settings, stored, section, objectName) {
  const configured = boundsOf(settings);
  try {
    return { machine: build(settings), bounds: configured, kept: null };
  } catch (error) {
    if (!String(error?.code ?? "").startsWith("DECODE_")) throw error;
    const differ = stored ? SHARD_BOUNDS.filter((name) => stored[name] !== configured[name]) : [];
    if (differ.length === 0) {
      const explicit = SHARD_BOUNDS.filter((name) => configured[name] !== null);
      if (explicit.length === 0) throw error;
      const named = explicit.map((name) => `${section}.${name} = ${configured[name]}`).join(", ");
      throw new CounterError(
        "SETTINGS_LOWERED",
        `the stored state of ${objectName} does not restore with ${named}: it was written under larger values; raise them again (${error.message})`,
        { settings: explicit.map((name) => `${section}.${name}`), cause: error.code },
      );
    }
    const machine = build(withBounds(settings, stored));
    const kept = Object.fromEntries(differ.map((name) => [name, { configured: configured[name], kept: stored[name] }]));
    return { machine, bounds: { ...stored }, kept };
  }
}

/**
 * A shard from its stored rows, read page by page (`store`: storage.js's `Storage`).
 * @param {import("./storage.js").Storage} store
 */
export function shardFromRows(store, settings) {
  return store.rebuild(new ShardBuilder(settings), ShardBuilder.readFirst());
}

/**
 * A global (tiered when `upstream` settings are given) from its stored rows, read page by page.
 * @param {import("./storage.js").Storage} store
 */
export function globalFromRows(store, settings, upstream) {
  return store.rebuild(new GlobalBuilder(upstream ? { ...settings, upstream } : settings), GlobalBuilder.readFirst());
}
