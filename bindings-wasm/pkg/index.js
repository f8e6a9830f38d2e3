// Node entry of shardtally-wasm: compiles and instantiates the module synchronously, so
// `import { Shard } from 'shardtally-wasm'` is ready to use without an `await`. Every entry
// (Node, workerd, web) exports the same API: the shared JavaScript of api.js (copied from
// bindings-js at build time, with the export list) over the wasm-bindgen module, built by
// `load` once the module is initialised. Types: index.d.ts.
import { readFileSync } from 'node:fs';
import * as native from './shardtally_wasm.js';
import load from './api.js';

native.initSync({ module: readFileSync(new URL('./shardtally_wasm_bg.wasm', import.meta.url)) });
load(native);

export * from './api.js';
