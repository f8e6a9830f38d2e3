// Options shared by the group class, the replica class and the Worker of a gateway.

import { Gateway } from "./engine.js";
import { GatewayError } from "./errors.js";

/** Defaults of every gateway option. Engine settings left out of `gateway` keep the engine's defaults (SPEC §6). */
export const DEFAULT_GATEWAY_OPTIONS = Object.freeze({
  /** Durable Object binding of the group class. */
  groupBinding: "GATEWAY_GROUP",
  /** Durable Object binding of the replica class. */
  replicaBinding: "GATEWAY_REPLICA",
  /** The one path clients connect to (WebSocket upgrade); every other path is not the gateway's. */
  path: "/connect",
  /** Largest message in bytes: client frames, emitted / broadcast / whispered payloads, gossip questions. */
  maxMessageBytes: 64 * 1024,
  /** Most RPC calls one fan-out (a broadcast's deliveries, a gossip's questions, a group's reconciliation) has in flight. */
  maxConcurrency: 16,
  /** Engine settings of the group's gateway machine (`limit`, `reservationTtlMs`, ...). */
  gateway: Object.freeze({}),
});

function invalid(message, fields = {}) {
  return new GatewayError("INVALID_OPTIONS", message, fields);
}

/** Engine settings: the engine checks every name and value now (a typo must not keep a default). */
function engineSettings(value) {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw invalid("options.gateway must be an object", { option: "gateway" });
  if ("group" in value) throw invalid("option gateway.group is set by the group object itself (its name)", { option: "gateway.group" });
  const settings = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
  try {
    new Gateway({ group: "options", ...settings });
  } catch (err) {
    if (err?.code === "CONFIG_UNKNOWN_SETTING") {
      throw invalid(`unknown option gateway.${err.setting}`, { option: `gateway.${err.setting}`, suggestion: err.suggestion });
    }
    throw err;
  }
  return settings;
}

function nonEmptyString(o, name) {
  if (typeof o[name] !== "string" || o[name].length === 0) throw invalid(`options.${name} must be a non-empty string`, { option: name });
  return o[name];
}

function integerIn(o, name, min, max) {
  const v = o[name];
  if (!Number.isInteger(v) || v < min || v > max) throw invalid(`options.${name} must be an integer in ${min}..=${max}`, { option: name, value: v });
  return v;
}

/**
 * Validates gateway options and fills in the defaults.
 * @param {object} [user]
 * @returns {Readonly<object>} the resolved options
 */
export function resolveGatewayOptions(user = {}) {
  if (user === null || typeof user !== "object") throw invalid("options must be an object");
  for (const name of Object.keys(user)) {
    if (!(name in DEFAULT_GATEWAY_OPTIONS)) throw invalid(`unknown option ${name}`, { option: name });
  }
  const o = { ...DEFAULT_GATEWAY_OPTIONS, ...user };
  const path = nonEmptyString(o, "path");
  if (!path.startsWith("/")) throw invalid('options.path must start with "/"', { option: "path" });
  return Object.freeze({
    groupBinding: nonEmptyString(o, "groupBinding"),
    replicaBinding: nonEmptyString(o, "replicaBinding"),
    path,
    maxMessageBytes: integerIn(o, "maxMessageBytes", 1, 1 << 20),
    maxConcurrency: integerIn(o, "maxConcurrency", 1, 256),
    gateway: Object.freeze(engineSettings(o.gateway)),
  });
}

const byObject = new WeakMap();
const byJson = new Map();

/**
 * Resolves options given as an object or as a function of `env`; results are cached, so
 * every request of an isolate shares one resolved object.
 * @param {object | ((env: object) => object) | undefined} source
 * @param {object} env the Worker environment
 */
export function gatewayOptionsFor(source, env) {
  if (typeof source === "function") {
    const user = source(env) ?? {};
    const key = JSON.stringify(user);
    let resolved = byJson.get(key);
    if (!resolved) {
      resolved = resolveGatewayOptions(user);
      if (byJson.size >= 64) byJson.clear();
      byJson.set(key, resolved);
    }
    return resolved;
  }
  const user = source ?? {};
  let resolved = byObject.get(user);
  if (!resolved) {
    resolved = resolveGatewayOptions(user);
    byObject.set(user, resolved);
    byObject.set(resolved, resolved);
  }
  return resolved;
}

/** The Durable Object namespace bound as `name`. */
export function namespaceOf(env, name) {
  const ns = env?.[name];
  if (!ns) throw new GatewayError("MISSING_BINDING", `no Durable Object binding ${name} in env`, { binding: name });
  return ns;
}
