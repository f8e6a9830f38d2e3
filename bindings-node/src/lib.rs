//! The native half of the Node package `shardtally` (napi-rs): the `Shard`, `Global`,
//! `Router`, `Gateway`, `Membership`, `Buckets` and `Outbox` machines and the partition
//! helpers, with a low-level surface of primitives and typed arrays. The public
//! classes, argument type checks, options reading and the per-call increment buffer are the
//! shared JavaScript of `bindings-js/src/api.js`; the WebAssembly package's native half has
//! exactly this surface. Every conversion is `js.rs`, over `shardtally-api`.

mod buckets;
mod gateway;
mod global;
mod js;
mod membership;
mod outbox;
mod router;
mod shard;

pub use buckets::Buckets;
pub use gateway::Gateway;
pub use global::Global;
pub use membership::Membership;
pub use outbox::Outbox;
pub use router::Router;
pub use shard::Shard;

use js::{JsFunction, Num};
use napi::bindgen_prelude::Unknown;
use napi::{Env, Result};
use napi_derive::napi;
use shardtally::partition;

/// The run-loop methods of a machine (`shardtally_api::RunLoop`), written once.
macro_rules! run_loop {
    ($machine:ident) => {
        #[napi]
        impl $machine {
            /// Fires every deadline `<= nowMs`; early or repeated calls do nothing.
            #[napi]
            pub fn handle_timeout(&mut self, env: &Env, now_ms: f64) -> Result<()> {
                shardtally_api::RunLoop::handle_timeout(&mut self.inner, crate::js::time(env, now_ms)?);
                Ok(())
            }
            /// The next output, or `null`.
            #[napi]
            pub fn poll_output<'e>(&mut self, env: &'e Env) -> Result<Unknown<'e>> {
                let out = shardtally_api::RunLoop::poll_output_record(&mut self.inner);
                crate::js::to_js(env, &out.into())
            }
            /// The earliest deadline in ms (capped at `2^53 - 1`), or `null`.
            #[napi]
            pub fn poll_timeout<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
                let at = shardtally_api::RunLoop::poll_timeout(&self.inner).map(|t| shardtally_api::js::time_out(t) as u64);
                crate::js::to_js(env, &at.into())
            }
            /// Whether the state changed since the last call.
            #[napi]
            pub fn take_state_changed(&mut self) -> bool {
                shardtally_api::RunLoop::take_state_changed(&mut self.inner)
            }
            /// The whole state as versioned bytes.
            #[napi]
            pub fn snapshot<'e>(&self, env: &'e Env) -> Result<napi::bindgen_prelude::Uint8ArraySlice<'e>> {
                napi::bindgen_prelude::Uint8ArraySlice::copy_from(env, shardtally_api::RunLoop::snapshot(&self.inner))
            }
            /// The next deadline and its timer, or `null`.
            #[napi]
            pub fn next_deadline<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
                crate::js::to_js(env, &shardtally_api::RunLoop::next_deadline(&self.inner).into())
            }
            /// Activity counters.
            #[napi]
            pub fn stats<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
                crate::js::to_js(env, &shardtally_api::RunLoop::stats_record(&self.inner).into())
            }
            /// The settings in force (camelCase), what `restore` takes besides the snapshot.
            #[napi]
            pub fn config<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
                crate::js::to_js(env, &shardtally_api::RunLoop::config_record(&self.inner).into())
            }
        }
    };
}
pub(crate) use run_loop;

