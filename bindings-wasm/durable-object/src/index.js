// shardtally-durable-object: sharded counters on Cloudflare Durable Objects.
export { ShardObject } from "./shard.js";
export { GlobalObject } from "./global.js";
export { CounterClient } from "./client.js";
export { counterWorker, handleCounterRequest } from "./http.js";
export { CounterError } from "./errors.js";
export { DEFAULT_OPTIONS, resolveOptions } from "./options.js";
// The WebSocket gateway (DOG): group and replica objects, the Worker side (src/gateway/).
export {
  DEFAULT_GATEWAY_OPTIONS,
  GatewayError,
  GatewaySocket,
  GroupObject,
  ReplicaObject,
  gatewayWorker,
  handleGatewayRequest,
  identifyFromUrl,
  resolveGatewayOptions,
} from "./gateway/index.js";
