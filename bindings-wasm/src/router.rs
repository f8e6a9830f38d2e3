//! `Router`: picks the shard for each increment and tracks shards being drained.

use crate::js::{self, JsResult};
use shardtally as st;
use shardtally_api::{options, Naming, Value};
use wasm_bindgen::prelude::*;

/// A router (the native half of the public `Router`).
#[wasm_bindgen(js_name = Router)]
pub struct JsRouter {
    inner: st::Router,
}

#[wasm_bindgen(js_class = Router)]
impl JsRouter {
    /// A router from options (its settings).
    #[wasm_bindgen(constructor)]
    pub fn new(names: Vec<String>, values: Vec<JsValue>) -> JsResult<JsRouter> {
        options::new_router(Naming::Camel, &js::options(names, values)?).map(|inner| JsRouter { inner }).map_err(js::error)
    }

    /// A router from `snapshot()` bytes.
    pub fn restore(bytes: &[u8]) -> JsResult<JsRouter> {
        st::Router::restore(bytes).map(|inner| JsRouter { inner }).map_err(js::error)
    }

    /// The shard for an increment of `key`.
    pub fn route(&mut self, key: &str) -> u32 {
        self.inner.route(key)
    }

    /// Changes the shard count; returns the shards that became draining.
    #[wasm_bindgen(js_name = setShardCount)]
    pub fn set_shard_count(&mut self, count: f64) -> JsResult<JsValue> {
        self.inner.set_shard_count(js::u32("count", count)?).map(shards).map_err(js::error)
    }

    /// Shards still to be drained.
    pub fn draining(&self) -> JsValue {
        shards(self.inner.draining())
    }

    /// The host finished draining `shard`.
    #[wasm_bindgen(js_name = markDrained)]
    pub fn mark_drained(&mut self, shard: f64) -> JsResult<bool> {
        Ok(self.inner.mark_drained(js::u32("shard", shard)?))
    }

    /// The number of shards.
    #[wasm_bindgen(js_name = shardCount)]
    pub fn shard_count(&self) -> u32 {
        self.inner.shard_count()
    }

    /// The routing strategy.
    pub fn strategy(&self) -> String {
        self.inner.strategy().as_str().to_owned()
    }

    /// The pinned shard of the `'pinned'` strategy, or `null`.
    #[wasm_bindgen(js_name = pinnedShard)]
    pub fn pinned_shard(&self) -> JsValue {
        js::to_js(&self.inner.pinned_shard().into())
    }

    /// The router's state as versioned bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        self.inner.snapshot()
    }
}

/// Shard indices as a list of numbers.
fn shards(v: Vec<u32>) -> JsValue {
    js::to_js(&Value::List(v.into_iter().map(Value::from).collect()))
}
