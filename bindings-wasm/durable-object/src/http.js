// The do-counter-sharding HTTP routes, on top of CounterClient. Public routes (increments
// and totals) are always on; admin routes (reset, per-shard write, the views, the
// dashboard) only with an `authorize` option, which decides each admin request. Every
// answer but the dashboard page is JSON; errors are `{"error": CODE, "message": ...,
// ...offending values}` with a 4xx status for bad input, unknown routes and refusals.

import { CounterClient } from "./client.js";
import { dashboardData, dashboardPage } from "./dashboard.js";
import { CounterError, statusOf } from "./errors.js";
import { optionsFor } from "./options.js";
import { toJson } from "./views.js";

/** Default largest request body (bytes); `options.maxBodyBytes` sets it. */
export const MAX_BODY_BYTES = 64 * 1024;

const JSON_TYPE = "application/json; charset=utf-8";
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The routes: name (what `authorize` is told), method, pattern, whether it is an admin
 * route, handler. Patterns are split on "/"; `:name` matches one segment (percent-decoded),
 * `:n` a shard number.
 */
const ROUTES = [
  ["increment", "POST", "increment/:name", false, async (c, p, req) => ({ name: p.name, ...(await c.increment(p.name, await deltaBody(req, c.options))) })],
  ["increments", "POST", "increments", false, async (c, _p, req) => c.increments(await entriesBody(req, c.options))],
  ["counters", "GET", "counters", false, (c) => c.counters()],
  ["liveCounters", "GET", "global/counters", false, (c) => c.liveCounters()],
  ["reset", "POST", "global/reset/:name", true, async (c, p) => ({ name: p.name, ...(await c.reset(p.name)) })],
  ["writes", "GET", "global/writes", true, (c) => c.writes()],
  ["shardWrites", "GET", "global/shardWrites", true, (c) => c.shardWrites()],
  ["shards", "GET", "global/shards", true, shardsPage],
  ["shardCounters", "GET", "shard/:n/counters", true, (c, p) => c.shardCounters(p.n)],
  ["shardWrite", "POST", "shard/:n/write", true, async (c, p) => ({ shard: p.n, ...(await c.flush(p.n)) })],
  ["dashboard", "GET", "dashboard", true, dashboard],
  ["dashboardData", "GET", "dashboard/data", true, async (c, _p, req) => dashboardData(c, queryInt(req, "start", 0))],
].map(([name, method, pattern, admin, handler]) => ({ name, method, pattern: `/${pattern}`, parts: pattern.split("/"), admin, handler }));

/** The names of the admin routes (those `authorize` decides). */
export const ADMIN_ROUTES = Object.freeze(ROUTES.filter((r) => r.admin).map((r) => r.name));
/** The names of the public routes. */
export const PUBLIC_ROUTES = Object.freeze(ROUTES.filter((r) => !r.admin).map((r) => r.name));

/** A JSON response; bigints outside the safe range become decimal strings. */
export function json(body, status = 200, headers = {}) {
  return new Response(JSON.stringify(toJson(body)), {
    status,
    headers: { "content-type": JSON_TYPE, ...headers },
  });
}

/** The JSON error response for an error with a `code` (engine or shim). */
export function errorResponse(error) {
  const code = typeof error?.code === "string" ? error.code : "INTERNAL";
  const status = statusOf(code);
  const body = { error: code, message: String(error?.message ?? error) };
  for (const [k, v] of Object.entries(error ?? {})) {
    if (!(k in body) && k !== "code" && k !== "remote" && k !== "stack" && k !== "name") body[k] = v;
  }
  const headers = status === 405 && error.allow ? { allow: error.allow } : status === 503 ? { "retry-after": "1" } : {};
  return json(body, status, headers);
}

function tooLarge(limit) {
  return new CounterError("PAYLOAD_TOO_LARGE", `the body exceeds ${limit} bytes`, { limit });
}

/**
 * The body as text, counted in bytes while it streams in: a declared `content-length`
 * above `limit` is refused before reading anything, and a body that grows past `limit`
 * is refused as soon as it does (the rest is never read). Not UTF-8 → INVALID_BODY.
 * @param {Request} request
 * @param {number} limit bytes
 */