/// The constructors of a machine, written once: `new` from the options the shared JS read and
/// `restore` from `snapshot()` bytes and settings, through the `shardtally_api::options`
/// functions given, `$wrap` making the class of the core machine. With `rows:`, also
/// `fromRows` (stored pairs, packed: `js::pairs`) and the row journal (`takeChanges`, `rows`,
/// packed: `js::row_ops`).
macro_rules! machine {
    ($machine:ident, $wrap:expr, $new:path, $restore:path) => {
        #[napi]
        impl $machine {
            /// A machine from options (its settings, and the identity some take).
            #[napi(constructor)]
            pub fn new(env: &napi::Env, names: Vec<String>, values: napi::bindgen_prelude::Array<'_>) -> napi::Result<Self> {
                crate::js::make(env, names, &values, |o| $new(shardtally_api::Naming::Camel, o)).map($wrap)
            }
            /// A machine from `snapshot()` bytes and its settings.
            #[napi(factory)]
            pub fn restore(
                env: &napi::Env,
                bytes: napi::bindgen_prelude::Uint8ArraySlice<'_>,
                names: Vec<String>,
                values: napi::bindgen_prelude::Array<'_>,
            ) -> napi::Result<Self> {
                crate::js::make(env, names, &values, |o| $restore(shardtally_api::Naming::Camel, &bytes, o)).map($wrap)
            }
        }
    };
    ($machine:ident, $wrap:expr, $new:path, $restore:path, rows: $from_rows:path) => {
        crate::machine!($machine, $wrap, $new, $restore);
        #[napi]
        impl $machine {
            /// A machine from its stored `(table, value)` pairs (packed: `js::pairs`) and its settings.
            #[napi(factory)]
            pub fn from_rows(
                env: &napi::Env,
                tables: String,
                lens: napi::bindgen_prelude::Uint32ArraySlice<'_>,
                bytes: napi::bindgen_prelude::Uint8ArraySlice<'_>,
                names: Vec<String>,
                values: napi::bindgen_prelude::Array<'_>,
            ) -> napi::Result<Self> {
                let pairs = crate::js::pairs(&tables, &lens, &bytes)?;
                crate::js::make(env, names, &values, |o| $from_rows(shardtally_api::Naming::Camel, pairs, o)).map($wrap)
            }
            /// The row changes since the last call, as `RowOp`s (packed: `js::row_ops`).
            #[napi]
            pub fn take_changes<'e>(&mut self, env: &'e napi::Env) -> napi::Result<napi::bindgen_prelude::Unknown<'e>> {
                crate::js::row_ops(env, self.inner.take_changes().iter().map(|r| r.op()))
            }
            /// Every row of the state, as `put` `RowOp`s.
            #[napi]
            pub fn rows<'e>(&self, env: &'e napi::Env) -> napi::Result<napi::bindgen_prelude::Unknown<'e>> {
                crate::js::row_ops(env, self.inner.rows().iter().map(|r| r.op()))
            }
        }
    };
}
pub(crate) use machine;

/// The builder of a machine from its stored rows, page by page (`shardtally_api::rebuild`),
/// written once: `new` from settings (through `$make`), `add` (a page of stored
/// `(table, value)` pairs, packed: `js::pairs`) and `finish` (the machine, `$wrap` making its
/// class; the builder is spent).
macro_rules! builder {
    ($builder:ident, $core:ty, $make:path, $machine:ty, $wrap:expr) => {
        /// A machine being rebuilt from its stored rows, a page at a time.
        #[napi]
        pub struct $builder {
            inner: shardtally_api::rebuild::Rebuild<$core>,
        }

        #[napi]
        impl $builder {
            /// A builder from the machine's settings.
            #[napi(constructor)]
            pub fn new(env: &napi::Env, names: Vec<String>, values: napi::bindgen_prelude::Array<'_>) -> napi::Result<Self> {
                let make = |o: &shardtally_api::options::Options| $make(shardtally_api::Naming::Camel, o);
                crate::js::make(env, names, &values, make).map(|b| $builder { inner: shardtally_api::rebuild::Rebuild::new(b) })
            }
            /// The tables to read first, in this order, before every other.
            #[napi]
            pub fn read_first() -> Vec<String> {
                shardtally_api::rebuild::Rebuild::<$core>::read_first().iter().map(|t| t.to_string()).collect()
            }
            /// Adds a page of stored `(table, value)` pairs (packed: `js::pairs`).
            #[napi]
            pub fn add(
                &mut self,
                env: &napi::Env,
                tables: String,
                lens: napi::bindgen_prelude::Uint32ArraySlice<'_>,
                bytes: napi::bindgen_prelude::Uint8ArraySlice<'_>,
            ) -> napi::Result<()> {
                let pairs = crate::js::pairs(&tables, &lens, &bytes)?;
                self.inner.add(pairs).map_err(|e| crate::js::error(env, e))
            }
            /// The machine; the builder is spent.
            #[napi]
            pub fn finish(&mut self, env: &napi::Env) -> napi::Result<$machine> {
                self.inner.finish().map($wrap).map_err(|e| crate::js::error(env, e))
            }
        }
    };
}
pub(crate) use builder;

