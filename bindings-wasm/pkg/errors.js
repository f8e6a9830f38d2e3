// The error class every shardtally-wasm call throws. The WebAssembly glue imports it from
// here (wasm-bindgen `raw_module = "./errors.js"`), and every entry re-exports it, so
// `err instanceof ShardtallyError` holds for errors thrown by the engine.

/**
 * The error every shardtally call throws: `code` is stable, `message` is human-readable,
 * and the offending values are extra properties (for example `len` and `max` for
 * `KEY_TOO_LONG`). `rejectsBatch` is core's verdict for an engine error (from
 * `Global.handleBatch`: the batch can never be applied, so the shard reports it with
 * `handleRejection`); `false` for the binding's argument errors unless `fields` says
 * otherwise.
 */
export class ShardtallyError extends Error {
  /**
   * @param {string} message human-readable description
   * @param {string} [code] stable machine-readable code
   * @param {Record<string, unknown>} [fields] offending values, copied onto the error
   */
  constructor(message, code, fields) {
    super(message);
    this.rejectsBatch = false;
    if (fields) Object.assign(this, fields);
    this.code = code;
  }
}
Object.defineProperty(ShardtallyError.prototype, 'name', { value: 'ShardtallyError' });