export async function readBody(request, limit) {
  const body = request.body;
  if (body === null) return "";
  const declared = request.headers.get("content-length");
  if (declared === "0") return "";
  if (declared !== null && Number(declared) > limit) {
    body.cancel().catch(() => {});
    throw tooLarge(limit);
  }
  const reader = body.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  if (total === 0) return "";
  let bytes = chunks[0];
  if (chunks.length > 1) {
    bytes = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
  }
  try {
    return utf8.decode(bytes);
  } catch {
    throw new CounterError("INVALID_BODY", "the body is not UTF-8", {});
  }
}

async function jsonBody(request, options) {
  const text = await readBody(request, options.maxBodyBytes);
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
async function deltaBody(request, options) {
  if (request.body === null || request.headers.get("content-length") === "0") return 1;
  const body = await jsonBody(request, options);
  if (body === undefined) return 1;
  return toDelta(body, "the body");
}

/** Body of `POST /increments`: `{name: delta, ...}` or `[[name, delta], ...]`, not empty. */
async function entriesBody(request, options) {
  const body = await jsonBody(request, options);
  let entries;
  if (Array.isArray(body)) {
    entries = body.map((entry, i) => {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "string") {
        throw new CounterError("INVALID_BODY", `entry ${i} must be a [name, delta] pair`, { index: i });
      }
      return [entry[0], toDelta(entry[1], `the delta of entry ${i}`)];
    });
  } else if (body !== null && typeof body === "object") {
    entries = Object.entries(body).map(([name, delta]) => [name, toDelta(delta, `the delta of ${JSON.stringify(name.slice(0, 64))}`)]);
  } else {
    throw new CounterError("INVALID_BODY", 'the body must be {"name": delta, ...} or [["name", delta], ...]', {});
  }
  if (entries.length === 0) throw new CounterError("INVALID_BODY", "the body has no entries", {});
  return entries;
}

/** A non-negative integer query parameter (absent: `fallback`). */
function queryInt(request, name, fallback) {
  const raw = new URL(request.url).searchParams.get(name);
  if (raw === null || raw === "") return fallback;
  if (!/^(0|[1-9][0-9]{0,8})$/.test(raw)) {
    throw new CounterError("INVALID_ARGUMENT", `the query parameter ${name} must be a non-negative integer`, { [name]: raw });
  }
  return Number(raw);
}

/**
 * `GET /global/shards[?start=&limit=]`: the pending deltas of at most `fanOutLimit` shards
 * from `start` (default 0), as an array; a `link` header names the next page when more
 * shards follow.
 */
async function shardsPage(client, _params, request) {
  const page = client.page(queryInt(request, "start", 0), queryInt(request, "limit", client.options.fanOutLimit));
  const shards = await client.shards(page.start, page.end - page.start);
  if (page.next === null) return shards;
  const base = client.options.basePath;
  return json(shards, 200, { link: `<${base}/global/shards?start=${page.next}&limit=${page.end - page.start}>; rel="next"` });
}

/** `GET /dashboard[?start=&refresh=]`: the dashboard page (HTML, inline SVG charts). */
async function dashboard(client, _params, request) {
  const data = await dashboardData(client, queryInt(request, "start", 0));
  const refresh = queryInt(request, "refresh", 10);
  const { html, nonce } = dashboardPage(data, { basePath: client.options.basePath, refresh });
  return new Response(html, {
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-security-policy": `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    },
  });
}

function decodeName(segment) {
  if (segment.indexOf("%") === -1) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new CounterError("INVALID_NAME", "the counter name is not valid percent-encoding", { segment: segment.slice(0, 256) });
  }
}

/** Raw params of `segments` against a route's parts, or null when they do not match. */
function match(parts, segments) {
  if (parts.length !== segments.length) return null;
  let params = null;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const segment = segments[i];
    if (part === ":name") {
      params ??= {};
      params.name = segment;
    } else if (part === ":n") {
      if (!/^(0|[1-9][0-9]{0,8})$/.test(segment)) return null;
      params ??= {};
      params.n = Number(segment);
    } else if (part !== segment) {
      return null;
    }
  }
  return params ?? {};
}

