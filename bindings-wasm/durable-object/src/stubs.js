// Stubs of the shard, aggregator and global objects, by name.

import { CounterError } from "./errors.js";

function namespace(env, binding) {
  const ns = env?.[binding];
  if (!ns) throw new CounterError("MISSING_BINDING", `no Durable Object binding ${binding} in env`, { binding });
  return ns;
}

/**
 * The global object's stub.
 * @param {object} env the Worker environment
 * @param {{globalBinding: string, globalName: string}} options resolved options
 */
export function globalStub(env, options) {
  const ns = namespace(env, options.globalBinding);
  return ns.get(ns.idFromName(options.globalName));
}

/**
 * The stub of shard `n` (no range check).
 * @param {object} env the Worker environment
 * @param {{shardBinding: string, shardPrefix: string}} options resolved options
 * @param {number} n
 */
export function shardStub(env, options, n) {
  const ns = namespace(env, options.shardBinding);
  return ns.get(ns.idFromName(`${options.shardPrefix}${n}`));
}

/**
 * The stub of the object named `name`: a shard (`<shardPrefix><n>`) through the shard
 * binding, the global or an aggregator through the global binding.
 * @param {object} env the Worker environment
 * @param {{shardBinding: string, globalBinding: string, shardPrefix: string}} options resolved options
 * @param {string} name
 */
export function nodeStub(env, options, name) {
  const ns = namespace(env, name.startsWith(options.shardPrefix) ? options.shardBinding : options.globalBinding);
  return ns.get(ns.idFromName(name));
}
