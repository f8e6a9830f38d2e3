// shardtally-durable-object: sharded counters on Cloudflare Durable Objects.
export { ShardObject } from "./shard.js";
export { GlobalObject } from "./global.js";
export { CounterClient } from "./client.js";
export { counterWorker, handleCounterRequest } from "./http.js";
export { CounterError } from "./errors.js";
export { DEFAULT_OPTIONS, resolveOptions } from "./options.js";