/// Registers `ShardtallyError` and the builders of keyed lists and of row operations (called
/// once by the shared JS).
#[napi]
pub fn setup(error_class: JsFunction<'_>, entries: JsFunction<'_>, rows: JsFunction<'_>) -> Result<()> {
    js::setup(&error_class, &entries, &rows)
}

/// The error for an argument the shared JS found to have the wrong type.
#[napi]
pub fn argument_error(env: &Env, code: String, argument: String, expected: String, value: String) -> Result<Unknown<'_>> {
    js::error_value(env, shardtally_api::js::argument_error(&code, argument, expected, value))
}

/// The stable 64-bit hash of a key (FNV-1a then a mixer), as a bigint.
#[napi]
pub fn key_hash(key: String) -> u64 {
    partition::key_hash(&key)
}

/// Jump consistent hash: the bucket in `0 .. buckets` of a 64-bit hash.
#[napi]
pub fn jump_hash(env: &Env, hash: Num, buckets: f64) -> Result<u32> {
    let hash = js::uint(env, "hash", &hash, u64::MAX)?;
    Ok(partition::jump_hash(hash, js::u32(env, "buckets", buckets)?))
}

/// Knuth's multiplicative hash of a 32-bit integer.
#[napi]
pub fn knuth_hash(env: &Env, x: f64) -> Result<u32> {
    Ok(partition::knuth_hash(js::u32(env, "x", x)?))
}

/// The owner of a 64-bit hash among `numShards` by modulo.
#[napi]
pub fn owner_mod(env: &Env, hash: Num, num_shards: f64) -> Result<u32> {
    Ok(partition::owner_mod(js::uint(env, "hash", &hash, u64::MAX)?, js::u32(env, "numShards", num_shards)?))
}

/// The owner of a 64-bit hash among `numShards` contiguous ranges of the hash space.
#[napi]
pub fn owner_range(env: &Env, hash: Num, num_shards: f64) -> Result<u32> {
    Ok(partition::owner_range(js::uint(env, "hash", &hash, u64::MAX)?, js::u32(env, "numShards", num_shards)?))
}

/// The hashes `shard` owns under `ownerRange` (`{ start, end }`, inclusive), or `null`.
#[napi]
pub fn shard_range<'e>(env: &'e Env, shard: f64, num_shards: f64) -> Result<Unknown<'e>> {
    let range = partition::shard_range(js::u32(env, "shard", shard)?, js::u32(env, "numShards", num_shards)?);
    js::to_js(env, &shardtally_api::views::hash_range(range))
}

/// The route of a request path: numeric segments become `:id`, UUID segments `:uuid`; the
/// empty path is `/` (the shared JS checks the path is a well-formed string).
#[napi]
pub fn default_route(path: String) -> String {
    shardtally::buckets::default_route(&path)
}

/// The bucket key of a request, `"METHOD route"`: an unknown method is `OTHER`; cut to at
/// most `maxKeyBytes` UTF-8 bytes (whole characters).
#[napi]
pub fn request_key(env: &Env, method: String, route: String, max_key_bytes: f64) -> Result<String> {
    let max_key_bytes = js::u32(env, "maxKeyBytes", max_key_bytes)?;
    Ok(shardtally::buckets::request_key(&method, &route, max_key_bytes as usize))
}
