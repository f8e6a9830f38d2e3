// Errors raised by the shim itself. Engine errors keep the engine's class and `code`.

/**
 * An error of the Durable Object shim, with a stable `code` string and the offending values
 * as properties (the same shape as the engine's errors, so callers handle both alike).
 * Codes: INVALID_OPTIONS, WRONG_OBJECT_NAME, MISSING_BINDING, INVALID_BODY, INVALID_NAME,
 * NOT_FOUND, METHOD_NOT_ALLOWED, SNAPSHOT_TOO_LARGE; of the Worker routes: FORBIDDEN,
 * NAME_NOT_ALLOWED, AUTHORIZE_FAILED, BUSY, PAYLOAD_TOO_LARGE, SHARD_OUT_OF_RANGE.
 */
export class CounterError extends Error {
  /**
   * @param {string} code stable error code
   * @param {string} message lower-case description
   * @param {Record<string, unknown>} [fields] offending values
   */
  constructor(code, message, fields = {}) {
    super(message);
    this.name = "CounterError";
    this.code = code;
    Object.assign(this, fields);
  }
}

/** HTTP status for an error code (engine or shim); unknown codes are server errors. */
export function statusOf(code) {
  switch (code) {
    case "FORBIDDEN":
    case "NAME_NOT_ALLOWED":
      return 403;
    case "NOT_FOUND":
    case "SHARD_OUT_OF_RANGE":
      return 404;
    case "METHOD_NOT_ALLOWED":
      return 405;
    case "OVERFLOW":
      return 409;
    case "PAYLOAD_TOO_LARGE":
      return 413;
    case "TABLE_FULL":
    case "BUSY":
      return 503;
    case "INVALID_BODY":
    case "INVALID_NAME":
    case "INVALID_DELTA":
    case "INVALID_ARGUMENT":
    case "EMPTY_KEY":
    case "KEY_TOO_LONG":
    case "LENGTH_MISMATCH":
      return 400;
    default:
      return 500;
  }
}
