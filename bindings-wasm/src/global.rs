//! `Global`: applies batches exactly once, keeps the totals, tells the host when to publish.

use crate::js::{self, JsResult};
use shardtally as st;
use shardtally_api::{options, views, Value};
use wasm_bindgen::prelude::*;

/// The global aggregator (the native half of the public `Global`).
#[wasm_bindgen(js_name = Global)]
pub struct JsGlobal {
    inner: st::Global,
}

fn value(v: impl Into<Value>) -> JsValue {
    js::to_js(&v.into())
}

crate::machine!(JsGlobal, Global, |inner| JsGlobal { inner }, options::new_global, options::restore_global, rows: options::global_from_rows);
crate::builder!(JsGlobalBuilder, GlobalBuilder, st::journal::GlobalBuilder, options::global_builder, JsGlobal, |inner| JsGlobal { inner });

#[wasm_bindgen(js_class = Global)]
impl JsGlobal {
    /// Applies a batch exactly once; returns the `AckOutput`.
    #[wasm_bindgen(js_name = handleBatch)]
    pub fn handle_batch(&mut self, batch: &[u8], now_ms: f64) -> JsResult<JsValue> {
        let now = js::time(now_ms)?;
        let batch = st::Batch::decode(batch).map_err(js::error)?;
        let ack = self.inner.handle_batch(&batch, now).map_err(js::error)?;
        Ok(value(views::ack(&ack)))
    }

    /// Resets a key; a `ResetOutcome`.
    pub fn reset(&mut self, key: &str, now_ms: f64) -> JsResult<JsValue> {
        let now = js::time(now_ms)?;
        self.inner.reset(key, now).map(|o| value(views::reset_outcome(o))).map_err(js::error)
    }

    /// Publishes now if anything changed; a `PublishOutcome`.
    pub fn publish(&mut self, now_ms: f64) -> JsResult<JsValue> {
        Ok(value(views::publish_outcome(self.inner.publish(js::time(now_ms)?))))
    }

    /// The host persisted publish `version`.
    #[wasm_bindgen(js_name = handlePublishAck)]
    pub fn handle_publish_ack(&mut self, version: JsValue, now_ms: f64) -> JsResult<bool> {
        let version = js::uint("version", &version, u64::MAX)?;
        Ok(self.inner.handle_publish_ack(version, js::time(now_ms)?))
    }

    /// Persisting publish `version` failed.
    #[wasm_bindgen(js_name = handlePublishFailure)]
    pub fn handle_publish_failure(&mut self, version: JsValue, now_ms: f64) -> JsResult<bool> {
        let version = js::uint("version", &version, u64::MAX)?;
        Ok(self.inner.handle_publish_failure(version, js::time(now_ms)?))
    }

    /// Tiered aggregation: the upstream global acknowledged a forwarded batch.
    #[wasm_bindgen(js_name = handleUpstreamAck)]
    pub fn handle_upstream_ack(&mut self, ack: &[u8], now_ms: f64) -> JsResult<bool> {
        let now = js::time(now_ms)?;
        let ack = st::Ack::decode(ack).map_err(js::error)?;
        self.inner.handle_upstream_ack(&ack, now).map_err(js::error)
    }

    /// Tiered aggregation: the top global announced a reset (a notice's bytes).
    #[wasm_bindgen(js_name = handleGenerationNotice)]
    pub fn handle_generation_notice(&mut self, notice: &[u8], now_ms: f64) -> JsResult<bool> {
        let now = js::time(now_ms)?;
        let notice = st::GenerationNotice::decode(notice).map_err(js::error)?;
        self.inner.handle_generation_notice(&notice, now).map_err(js::error)
    }

    /// A `NoticeOutput` of `key`'s last reset addressed to a shard life.
    #[wasm_bindgen(js_name = generationNotice)]
    pub fn generation_notice(&self, key: &str, shard: f64, incarnation: JsValue) -> JsResult<JsValue> {
        let shard = js::u32("shard", shard)?;
        let incarnation = js::uint("incarnation", &incarnation, u64::MAX)?;
        Ok(value(views::notice(&self.inner.generation_notice(key, st::ShardRef { shard, incarnation }))))
    }

    /// Tiered aggregation: forwarding batch `seq` failed.
    #[wasm_bindgen(js_name = handleUpstreamFailure)]
    pub fn handle_upstream_failure(&mut self, seq: JsValue, now_ms: f64) -> JsResult<bool> {
        let seq = js::uint("seq", &seq, u64::MAX)?;
        let now = js::time(now_ms)?;
        self.inner.handle_upstream_failure(seq, now).map_err(js::error)
    }

    /// Tiered aggregation: the upstream global rejected batch `seq` for good.
    #[wasm_bindgen(js_name = handleUpstreamRejection)]
    pub fn handle_upstream_rejection(&mut self, seq: JsValue, now_ms: f64) -> JsResult<bool> {
        let seq = js::uint("seq", &seq, u64::MAX)?;
        let now = js::time(now_ms)?;
        self.inner.handle_upstream_rejection(seq, now).map_err(js::error)
    }

    /// Tiered aggregation: forward everything merged so far; a `FlushOutcome`.
    #[wasm_bindgen(js_name = flushUpstream)]
    pub fn flush_upstream(&mut self, now_ms: f64) -> JsResult<JsValue> {
        let now = js::time(now_ms)?;
        self.inner.flush_upstream(now).map(|o| value(views::flush_outcome(o))).map_err(js::error)
    }

    /// The total of one key.
    pub fn total(&self, key: &str) -> JsValue {
        value(self.inner.total(key))
    }

    /// Every key's total, by key.
    pub fn totals(&self) -> JsValue {
        value(views::key_totals(self.inner.totals()))
    }

    /// A key's generation.
    #[wasm_bindgen(js_name = keyGeneration)]
    pub fn key_generation(&self, key: &str) -> JsValue {
        value(self.inner.key_generation(key))
    }

    /// The reset counter.
    pub fn generation(&self) -> JsValue {
        value(self.inner.generation())
    }

    /// Recent writes, newest first.
    #[wasm_bindgen(js_name = writeLog)]
    pub fn write_log(&self) -> JsValue {
        value(Value::List(self.inner.write_log().map(|w| views::write_record(w).into()).collect()))
    }

    /// Per-shard write statistics, by shard index.
    #[wasm_bindgen(js_name = shardWrites)]
    pub fn shard_writes(&self) -> JsValue {
        value(views::shard_writes(&self.inner.shard_writes()))
    }

    /// The version of the last acknowledged publish.
    #[wasm_bindgen(js_name = publishedVersion)]
    pub fn published_version(&self) -> JsValue {
        value(self.inner.published_version())
    }

    /// The publish waiting for its acknowledgement, or `null`.
    #[wasm_bindgen(js_name = inFlightPublish)]
    pub fn in_flight_publish(&self) -> JsValue {
        value(self.inner.in_flight_publish().map(views::publish))
    }

    /// The last applied seq of a shard life, or `null`.
    #[wasm_bindgen(js_name = lastSeq)]
    pub fn last_seq(&self, shard: f64, incarnation: JsValue) -> JsResult<JsValue> {
        let shard = js::u32("shard", shard)?;
        let incarnation = js::uint("incarnation", &incarnation, u64::MAX)?;
        Ok(value(self.inner.last_seq(st::ShardRef { shard, incarnation })))
    }

    /// Whether this global forwards to an upstream global.
    #[wasm_bindgen(js_name = hasUpstream)]
    pub fn has_upstream(&self) -> bool {
        self.inner.upstream().is_some()
    }
}

crate::run_loop!(JsGlobal, Global);
