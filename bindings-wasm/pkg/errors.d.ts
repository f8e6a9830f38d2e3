/** The error every shardtally call throws: `code` is stable, `message` is human-readable. */
export declare class ShardtallyError extends Error {
  constructor(message: string, code?: string, fields?: Record<string, unknown>);
  /** A stable, machine-readable code such as `"EMPTY_KEY"` or `"INVALID_TIME"`. */
  readonly code: string;
  /** The offending values, named after core's error fields in camelCase. */
  readonly [field: string]: unknown;
}
