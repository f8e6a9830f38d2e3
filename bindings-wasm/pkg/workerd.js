// Cloudflare Workers (workerd) entry of shardtally-wasm: the runtime (or wrangler's bundler)
// imports the `.wasm` file as a compiled `WebAssembly.Module`, which is instantiated
// synchronously at module load. Code generation from bytes is not allowed in Workers, so
// this is the only way to load the module there.
import wasmModule from './shardtally_wasm_bg.wasm';
import * as native from './shardtally_wasm.js';
import { initSync } from './shardtally_wasm.js';
import load from './api.js';

initSync({ module: wasmModule });
load(native);

export * from './api.js';
