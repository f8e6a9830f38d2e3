//! Node.js bindings of shardtally: the `Shard`, `Global` and `Router` machines as a native
//! napi-rs addon, with stable hashing helpers.
//!
//! The crate only converts and maps errors; every behaviour lives in the `shardtally` core
//! crate. `index.js` (the package entry) registers the `ShardtallyError` class and wraps
//! `Shard` to buffer per-call increments (see the package README).

mod convert;
mod error;
mod global;
mod output;
mod packed;
mod router;
mod shard;

pub use global::Global;
pub use output::*;
pub use router::Router;
pub use shard::Shard;

use convert::{BigNum, Num, Str};
use napi::bindgen_prelude::{FnArgs, Function, Unknown};
use napi::{Env, Result};
use napi_derive::napi;

/// The stable 64-bit hash of a key (FNV-1a then a mixer), the same in every runtime.
#[napi(ts_args_type = "key: string")]
pub fn key_hash(env: &Env, key: Str<'_>) -> Result<u64> {
    let key = convert::key(env, "key", key)?;
    Ok(shardtally::partition::key_hash(&key))
}

/// Jump consistent hash: the bucket in `0 .. buckets` for a 64-bit `hash` (`buckets` 0
/// counts as 1). Growing from n to n + 1 buckets moves about 1 / (n + 1) of the keys.
#[napi(ts_args_type = "hash: bigint | number, buckets: number")]
pub fn jump_hash(env: &Env, hash: BigNum<'_>, buckets: Num<'_>) -> Result<u32> {
    let hash = convert::u64_arg(env, "hash", hash)?;
    let buckets = convert::uint(env, "buckets", buckets, u64::from(u32::MAX))? as u32;
    Ok(shardtally::partition::jump_hash(hash, buckets))
}

/// Registers the class of the errors this module throws (called once by `index.js`).
#[napi(js_name = "_setErrorClass", skip_typescript)]
pub fn set_error_class(class: Function<'_, FnArgs<(String,)>, Unknown<'static>>) -> Result<()> {
    error::set_error_class(class)
}
