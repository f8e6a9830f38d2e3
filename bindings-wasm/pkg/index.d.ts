// Every entry (Node, workerd, web) exports the same, already initialised API.
export * from './shardtally_wasm.js';
export { ShardtallyError } from './errors.js';
