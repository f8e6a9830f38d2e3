//! The `Router` class: picks the shard for each increment.

use crate::convert::{self, Options};
use crate::error::{core_error, decode_error, invalid_argument, JsResult};
use js_sys::Array;
use shardtally::{RouterConfig, Strategy};
use wasm_bindgen::prelude::*;

/// Shard indices as an array of numbers.
fn numbers(shards: Vec<u32>) -> Array {
    convert::array(shards, |s| JsValue::from_f64(f64::from(s)))
}

#[wasm_bindgen(typescript_custom_section)]
const TS_ROUTER: &str = r#"
/** How a router picks a shard. */
export type RouterStrategy = 'hash' | 'random' | 'round_robin' | 'pinned';

/** Options of `new Router(...)`; every one is optional. */
export interface RouterOptions {
  /** Default `'hash'` (jump consistent hash of the key: sticky, few keys move when the count changes). */
  strategy?: RouterStrategy;
  /** The shard of the `'pinned'` strategy (required with it). */
  pinnedShard?: number;
  /** Number of shards. Default 1. */
  shardCount?: number;
  /** Seed of the `'random'` strategy. Default 0. */
  seed?: number | bigint;
}
"#;

/// Picks a shard for each increment and tracks shards being drained after the shard count
/// was lowered: call `drain` on each shard `setShardCount` reports, and `markDrained` once
/// the shard `isDrained()`.
#[wasm_bindgen(js_name = Router)]
pub struct JsRouter {
    inner: shardtally::Router,
}

#[wasm_bindgen(js_class = Router)]
impl JsRouter {
    /// A router with the given strategy and shard count.
    #[wasm_bindgen(constructor)]
    pub fn new(#[wasm_bindgen(unchecked_optional_param_type = "RouterOptions")] options: JsValue) -> JsResult<JsRouter> {
        let o = Options::new(&options, "options")?;
        let mut b = RouterConfig::builder();
        let pinned = o.u32("pinnedShard")?;
        if let Some(name) = o.get("strategy")? {
            b = b.strategy(match (name.as_string().as_deref(), pinned) {
                (Some("hash"), _) => Strategy::Hash,
                (Some("random"), _) => Strategy::Random,
                (Some("round_robin"), _) => Strategy::RoundRobin,
                (Some("pinned"), Some(_)) => Strategy::Pinned,
                (Some("pinned"), None) => {
                    return Err(invalid_argument("pinnedShard", "an integer number with strategy 'pinned'", &JsValue::UNDEFINED))
                }
                _ => return Err(invalid_argument("strategy", "'hash', 'random', 'round_robin' or 'pinned'", &name)),
            });
        }
        if let Some(v) = o.u32("shardCount")? {
            b = b.shard_count(v);
        }
        if let Some(v) = o.u64("seed")? {
            b = b.seed(v);
        }
        if b.build().is_ok_and(|c| c.strategy() == Strategy::Pinned) {
            b = b.pinned_shard(pinned);
        }
        let config = b.build().map_err(crate::error::config_error)?;
        Ok(JsRouter { inner: shardtally::Router::new(config) })
    }

    /// Restores a router from `snapshot()` bytes.
    pub fn restore(#[wasm_bindgen(unchecked_param_type = "Uint8Array")] snapshot: JsValue) -> JsResult<JsRouter> {
        let bytes = convert::bytes(&snapshot, "snapshot")?;
        Ok(JsRouter { inner: shardtally::Router::restore(&bytes).map_err(decode_error)? })
    }

    /// The shard for an increment of `key`, in `0..shardCount()`.
    pub fn route(&mut self, #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue) -> JsResult<u32> {
        Ok(self.inner.route(&convert::string(&key, "key")?))
    }

    /// Changes the shard count; returns the shards that became draining (ascending).
    #[wasm_bindgen(js_name = setShardCount, unchecked_return_type = "number[]")]
    pub fn set_shard_count(&mut self, #[wasm_bindgen(unchecked_param_type = "number")] count: JsValue) -> JsResult<Array> {
        let count = convert::u32_arg(&count, "count")?;
        self.inner.set_shard_count(count).map(numbers).map_err(core_error)
    }

    /// Shards at or above the shard count that still have to be drained, ascending.
    #[wasm_bindgen(unchecked_return_type = "number[]")]
    pub fn draining(&self) -> Array {
        numbers(self.inner.draining())
    }

    /// The host finished draining `shard`; returns whether it was draining.
    #[wasm_bindgen(js_name = markDrained)]
    pub fn mark_drained(&mut self, #[wasm_bindgen(unchecked_param_type = "number")] shard: JsValue) -> JsResult<bool> {
        Ok(self.inner.mark_drained(convert::u32_arg(&shard, "shard")?))
    }

    /// The number of shards increments are routed to.
    #[wasm_bindgen(js_name = shardCount)]
    pub fn shard_count(&self) -> u32 {
        self.inner.shard_count()
    }

    /// The routing strategy's name.
    #[wasm_bindgen(unchecked_return_type = "RouterStrategy")]
    pub fn strategy(&self) -> String {
        self.inner.strategy().as_str().to_owned()
    }

    /// The pinned shard of the `'pinned'` strategy, or `null` for the other strategies.
    #[wasm_bindgen(js_name = pinnedShard, unchecked_return_type = "number | null")]
    pub fn pinned_shard(&self) -> JsValue {
        self.inner.pinned_shard().map_or(JsValue::NULL, JsValue::from)
    }

    /// The router's state as versioned bytes, for `Router.restore`.
    pub fn snapshot(&self) -> Vec<u8> {
        self.inner.snapshot()
    }
}
