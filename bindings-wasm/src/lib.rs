//! WebAssembly bindings of shardtally, built with `wasm-bindgen`: the Rust half of the
//! `shardtally-wasm` JS package.
//!
//! It exposes the [`Shard`](shardtally::Shard), [`Global`](shardtally::Global) and
//! [`Router`](shardtally::Router) machines as the JS classes `Shard`, `Global` and `Router`,
//! with the JS API shape shared with the Node package:
//!
//! - camelCase methods mirroring core; constructors take one options object;
//! - outputs are plain objects tagged by `type` (`{ type: 'batch', bytes, ... }`);
//! - `nowMs` is a `number` checked to be finite, integral and in `0..=2^53-1`
//!   (`INVALID_TIME`); deltas are safe-integer `number`s or `bigint`s (`INVALID_DELTA`);
//!   64-bit outputs are `number`s when safe, `bigint`s otherwise;
//! - snapshots and messages are `Uint8Array`s;
//! - errors are `ShardtallyError` instances with core's stable `code` and message and the
//!   offending values as properties; a rejected input changes nothing;
//! - hot paths have batch forms: `increments` (many keys, one request) and `incrementIds`
//!   (interned key ids with typed arrays, one call per batch).
//!
//! This crate converts values and maps errors only; every behaviour lives in `shardtally`.
//! `scripts/build.sh` turns it into the package in `pkg/` (wasm-bindgen `--target web` glue,
//! `wasm-opt -Oz`).

mod convert;
mod error;
mod global;
mod router;
mod shard;

pub use global::JsGlobal;
pub use router::JsRouter;
pub use shard::JsShard;

use wasm_bindgen::prelude::*;

/// The stable 64-bit hash of a key (FNV-1a then a mixer), as a `bigint`: the same value in
/// every runtime and release.
#[wasm_bindgen(js_name = keyHash)]
pub fn key_hash(#[wasm_bindgen(unchecked_param_type = "string")] key: JsValue) -> Result<u64, JsValue> {
    Ok(shardtally::partition::key_hash(&convert::string(&key, "key")?))
}

/// Jump consistent hash: the bucket in `0..buckets` for a 64-bit key hash (`buckets == 0`
/// is treated as 1). `hash` is a `bigint` (as returned by `keyHash`) or a non-negative
/// safe-integer `number`.
#[wasm_bindgen(js_name = jumpHash)]
pub fn jump_hash(
    #[wasm_bindgen(unchecked_param_type = "bigint | number")] hash: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] buckets: JsValue,
) -> Result<u32, JsValue> {
    let hash = convert::u64_arg(&hash, "hash")?;
    let buckets = convert::u32_arg(&buckets, "buckets")?;
    Ok(shardtally::partition::jump_hash(hash, buckets))
}

#[wasm_bindgen::prelude::wasm_bindgen(typescript_custom_section)]
const TS_SHARED: &str = r#"
/** Every stable error code (core's codes plus the binding's argument checks). */
export type ShardtallyErrorCode =
| 'EMPTY_KEY'
| 'KEY_TOO_LONG'
| 'OVERFLOW'
| 'TABLE_FULL'
| 'UNKNOWN_KEY_ID'
| 'WRONG_SHARD'
| 'SHARD_OUT_OF_RANGE'
| 'LENGTH_MISMATCH'
| 'NO_UPSTREAM'
| 'CONFIG_ZERO'
| 'CONFIG_BACKOFF_RANGE'
| 'CONFIG_TOO_LARGE'
| 'CONFIG_PINNED_OUT_OF_RANGE'
| 'DECODE_WRONG_KIND'
| 'DECODE_UNSUPPORTED_VERSION'
| 'DECODE_CORRUPT'
| 'INVALID_TIME'
| 'INVALID_DELTA'
| 'INVALID_ARGUMENT';

/** Which of a shard's timers a deadline belongs to. */
export type ShardTimer = ShardDeadline['timer'];

/** Which of a global's timers a deadline belongs to. */
export type GlobalTimer = GlobalDeadline['timer'];

/** What a publish carries: every key's total, or only the keys changed since the last acknowledged publish. */
export type PublishMode = 'full' | 'changes';

/** A key and its total (`global.totals()`, publish entries). */
export interface KeyTotal {
    key: string;
    total: number | bigint;
}

/** A key and a summed delta (write-log and per-shard statistics entries). */
export interface KeyDelta {
    key: string;
    delta: number | bigint;
}

/** A key dropped as stale by a reset, with its current generation (`AckOutput.staleKeys`). */
export interface StaleKey {
    key: string;
    generation: number | bigint;
}

/** A shard's index and incarnation (`shard.shardRef()`). */
export interface ShardRef {
    shard: number;
    incarnation: number | bigint;
}
"#;
