// The do-counter-sharding HTTP routes, on top of CounterClient. Every answer is JSON;
// errors are `{"error": CODE, "message": ..., ...offending values}` with a 4xx status for
// bad input and unknown routes.

import { CounterClient } from "./client.js";
import { CounterError, statusOf } from "./errors.js";
import { toJson } from "./views.js";

/** Largest accepted request body (bytes). */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * The routes, as [method, pattern, handler]. Patterns are split on "/"; `:name` matches one
 * non-empty percent-decoded segment, `:n` a shard number.
 */
const ROUTES = [
  ["POST", "increment/:name", async (c, p, req) => ({ name: p.name, ...(await c.increment(p.name, await deltaBody(req))) })],
  ["POST", "increments", async (c, _p, req) => c.increments(await entriesBody(req))],
  ["GET", "counters", (c) => c.counters()],
  ["POST", "global/reset/:name", async (c, p) => ({ name: p.name, ...(await c.reset(p.name)) })],
  ["GET", "global/counters", (c) => c.liveCounters()],
  ["GET", "global/writes", (c) => c.writes()],
  ["GET", "global/shardWrites", (c) => c.shardWrites()],
  ["GET", "global/shards", (c) => c.shards()],
  ["GET", "shard/:n/counters", (c, p) => c.shardCounters(p.n)],
  ["POST", "shard/:n/write", async (c, p) => ({ shard: p.n, ...(await c.flush(p.n)) })],
].map(([method, pattern, handler]) => ({ method, parts: pattern.split("/"), handler }));

/** A JSON response; bigints outside the safe range become decimal strings. */
export function json(body, status = 200, headers = {}) {
  return new Response(JSON.stringify(toJson(body)), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/** The JSON error response for an error with a `code` (engine or shim). */
export function errorResponse(error) {
  const code = typeof error?.code === "string" ? error.code : "INTERNAL";
  const status = statusOf(code);
  const body = { error: code, message: String(error?.message ?? error) };
  for (const [k, v] of Object.entries(error ?? {})) {
    if (!(k in body) && k !== "remote" && k !== "stack" && k !== "name") body[k] = v;
  }
  const headers = status === 405 && error.allow ? { allow: error.allow } : status === 503 ? { "retry-after": "1" } : {};
  return json(body, status, headers);
}

function match(parts, segments) {
  if (parts.length !== segments.length) return null;
  const params = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const segment = segments[i];
    if (part === ":name") {
      let name;
      try {
        name = decodeURIComponent(segment);
      } catch {
        throw new CounterError("INVALID_NAME", "the counter name is not valid percent-encoding", { segment });
      }
      params.name = name;
    } else if (part === ":n") {
      if (!/^(0|[1-9][0-9]{0,8})$/.test(segment)) return null;
      params.n = Number(segment);
    } else if (part !== segment) {
      return null;
    }
  }
  return params;
}

async function readBody(request) {
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > MAX_BODY_BYTES) {
    throw new CounterError("PAYLOAD_TOO_LARGE", `the body exceeds ${MAX_BODY_BYTES} bytes`, { limit: MAX_BODY_BYTES });
  }
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) {
    throw new CounterError("PAYLOAD_TOO_LARGE", `the body exceeds ${MAX_BODY_BYTES} bytes`, { limit: MAX_BODY_BYTES });
  }
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new CounterError("INVALID_BODY", "the body is not valid JSON", {});
  }
}

/** A delta: a JSON integer, or a decimal string for values beyond 2^53 - 1. */
function toDelta(value, where) {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new CounterError("INVALID_DELTA", `${where} must be an integer within ±(2^53 - 1) (use a decimal string beyond)`, {
        delta: value,
      });
    }
    return value;
  }
  if (typeof value === "string" && /^-?[0-9]{1,20}$/.test(value)) return BigInt(value);
  throw new CounterError("INVALID_DELTA", `${where} must be an integer or a decimal string`, { delta: value ?? null });
}

/** Body of `POST /increment/:name`: empty (delta 1) or a JSON integer. */
async function deltaBody(request) {
  const body = await readBody(request);
  if (body === undefined) return 1;
  return toDelta(body, "the body");
}

/** Body of `POST /increments`: `{name: delta, ...}` or `[[name, delta], ...]`, not empty. */
async function entriesBody(request) {
  const body = await readBody(request);
  let entries;
  if (Array.isArray(body)) {
    entries = body.map((entry, i) => {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "string") {
        throw new CounterError("INVALID_BODY", `entry ${i} must be a [name, delta] pair`, { index: i });
      }
      return [entry[0], toDelta(entry[1], `the delta of entry ${i}`)];
    });
  } else if (body !== null && typeof body === "object") {
    entries = Object.entries(body).map(([name, delta]) => [name, toDelta(delta, `the delta of ${JSON.stringify(name)}`)]);
  } else {
    throw new CounterError("INVALID_BODY", 'the body must be {"name": delta, ...} or [["name", delta], ...]', {});
  }
  if (entries.length === 0) throw new CounterError("INVALID_BODY", "the body has no entries", {});
  return entries;
}

/**
 * Answers one request to the counter routes.
 * @param {Request} request
 * @param {object} env the Worker environment
 * @param {object | ((env: object) => object)} options the shim options
 * @returns {Promise<Response>}
 */
export async function handleCounterRequest(request, env, options) {
  try {
    const client = new CounterClient(env, options);
    const url = new URL(request.url);
    const base = client.options.basePath;
    if (base && url.pathname !== base && !url.pathname.startsWith(`${base}/`)) {
      throw new CounterError("NOT_FOUND", `no route ${url.pathname}`, { path: url.pathname });
    }
    const segments = url.pathname.slice(base.length + 1).split("/");
    const allowed = [];
    for (const route of ROUTES) {
      const params = match(route.parts, segments);
      if (params === null) continue;
      if (route.method !== request.method) {
        allowed.push(route.method);
        continue;
      }
      if (params.n !== undefined) client.shard(params.n); // range check before any body read
      return json(await route.handler(client, params, request));
    }
    if (allowed.length > 0) {
      throw new CounterError("METHOD_NOT_ALLOWED", `${request.method} is not allowed on ${url.pathname}`, {
        allow: allowed.join(", "),
      });
    }
    throw new CounterError("NOT_FOUND", `no route ${request.method} ${url.pathname}`, { path: url.pathname });
  } catch (error) {
    return errorResponse(error);
  }
}

/**
 * A Worker (`export default counterWorker(options)`) serving the counter routes.
 * @param {object | ((env: object) => object)} options the shim options
 * @returns {{fetch: (request: Request, env: object) => Promise<Response>}}
 */
export function counterWorker(options) {
  return { fetch: (request, env) => handleCounterRequest(request, env, options) };
}
