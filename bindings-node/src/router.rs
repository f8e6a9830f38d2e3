//! `Router`: picks the shard for each increment and tracks shards being drained.

use crate::js;
use napi::bindgen_prelude::{Array, Uint8ArraySlice, Unknown};
use napi::{Env, Result};
use napi_derive::napi;
use shardtally as st;
use shardtally_api::{options, Naming, Value};

/// A router (the native half of the public `Router`).
#[napi]
pub struct Router {
    inner: st::Router,
}

#[napi]
impl Router {
    /// A router from options (its settings).
    #[napi(constructor)]
    pub fn new(env: &Env, names: Vec<String>, values: Array<'_>) -> Result<Self> {
        let o = js::options(names, &values)?;
        options::new_router(Naming::Camel, &o).map(|inner| Router { inner }).map_err(|e| js::error(env, e))
    }

    /// A router from `snapshot()` bytes.
    #[napi(factory)]
    pub fn restore(env: &Env, bytes: Uint8ArraySlice<'_>) -> Result<Self> {
        st::Router::restore(&bytes).map(|inner| Router { inner }).map_err(|e| js::error(env, e))
    }

    /// The shard for an increment of `key`.
    #[napi]
    pub fn route(&mut self, key: String) -> u32 {
        self.inner.route(&key)
    }

    /// Changes the shard count; returns the shards that became draining.
    #[napi]
    pub fn set_shard_count<'e>(&mut self, env: &'e Env, count: f64) -> Result<Unknown<'e>> {
        let count = js::u32(env, "count", count)?;
        let draining = self.inner.set_shard_count(count).map_err(|e| js::error(env, e))?;
        shards(env, draining)
    }

    /// Shards still to be drained.
    #[napi]
    pub fn draining<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        shards(env, self.inner.draining())
    }

    /// The host finished draining `shard`.
    #[napi]
    pub fn mark_drained(&mut self, env: &Env, shard: f64) -> Result<bool> {
        Ok(self.inner.mark_drained(js::u32(env, "shard", shard)?))
    }

    /// The number of shards.
    #[napi]
    pub fn shard_count(&self) -> u32 {
        self.inner.shard_count()
    }

    /// The routing strategy.
    #[napi]
    pub fn strategy(&self) -> &'static str {
        self.inner.strategy().as_str()
    }

    /// The pinned shard of the `'pinned'` strategy, or `null`.
    #[napi]
    pub fn pinned_shard<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        js::to_js(env, &self.inner.pinned_shard().into())
    }

    /// The router's state as versioned bytes.
    #[napi]
    pub fn snapshot<'e>(&self, env: &'e Env) -> Result<Uint8ArraySlice<'e>> {
        Uint8ArraySlice::copy_from(env, self.inner.snapshot())
    }
}

/// Shard indices as a list of numbers.
fn shards(env: &Env, v: Vec<u32>) -> Result<Unknown<'_>> {
    js::to_js(env, &Value::List(v.into_iter().map(Value::from).collect()))
}
