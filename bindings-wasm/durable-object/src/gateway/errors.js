// Errors of the gateway host. Engine errors keep the engine's class and `code`.

/**
 * An error of the gateway host, with a stable `code` and the offending values as
 * properties (the shape of the engine's errors, so callers handle both alike). Codes:
 * INVALID_OPTIONS, MISSING_BINDING, NOT_FOUND, METHOD_NOT_ALLOWED, UPGRADE_REQUIRED,
 * MISSING_REQUEST_ID, MESSAGE_TOO_LARGE, NOT_CONNECTED, NO_GOSSIP_HANDLER,
 * WRONG_OBJECT_NAME, INVALID_ARGUMENT, SQLITE_REQUIRED, STORAGE_FAILED (a gossip abandoned
 * when a ledger write failed; a test's injected failure), LEDGER_CORRUPT (an earlier
 * version's ledger with a chunk missing).
 */
export class GatewayError extends Error {
  /**
   * @param {string} code stable error code
   * @param {string} message lower-case description
   * @param {Record<string, unknown>} [fields] offending values
   */
  constructor(code, message, fields = {}) {
    super(message);
    this.name = "GatewayError";
    this.code = code;
    Object.assign(this, fields);
  }
}

/**
 * HTTP status of an error code (host or engine), as DOG answered: 405 for a method other
 * than GET, 426 without `Upgrade: websocket`, 400 without a request id (or an invalid id),
 * 503 when the group or the chosen replica has no room; anything unknown is a 500.
 */
export function gatewayStatus(code) {
  switch (code) {
    case "NOT_FOUND":
      return 404;
    case "METHOD_NOT_ALLOWED":
      return 405;
    case "UPGRADE_REQUIRED":
      return 426;
    case "MISSING_REQUEST_ID":
    case "EMPTY_ID":
    case "ID_TOO_LONG":
      return 400;
    case "REPLICA_FULL":
    case "TABLE_FULL":
      return 503;
    default:
      return 500;
  }
}

/** The JSON error response of an error with a `code`: `{"error": CODE, "message": ...}`. */
export function gatewayErrorResponse(error) {
  const code = typeof error?.code === "string" ? error.code : "INTERNAL";
  const status = gatewayStatus(code);
  const headers = { "content-type": "application/json; charset=utf-8" };
  if (status === 405) headers.allow = "GET";
  if (status === 426) headers.upgrade = "websocket";
  if (status === 503) headers["retry-after"] = "1";
  const message = status === 500 ? "internal error" : String(error?.message ?? error);
  return new Response(JSON.stringify({ error: code, message }), { status, headers });
}
