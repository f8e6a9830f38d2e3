// Default entry of shardtally-wasm (browsers, Deno, bundlers): fetches and instantiates the
// `.wasm` file next to this module, with a top-level `await`.
import init, * as native from './shardtally_wasm.js';
import load from './api.js';

await init({ module_or_path: new URL('./shardtally_wasm_bg.wasm', import.meta.url) });
load(native);

export * from './api.js';
