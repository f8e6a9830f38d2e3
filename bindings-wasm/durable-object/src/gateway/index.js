// The WebSocket gateway (DOG) on Durable Objects: a group object holding the engine's
// Gateway, replica objects users extend, and the Worker side.
export { GroupObject } from "./group.js";
export { GatewaySocket, ReplicaObject } from "./replica.js";
export { gatewayWorker, handleGatewayRequest, identifyFromUrl } from "./worker.js";
export { GatewayError } from "./errors.js";
export { DEFAULT_GATEWAY_OPTIONS, resolveGatewayOptions } from "./options.js";
