// Node entry of shardtally-wasm: compiles and instantiates the module synchronously, so
// `import { Shard } from 'shardtally-wasm'` is ready to use without an `await`. Every entry
// (Node, workerd, web) exports the same API: the shared JavaScript of api.js (copied from
// bindings-js at build time) over the wasm-bindgen module. Types: index.d.ts.
import { readFileSync } from 'node:fs';
import * as native from './shardtally_wasm.js';
import { makeApi } from './api.js';

native.initSync({ module: readFileSync(new URL('./shardtally_wasm_bg.wasm', import.meta.url)) });

export const {
  Shard,
  Global,
  Router,
  Gateway,
  Membership,
  Buckets,
  Outbox,
  ShardtallyError,
  keyHash,
  jumpHash,
  knuthHash,
  ownerMod,
  ownerRange,
  shardRange,
  defaultRoute,
  requestKey,
} = makeApi(native);
