/** The error every shardtally call throws: `code` is stable, `message` is human-readable. */
export declare class ShardtallyError extends Error {
  constructor(message: string, code?: string, fields?: Record<string, unknown>);
  /** A stable, machine-readable code such as `"EMPTY_KEY"` or `"INVALID_TIME"`. */
  readonly code: string;
  /**
   * Core's verdict on an engine error: for an error of `Global.handleBatch`, `true` when the
   * batch can never be applied (`KEY_TOO_LONG`, `OVERFLOW`, `TABLE_FULL` of the totals
   * table), so the host reports it to the shard with `handleRejection`; `false` when
   * retrying may succeed (`handleFailure`). Always `false` for the binding's argument
   * errors (`INVALID_*`), configuration and decoding errors.
   */
  readonly rejectsBatch: boolean;
  /** The offending values, named after core's error fields in camelCase. */
  readonly [field: string]: unknown;
}