/** The path of a request URL (without query or fragment), without parsing the rest. */
function pathOf(url) {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  let end = url.length;
  const q = url.indexOf("?", start);
  if (q !== -1) end = q;
  const h = url.indexOf("#", start);
  if (h !== -1 && h < end) end = h;
  return url.slice(start, end);
}

/** Asks `options.authorize` about one admin request; throws or returns a Response unless allowed. */
async function authorized(request, env, options, route, params) {
  let verdict;
  try {
    verdict = await options.authorize(request, Object.freeze({ name: route.name, method: route.method, pattern: route.pattern, params: Object.freeze(params) }), env);
  } catch {
    throw new CounterError("AUTHORIZE_FAILED", "the authorize hook failed; the request is refused", {});
  }
  if (verdict instanceof Response) return verdict;
  if (verdict !== true) throw new CounterError("FORBIDDEN", `${route.method} ${route.pattern} is not allowed for this request`, { route: route.name });
  return null;
}

async function respond(request, env, options, ctx) {
  const path = pathOf(request.url);
  const base = options.basePath;
  if (base && path !== base && !path.startsWith(`${base}/`)) {
    throw new CounterError("NOT_FOUND", `no route ${path.slice(0, 256)}`, { path: path.slice(0, 256) });
  }
  const rest = path.slice(base.length + 1);
  const method = request.method;
  const client = new CounterClient(env, options, ctx);

  // The hot path: POST /increment/:name.
  if (method === "POST" && rest.startsWith("increment/") && rest.indexOf("/", 10) === -1) {
    const name = decodeName(rest.slice(10));
    const delta = await deltaBody(request, options);
    const { shard } = await client.increment(name, delta);
    return new Response(`{"name":${JSON.stringify(name)},"shard":${shard}}`, { headers: { "content-type": JSON_TYPE } });
  }

  const segments = rest.split("/");
  const allowed = [];
  for (const route of ROUTES) {
    if (route.admin && options.authorize === null) continue; // admin routes are off
    const params = match(route.parts, segments);
    if (params === null) continue;
    if (route.method !== method) {
      allowed.push(route.method);
      continue;
    }
    let badName = null;
    if (params.name !== undefined) {
      try {
        params.name = decodeName(params.name);
      } catch (error) {
        badName = error;
        delete params.name;
      }
    }
    if (route.admin) {
      const refusal = await authorized(request, env, options, route, { ...params });
      if (refusal !== null) return refusal;
    }
    if (badName !== null) throw badName;
    if (params.n !== undefined) client.shard(params.n); // range check before any body read
    const result = await route.handler(client, params, request);
    return result instanceof Response ? result : json(result);
  }
  if (allowed.length > 0) {
    throw new CounterError("METHOD_NOT_ALLOWED", `${method} is not allowed on ${path.slice(0, 256)}`, {
      allow: allowed.join(", "),
    });
  }
  throw new CounterError("NOT_FOUND", `no route ${method} ${path.slice(0, 256)}`, { path: path.slice(0, 256) });
}

/**
 * Answers one request to the counter routes.
 * @param {Request} request
 * @param {object} env the Worker environment
 * @param {object | ((env: object) => object)} options the shim options
 * @param {{waitUntil(p: Promise<unknown>): void}} [ctx] the request's execution context
 * @returns {Promise<Response>}
 */
export async function handleCounterRequest(request, env, options, ctx) {
  try {
    return await respond(request, env, optionsFor(options, env), ctx);
  } catch (error) {
    return errorResponse(error);
  }
}

/**
 * A Worker (`export default counterWorker(options)`) serving the counter routes. Options
 * given as a function of `env` are resolved once per environment.
 * @param {object | ((env: object) => object)} options the shim options
 * @returns {{fetch: (request: Request, env: object, ctx?: object) => Promise<Response>}}
 */
export function counterWorker(options) {
  const resolved = new WeakMap();
  return {
    async fetch(request, env, ctx) {
      try {
        let o = typeof env === "object" && env !== null ? resolved.get(env) : undefined;
        if (o === undefined) {
          o = optionsFor(options, env);
          if (typeof env === "object" && env !== null) resolved.set(env, o);
        }
        return await respond(request, env, o, ctx);
      } catch (error) {
        return errorResponse(error);
      }
    },
  };
}
