// DOG's upgrade checks, in its order: a method other than GET is 405, a request without
// `Upgrade: websocket` is 426, a request without a request id is 400.

import { GatewayError } from "./errors.js";

/** Headers the Worker sets on the request it forwards to a replica (a client's own values are replaced). */
export const GROUP_HEADER = "x-shardtally-gateway-group";
export const REQUEST_HEADER = "x-shardtally-gateway-request";

/**
 * Throws the GatewayError a request fails DOG's checks with (method, then upgrade), or
 * returns nothing.
 * @param {Request} request
 */
export function checkUpgrade(request) {
  if (request.method !== "GET") {
    throw new GatewayError("METHOD_NOT_ALLOWED", `${request.method} is not allowed: connect with GET and Upgrade: websocket`, {
      method: request.method,
    });
  }
  if ((request.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
    throw new GatewayError("UPGRADE_REQUIRED", "this path only accepts WebSocket upgrades (Upgrade: websocket)", {});
  }
}

/**
 * The request id or throws MISSING_REQUEST_ID.
 * @param {unknown} id
 * @returns {string}
 */
export function requireRequestId(id) {
  if (typeof id !== "string" || id.length === 0) {
    throw new GatewayError("MISSING_REQUEST_ID", "the request has no request id", {});
  }
  return id;
}

const encoder = new TextEncoder();

/**
 * A message as sent on a socket: strings and binary as they are, anything else as JSON
 * (as DOG did).
 * @param {unknown} data
 * @returns {string | ArrayBuffer | Uint8Array}
 */
export function toFrame(data) {
  if (typeof data === "string" || data instanceof ArrayBuffer || data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return JSON.stringify(data);
}

/** Size of a frame in bytes (UTF-8 for strings). */
export function frameBytes(frame) {
  return typeof frame === "string" ? encoder.encode(frame).length : frame.byteLength;
}

/**
 * Throws MESSAGE_TOO_LARGE when `frame` is larger than `max` bytes.
 * @param {string | ArrayBuffer | Uint8Array} frame
 * @param {number} max
 */
export function checkFrame(frame, max) {
  // A string has at least as many UTF-8 bytes as UTF-16 units: a long one is rejected unread.
  if ((typeof frame === "string" && frame.length > max) || frameBytes(frame) > max) {
    throw new GatewayError("MESSAGE_TOO_LARGE", `the message exceeds ${max} bytes`, { max });
  }
}
