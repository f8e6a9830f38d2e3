//! `Global`: applies batches exactly once, keeps the totals, tells the host when to publish.

use crate::js::{self, Num};
use napi::bindgen_prelude::{Uint8ArraySlice, Unknown};
use napi::{Env, Result};
use napi_derive::napi;
use shardtally as st;
use shardtally_api::{options, views, Value};

/// The global aggregator (the native half of the public `Global`).
#[napi]
pub struct Global {
    inner: st::Global,
}

fn value<'e>(env: &'e Env, v: impl Into<Value>) -> Result<Unknown<'e>> {
    js::to_js(env, &v.into())
}

crate::machine!(Global, |inner| Global { inner }, options::new_global, options::restore_global, rows: options::global_from_rows);
crate::builder!(GlobalBuilder, st::journal::GlobalBuilder, options::global_builder, Global, |inner| Global { inner });

#[napi]
impl Global {
    /// Applies a batch exactly once; returns the `AckOutput`.
    #[napi]
    pub fn handle_batch<'e>(&mut self, env: &'e Env, batch: Uint8ArraySlice<'_>, now_ms: f64) -> Result<Unknown<'e>> {
        let now = js::time(env, now_ms)?;
        let batch = st::Batch::decode(&batch).map_err(|e| js::error(env, e))?;
        let ack = self.inner.handle_batch(&batch, now).map_err(|e| js::error(env, e))?;
        value(env, views::ack(&ack))
    }

    /// Resets a key; a `ResetOutcome`.
    #[napi]
    pub fn reset<'e>(&mut self, env: &'e Env, key: String, now_ms: f64) -> Result<Unknown<'e>> {
        let now = js::time(env, now_ms)?;
        let outcome = self.inner.reset(&key, now).map_err(|e| js::error(env, e))?;
        value(env, views::reset_outcome(outcome))
    }

    /// Publishes now if anything changed; a `PublishOutcome`.
    #[napi]
    pub fn publish<'e>(&mut self, env: &'e Env, now_ms: f64) -> Result<Unknown<'e>> {
        let now = js::time(env, now_ms)?;
        value(env, views::publish_outcome(self.inner.publish(now)))
    }

    /// The host persisted publish `version`.
    #[napi]
    pub fn handle_publish_ack(&mut self, env: &Env, version: Num, now_ms: f64) -> Result<bool> {
        let version = js::uint(env, "version", &version, u64::MAX)?;
        Ok(self.inner.handle_publish_ack(version, js::time(env, now_ms)?))
    }

    /// Persisting publish `version` failed.
    #[napi]
    pub fn handle_publish_failure(&mut self, env: &Env, version: Num, now_ms: f64) -> Result<bool> {
        let version = js::uint(env, "version", &version, u64::MAX)?;
        Ok(self.inner.handle_publish_failure(version, js::time(env, now_ms)?))
    }

    /// Tiered aggregation: the upstream global acknowledged a forwarded batch.
    #[napi]
    pub fn handle_upstream_ack(&mut self, env: &Env, ack: Uint8ArraySlice<'_>, now_ms: f64) -> Result<bool> {
        let now = js::time(env, now_ms)?;
        let ack = st::Ack::decode(&ack).map_err(|e| js::error(env, e))?;
        self.inner.handle_upstream_ack(&ack, now).map_err(|e| js::error(env, e))
    }

    /// Tiered aggregation: the top global announced a reset (a notice's bytes).
    #[napi]
    pub fn handle_generation_notice(&mut self, env: &Env, notice: Uint8ArraySlice<'_>, now_ms: f64) -> Result<bool> {
        let now = js::time(env, now_ms)?;
        let notice = st::GenerationNotice::decode(&notice).map_err(|e| js::error(env, e))?;
        self.inner.handle_generation_notice(&notice, now).map_err(|e| js::error(env, e))
    }

    /// A `NoticeOutput` of `key`'s last reset addressed to a shard life.
    #[napi]
    pub fn generation_notice<'e>(&self, env: &'e Env, key: String, shard: f64, incarnation: Num) -> Result<Unknown<'e>> {
        let shard = js::u32(env, "shard", shard)?;
        let incarnation = js::uint(env, "incarnation", &incarnation, u64::MAX)?;
        value(env, views::notice(&self.inner.generation_notice(&key, st::ShardRef { shard, incarnation })))
    }

    /// Tiered aggregation: forwarding batch `seq` failed.
    #[napi]
    pub fn handle_upstream_failure(&mut self, env: &Env, seq: Num, now_ms: f64) -> Result<bool> {
        let seq = js::uint(env, "seq", &seq, u64::MAX)?;
        let now = js::time(env, now_ms)?;
        self.inner.handle_upstream_failure(seq, now).map_err(|e| js::error(env, e))
    }

    /// Tiered aggregation: the upstream global rejected batch `seq` for good.
    #[napi]
    pub fn handle_upstream_rejection(&mut self, env: &Env, seq: Num, now_ms: f64) -> Result<bool> {
        let seq = js::uint(env, "seq", &seq, u64::MAX)?;
        let now = js::time(env, now_ms)?;
        self.inner.handle_upstream_rejection(seq, now).map_err(|e| js::error(env, e))
    }

    /// Tiered aggregation: forward everything merged so far; a `FlushOutcome`.
    #[napi]
    pub fn flush_upstream<'e>(&mut self, env: &'e Env, now_ms: f64) -> Result<Unknown<'e>> {
        let now = js::time(env, now_ms)?;
        let outcome = self.inner.flush_upstream(now).map_err(|e| js::error(env, e))?;
        value(env, views::flush_outcome(outcome))
    }

    /// The total of one key.
    #[napi]
    pub fn total<'e>(&self, env: &'e Env, key: String) -> Result<Unknown<'e>> {
        value(env, self.inner.total(&key))
    }

    /// Every key's total, by key.
    #[napi]
    pub fn totals<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        value(env, views::key_totals(self.inner.totals()))
    }

    /// A key's generation.
    #[napi]
    pub fn key_generation<'e>(&self, env: &'e Env, key: String) -> Result<Unknown<'e>> {
        value(env, self.inner.key_generation(&key))
    }

    /// The reset counter.
    #[napi]
    pub fn generation<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        value(env, self.inner.generation())
    }

    /// Recent writes, newest first.
    #[napi]
    pub fn write_log<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        value(env, Value::List(self.inner.write_log().map(|w| views::write_record(w).into()).collect()))
    }

    /// Per-shard write statistics, by shard index.
    #[napi]
    pub fn shard_writes<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        value(env, views::shard_writes(&self.inner.shard_writes()))
    }

    /// The version of the last acknowledged publish.
    #[napi]
    pub fn published_version<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        value(env, self.inner.published_version())
    }

    /// The publish waiting for its acknowledgement, or `null`.
    #[napi]
    pub fn in_flight_publish<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        value(env, self.inner.in_flight_publish().map(views::publish))
    }

    /// The last applied seq of a shard life, or `null`.
    #[napi]
    pub fn last_seq<'e>(&self, env: &'e Env, shard: f64, incarnation: Num) -> Result<Unknown<'e>> {
        let shard = js::u32(env, "shard", shard)?;
        let incarnation = js::uint(env, "incarnation", &incarnation, u64::MAX)?;
        value(env, self.inner.last_seq(st::ShardRef { shard, incarnation }))
    }

    /// Whether this global forwards to an upstream global.
    #[napi]
    pub fn has_upstream(&self) -> bool {
        self.inner.upstream().is_some()
    }
}

crate::run_loop!(Global);
