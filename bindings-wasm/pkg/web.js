// Default entry of shardtally-wasm (browsers, Deno, bundlers): fetches and instantiates the
// `.wasm` file next to this module, with a top-level `await`.
import init from './shardtally_wasm.js';

await init({ module_or_path: new URL('./shardtally_wasm_bg.wasm', import.meta.url) });

export * from './shardtally_wasm.js';
export { ShardtallyError } from './errors.js';
