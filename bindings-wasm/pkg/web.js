// Default entry of shardtally-wasm (browsers, Deno, bundlers): fetches and instantiates the
// `.wasm` file next to this module, with a top-level `await`.
import init, * as native from './shardtally_wasm.js';
import { makeApi } from './api.js';

await init({ module_or_path: new URL('./shardtally_wasm_bg.wasm', import.meta.url) });

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
