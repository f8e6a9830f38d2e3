//! The native half of the WebAssembly package `shardtally-wasm` (wasm-bindgen): the
//! `Shard`, `Global`, `Router`, `Gateway`, `Membership`, `Buckets` and `Outbox` machines and
//! the partition helpers, with a low-level surface of primitives and typed arrays. The public classes, argument type checks, options reading and the per-call
//! increment buffer are the shared JavaScript of `bindings-js/src/api.js`; the Node
//! package's native half has exactly this surface. Every conversion is `js.rs`, over
//! `shardtally-api`. `scripts/build.sh` turns it into the package in `pkg/`.

mod buckets;
mod gateway;
mod global;
mod js;
mod membership;
mod outbox;
mod router;
mod shard;

pub use buckets::JsBuckets;
pub use gateway::JsGateway;
pub use global::JsGlobal;
pub use membership::JsMembership;
pub use outbox::JsOutbox;
pub use router::JsRouter;
pub use shard::JsShard;

use js::JsResult;
use shardtally::partition;
use wasm_bindgen::prelude::*;

/// The run-loop methods of a machine (`shardtally_api::RunLoop`), written once.
macro_rules! run_loop {
    ($machine:ident, $class:ident) => {
        #[wasm_bindgen(js_class = $class)]
        impl $machine {
            /// Fires every deadline `<= nowMs`; early or repeated calls do nothing.
            #[wasm_bindgen(js_name = handleTimeout)]
            pub fn handle_timeout(&mut self, now_ms: f64) -> crate::js::JsResult<()> {
                shardtally_api::RunLoop::handle_timeout(&mut self.inner, crate::js::time(now_ms)?);
                Ok(())
            }
            /// The next output, or `null`.
            #[wasm_bindgen(js_name = pollOutput)]
            pub fn poll_output(&mut self) -> JsValue {
                crate::js::to_js(&shardtally_api::RunLoop::poll_output_record(&mut self.inner).into())
            }
            /// The earliest deadline in ms (capped at `2^53 - 1`), or `null`.
            #[wasm_bindgen(js_name = pollTimeout)]
            pub fn poll_timeout(&self) -> JsValue {
                let at = shardtally_api::RunLoop::poll_timeout(&self.inner).map(|t| shardtally_api::js::time_out(t) as u64);
                crate::js::to_js(&at.into())
            }
            /// Whether the state changed since the last call.
            #[wasm_bindgen(js_name = takeStateChanged)]
            pub fn take_state_changed(&mut self) -> bool {
                shardtally_api::RunLoop::take_state_changed(&mut self.inner)
            }
            /// The whole state as versioned bytes.
            pub fn snapshot(&self) -> Vec<u8> {
                shardtally_api::RunLoop::snapshot(&self.inner)
            }
            /// The next deadline and its timer, or `null`.
            #[wasm_bindgen(js_name = nextDeadline)]
            pub fn next_deadline(&self) -> JsValue {
                crate::js::to_js(&shardtally_api::RunLoop::next_deadline(&self.inner).into())
            }
            /// Activity counters.
            pub fn stats(&self) -> JsValue {
                crate::js::to_js(&shardtally_api::RunLoop::stats_record(&self.inner).into())
            }
            /// The settings in force (camelCase), what `restore` takes besides the snapshot.
            pub fn config(&self) -> JsValue {
                crate::js::to_js(&shardtally_api::RunLoop::config_record(&self.inner).into())
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
    ($machine:ident, $class:ident, $wrap:expr, $new:path, $restore:path) => {
        #[wasm_bindgen(js_class = $class)]
        impl $machine {
            /// A machine from options (its settings, and the identity some take).
            #[wasm_bindgen(constructor)]
            pub fn new(names: Vec<String>, values: Vec<wasm_bindgen::JsValue>) -> crate::js::JsResult<$machine> {
                crate::js::make(names, values, |o| $new(shardtally_api::Naming::Camel, o)).map($wrap)
            }
            /// A machine from `snapshot()` bytes and its settings.
            pub fn restore(bytes: &[u8], names: Vec<String>, values: Vec<wasm_bindgen::JsValue>) -> crate::js::JsResult<$machine> {
                crate::js::make(names, values, |o| $restore(shardtally_api::Naming::Camel, bytes, o)).map($wrap)
            }
        }
    };
    ($machine:ident, $class:ident, $wrap:expr, $new:path, $restore:path, rows: $from_rows:path) => {
        crate::machine!($machine, $class, $wrap, $new, $restore);
        #[wasm_bindgen(js_class = $class)]
        impl $machine {
            /// A machine from its stored `(table, value)` pairs (packed: `js::pairs`) and its settings.
            #[wasm_bindgen(js_name = fromRows)]
            pub fn from_rows(
                tables: &str,
                lens: &[u32],
                bytes: &[u8],
                names: Vec<String>,
                values: Vec<wasm_bindgen::JsValue>,
            ) -> crate::js::JsResult<$machine> {
                let pairs = crate::js::pairs(tables, lens, bytes)?;
                crate::js::make(names, values, |o| $from_rows(shardtally_api::Naming::Camel, pairs, o)).map($wrap)
            }
            /// The row changes since the last call, as `RowOp`s (packed: `js::row_ops`).
            #[wasm_bindgen(js_name = takeChanges)]
            pub fn take_changes(&mut self) -> wasm_bindgen::JsValue {
                crate::js::row_ops(self.inner.take_changes().iter().map(|r| r.op()))
            }
            /// Every row of the state, as `put` `RowOp`s.
            pub fn rows(&self) -> wasm_bindgen::JsValue {
                crate::js::row_ops(self.inner.rows().iter().map(|r| r.op()))
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
    ($builder:ident, $class:ident, $core:ty, $make:path, $machine:ty, $wrap:expr) => {
        /// A machine being rebuilt from its stored rows, a page at a time.
        #[wasm_bindgen(js_name = $class)]
        pub struct $builder {
            inner: shardtally_api::rebuild::Rebuild<$core>,
        }

        #[wasm_bindgen(js_class = $class)]
        impl $builder {
            /// A builder from the machine's settings.
            #[wasm_bindgen(constructor)]
            pub fn new(names: Vec<String>, values: Vec<wasm_bindgen::JsValue>) -> crate::js::JsResult<$builder> {
                let make = |o: &shardtally_api::options::Options| $make(shardtally_api::Naming::Camel, o);
                crate::js::make(names, values, make).map(|b| $builder { inner: shardtally_api::rebuild::Rebuild::new(b) })
            }
            /// The tables to read first, in this order, before every other.
            #[wasm_bindgen(js_name = readFirst)]
            pub fn read_first() -> Vec<String> {
                shardtally_api::rebuild::Rebuild::<$core>::read_first().iter().map(|t| t.to_string()).collect()
            }
            /// Adds a page of stored `(table, value)` pairs (packed: `js::pairs`).
            pub fn add(&mut self, tables: &str, lens: &[u32], bytes: &[u8]) -> crate::js::JsResult<()> {
                let pairs = crate::js::pairs(tables, lens, bytes)?;
                self.inner.add(pairs).map_err(crate::js::error)
            }
            /// The machine; the builder is spent.
            pub fn finish(&mut self) -> crate::js::JsResult<$machine> {
                self.inner.finish().map($wrap).map_err(crate::js::error)
            }
        }
    };
}
pub(crate) use builder;

/// Registers `ShardtallyError` and the builders of keyed lists and of row operations (called
/// once by the shared JS).
#[wasm_bindgen]
pub fn setup(error_class: js_sys::Function, entries: js_sys::Function, rows: js_sys::Function) {
    js::setup(error_class, entries, rows);
}

/// The error for an argument the shared JS found to have the wrong type.
#[wasm_bindgen(js_name = argumentError)]
pub fn argument_error(code: &str, argument: String, expected: String, value: String) -> JsValue {
    js::error(shardtally_api::js::argument_error(code, argument, expected, value))
}

/// The stable 64-bit hash of a key (FNV-1a then a mixer), as a bigint.
#[wasm_bindgen(js_name = keyHash)]
pub fn key_hash(key: &str) -> u64 {
    partition::key_hash(key)
}

/// Jump consistent hash: the bucket in `0 .. buckets` of a 64-bit hash.
#[wasm_bindgen(js_name = jumpHash)]
pub fn jump_hash(hash: JsValue, buckets: f64) -> JsResult<u32> {
    let hash = js::uint("hash", &hash, u64::MAX)?;
    Ok(partition::jump_hash(hash, js::u32("buckets", buckets)?))
}

/// Knuth's multiplicative hash of a 32-bit integer.
#[wasm_bindgen(js_name = knuthHash)]
pub fn knuth_hash(x: f64) -> JsResult<u32> {
    Ok(partition::knuth_hash(js::u32("x", x)?))
}

/// The owner of a 64-bit hash among `numShards` by modulo.
#[wasm_bindgen(js_name = ownerMod)]
pub fn owner_mod(hash: JsValue, num_shards: f64) -> JsResult<u32> {
    Ok(partition::owner_mod(js::uint("hash", &hash, u64::MAX)?, js::u32("numShards", num_shards)?))
}

/// The owner of a 64-bit hash among `numShards` contiguous ranges of the hash space.
#[wasm_bindgen(js_name = ownerRange)]
pub fn owner_range(hash: JsValue, num_shards: f64) -> JsResult<u32> {
    Ok(partition::owner_range(js::uint("hash", &hash, u64::MAX)?, js::u32("numShards", num_shards)?))
}

/// The hashes `shard` owns under `ownerRange` (`{ start, end }`, inclusive), or `null`.
#[wasm_bindgen(js_name = shardRange)]
pub fn shard_range(shard: f64, num_shards: f64) -> JsResult<JsValue> {
    let range = partition::shard_range(js::u32("shard", shard)?, js::u32("numShards", num_shards)?);
    Ok(js::to_js(&shardtally_api::views::hash_range(range)))
}

/// The route of a request path: numeric segments become `:id`, UUID segments `:uuid`; the
/// empty path is `/` (the shared JS checks the path is a well-formed string).
#[wasm_bindgen(js_name = defaultRoute)]
pub fn default_route(path: &str) -> String {
    shardtally::buckets::default_route(path)
}

/// The bucket key of a request, `"METHOD route"`: an unknown method is `OTHER`; cut to at
/// most `maxKeyBytes` UTF-8 bytes (whole characters).
#[wasm_bindgen(js_name = requestKey)]
pub fn request_key(method: &str, route: &str, max_key_bytes: f64) -> JsResult<String> {
    let max_key_bytes = js::u32("maxKeyBytes", max_key_bytes)?;
    Ok(shardtally::buckets::request_key(method, route, max_key_bytes as usize))
}
