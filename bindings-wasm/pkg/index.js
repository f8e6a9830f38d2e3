// Node entry of shardtally-wasm: compiles and instantiates the module synchronously, so
// `import { Shard } from 'shardtally-wasm'` is ready to use without an `await`.
import { readFileSync } from 'node:fs';
import { initSync } from './shardtally_wasm.js';

initSync({ module: readFileSync(new URL('./shardtally_wasm_bg.wasm', import.meta.url)) });

export * from './shardtally_wasm.js';
export { ShardtallyError } from './errors.js';
