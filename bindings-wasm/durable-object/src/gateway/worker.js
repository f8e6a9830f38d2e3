// The gateway's Worker side: one client path, DOG's upgrade checks, routing by the group,
// and the forward to the chosen replica. Nothing else is reachable: replicas and groups
// talk by RPC only, so no client path can deliver, broadcast or gossip.

import { GatewayError, gatewayErrorResponse } from "./errors.js";
import { gatewayOptionsFor, namespaceOf } from "./options.js";
import { GROUP_HEADER, REQUEST_HEADER, checkUpgrade, requireRequestId } from "./upgrade.js";

/**
 * The default identification: the group from the `group` query parameter (default
 * `"default"`), the request id from the `request` query parameter or the `x-request-id`
 * header (browsers cannot set headers on a WebSocket).
 * @param {Request} request
 * @returns {{group: string, request: string | null}}
 */
export function identifyFromUrl(request) {
  const url = new URL(request.url);
  return {
    group: url.searchParams.get("group") || "default",
    request: url.searchParams.get("request") || request.headers.get("x-request-id") || null,
  };
}

/**
 * Answers one request for the gateway: on `options.path`, DOG's checks (405 for a method
 * other than GET, 426 without `Upgrade: websocket`, 400 without a request id), then the
 * group routes the request id and the chosen replica accepts the socket (101). Any other
 * path goes to `hooks.fallback` (default: 404).
 * @param {Request} request
 * @param {object} env
 * @param {object} ctx the Worker's execution context (passed to `fallback`)
 * @param {object | ((env: object) => object)} options the gateway options
 * @param {{identify?: Function, fallback?: Function}} [hooks]
 * @returns {Promise<Response>}
 */
export async function handleGatewayRequest(request, env, ctx, options, hooks = {}) {
  try {
    const o = gatewayOptionsFor(options, env);
    const url = new URL(request.url);
    if (url.pathname !== o.path) {
      if (typeof hooks.fallback === "function") return await hooks.fallback(request, env, ctx);
      throw new GatewayError("NOT_FOUND", `no route ${url.pathname}`, { path: url.pathname });
    }
    checkUpgrade(request);
    const who = await (hooks.identify ?? identifyFromUrl)(request, env);
    const req = requireRequestId(who?.request);
    const group = typeof who?.group === "string" && who.group.length > 0 ? who.group : "default";
    const groups = namespaceOf(env, o.groupBinding);
    const { replica } = await groups.get(groups.idFromName(group)).route(req);
    const replicas = namespaceOf(env, o.replicaBinding);
    // The Worker names the group and request id for the replica; a client's own values of
    // these headers are replaced.
    const headers = new Headers(request.headers);
    headers.set(GROUP_HEADER, group);
    headers.set(REQUEST_HEADER, req);
    return await replicas.get(replicas.idFromString(replica)).fetch(new Request(request.url, { method: "GET", headers }));
  } catch (error) {
    return gatewayErrorResponse(error);
  }
}

/**
 * A Worker serving the gateway: `export default gatewayWorker(options, { identify, fallback })`.
 * @param {object | ((env: object) => object)} options the gateway options
 * @param {{identify?: (request: Request, env: object) => {group: string, request: string | null} | Promise<{group: string, request: string | null}>, fallback?: (request: Request, env: object, ctx: object) => Response | Promise<Response>}} [hooks]
 */
export function gatewayWorker(options, hooks = {}) {
  return { fetch: (request, env, ctx) => handleGatewayRequest(request, env, ctx, options, hooks) };
}
