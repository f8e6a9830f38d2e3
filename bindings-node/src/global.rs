//! `Global`: applies batches exactly once, keeps the totals, tells the host when to publish.

use crate::convert::{self, int, time, time_out, BigNum, Bytes, JsInt, Num, ObjArg, Options, Str};
use crate::error::{config_error, core_error, decode_error};
use crate::output::{
    Ack, FlushOutcome, GlobalDeadline, GlobalOutput, GlobalStats, KeyDelta, KeyTotal, Publish, PublishOutcome, ResetOutcome, ShardWrites,
    WriteRecord,
};
use crate::packed;
use crate::shard::{new_shard, shard_config};
use napi::bindgen_prelude::{Either, Object, Uint8Array, Uint8ArraySlice, Unknown};
use napi::{Env, Result};
use napi_derive::napi;
use shardtally as st;
use shardtally::{GlobalConfig, PublishMode};

fn global_config(o: &Options<'_>) -> Result<GlobalConfig> {
    let mut b = GlobalConfig::builder();
    if let Some(v) = o.u32("persistAfterWrites")? {
        b = b.persist_after_writes(v);
    }
    if let Some(v) = o.u64("persistAfterIdleMs")? {
        b = b.persist_after_idle_ms(v);
    }
    if let Some(v) = o.u64("persistMaxAgeMs")? {
        b = b.persist_max_age_ms(v);
    }
    if let Some(v) = o.choice("publishMode", &["full", "changes"], "'full' or 'changes'")? {
        b = b.publish_mode(if v == "changes" { PublishMode::Changes } else { PublishMode::Full });
    }
    if let Some(v) = o.u64("publishTimeoutMs")? {
        b = b.publish_timeout_ms(v);
    }
    if let Some(v) = o.u64("retryInitialMs")? {
        b = b.retry_initial_ms(v);
    }
    if let Some(v) = o.u64("retryMaxMs")? {
        b = b.retry_max_ms(v);
    }
    if let Some(v) = o.u8("retryJitterPercent")? {
        b = b.retry_jitter_percent(v);
    }
    if let Some(v) = o.usize("writeLogCapacity")? {
        b = b.write_log_capacity(v);
    }
    if let Some(v) = o.usize("writeLogKeysPerWrite")? {
        b = b.write_log_keys_per_write(v);
    }
    if let Some(v) = o.usize("maxKeys")? {
        b = b.max_keys(v);
    }
    if let Some(v) = o.usize("maxKeyBytes")? {
        b = b.max_key_bytes(v);
    }
    if let Some(v) = o.usize("maxDedupEntries")? {
        b = b.max_dedup_entries(v);
    }
    if let Some(v) = o.u64("seed")? {
        b = b.seed(v);
    }
    b.build().map_err(|e| config_error(o.env(), &e))
}

/// The global aggregator.
///
/// Run loop: `handleBatch` returns the `AckOutput` to route back to the shard; after every input,
/// persist `snapshot()` when `takeStateChanged()` (before sending the ack), persist every
/// `pollOutput()` publish and acknowledge it with `handlePublishAck`, and arm one timer
/// for `pollTimeout()` that calls `handleTimeout(nowMs)`.
#[napi]
pub struct Global {
    inner: st::Global,
}

#[napi]
impl Global {
    /// An empty global; with `upstream`, a tiered global that forwards what it applies.
    #[napi(constructor, ts_args_type = "options?: GlobalOptions")]
    pub fn new(env: &Env, options: Option<ObjArg<'_>>) -> Result<Self> {
        let o = Options::new(env, "options", options)?;
        let config = global_config(&o)?;
        let inner = match o.nested("upstream")? {
            None => st::Global::new(config),
            Some(up) => st::Global::with_upstream(config, new_shard(&up)?),
        };
        Ok(Global { inner })
    }

    /// Restores a global from `snapshot()` bytes; a publish that was in flight is offered
    /// again by `pollOutput`. The settings are not in the snapshot: pass them again
    /// (defaults otherwise); a tiered global needs `upstream` (its settings).
    #[napi(factory, ts_args_type = "snapshot: Uint8Array, options?: GlobalRestoreOptions")]
    pub fn restore(env: &Env, snapshot: Either<Uint8ArraySlice<'_>, Unknown<'_>>, options: Option<ObjArg<'_>>) -> Result<Self> {
        let o = Options::new(env, "options", options)?;
        let config = global_config(&o)?;
        let upstream = o.nested("upstream")?.map(|up| shard_config(&up)).transpose()?;
        let bytes = convert::snapshot_bytes(env, snapshot)?;
        let inner = match upstream {
            None => st::Global::restore(&bytes, config),
            Some(up) => st::Global::restore_tiered(&bytes, config, up),
        };
        Ok(Global { inner: inner.map_err(|e| decode_error(env, &e))? })
    }

    // ----- inputs -----

    /// Applies a batch (the `BatchOutput` object or its `bytes`) exactly once and returns the
    /// acknowledgement to route back to its shard; a batch already applied is acknowledged
    /// again without being applied. Errors (nothing changes; the shard retries):
    /// `KEY_TOO_LONG`, `OVERFLOW`, `TABLE_FULL` (`maxKeys`), `DECODE_*`.
    #[napi(ts_args_type = "batch: Uint8Array | BatchOutput, nowMs: number", ts_return_type = "AckOutput")]
    pub fn handle_batch(&mut self, env: &Env, batch: Bytes<'_>, now_ms: Num<'_>) -> Result<Ack> {
        let bytes = convert::bytes(env, "batch", batch)?;
        let now = time(env, now_ms)?;
        let batch = st::Batch::decode(&bytes).map_err(|e| decode_error(env, &e))?;
        let ack = self.inner.handle_batch(&batch, now).map_err(|e| core_error(env, &e))?;
        Ok(Ack::from(&ack))
    }

    /// Resets a key: its total goes to zero and its generation up, so deltas shards
    /// accepted before they learn of it never count; produces a publish and a write-log
    /// entry. A key that is zero or absent is `'not_defined'`. Errors: `EMPTY_KEY`,
    /// `KEY_TOO_LONG`.
    #[napi(ts_args_type = "key: string, nowMs: number")]
    pub fn reset(&mut self, env: &Env, key: Str<'_>, now_ms: Num<'_>) -> Result<ResetOutcome> {
        let key = convert::key(env, "key", key)?;
        let now = time(env, now_ms)?;
        self.inner.reset(&key, now).map(Into::into).map_err(|e| core_error(env, &e))
    }

    /// Publishes now (reason `'manual'`) if anything changed since the last publish.
    #[napi(ts_args_type = "nowMs: number")]
    pub fn publish(&mut self, env: &Env, now_ms: Num<'_>) -> Result<PublishOutcome> {
        Ok(self.inner.publish(time(env, now_ms)?).into())
    }

    /// The host persisted publish `version`. Returns whether it was the one in flight.
    #[napi(ts_args_type = "version: number | bigint, nowMs: number")]
    pub fn handle_publish_ack(&mut self, env: &Env, version: BigNum<'_>, now_ms: Num<'_>) -> Result<bool> {
        let version = convert::u64_arg(env, "version", version)?;
        Ok(self.inner.handle_publish_ack(version, time(env, now_ms)?))
    }

    /// Persisting publish `version` failed: its changes are published again after a
    /// backoff. Returns `false`, changing nothing, when `version` is not in flight.
    #[napi(ts_args_type = "version: number | bigint, nowMs: number")]
    pub fn handle_publish_failure(&mut self, env: &Env, version: BigNum<'_>, now_ms: Num<'_>) -> Result<bool> {
        let version = convert::u64_arg(env, "version", version)?;
        Ok(self.inner.handle_publish_failure(version, time(env, now_ms)?))
    }

    /// Tiered aggregation: the upstream global acknowledged a forwarded batch. Errors:
    /// `NO_UPSTREAM`, `WRONG_SHARD`, `DECODE_*`.
    #[napi(ts_args_type = "ack: Uint8Array | AckOutput, nowMs: number")]
    pub fn handle_upstream_ack(&mut self, env: &Env, ack: Bytes<'_>, now_ms: Num<'_>) -> Result<bool> {
        let bytes = convert::bytes(env, "ack", ack)?;
        let now = time(env, now_ms)?;
        let ack = st::Ack::decode(&bytes).map_err(|e| decode_error(env, &e))?;
        self.inner.handle_upstream_ack(&ack, now).map_err(|e| core_error(env, &e))
    }

    /// Tiered aggregation: forwarding batch `seq` upstream failed. Errors: `NO_UPSTREAM`.
    #[napi(ts_args_type = "seq: number | bigint, nowMs: number")]
    pub fn handle_upstream_failure(&mut self, env: &Env, seq: BigNum<'_>, now_ms: Num<'_>) -> Result<bool> {
        let seq = convert::u64_arg(env, "seq", seq)?;
        let now = time(env, now_ms)?;
        self.inner.handle_upstream_failure(seq, now).map_err(|e| core_error(env, &e))
    }

    /// Tiered aggregation: forward everything merged so far upstream now. Errors:
    /// `NO_UPSTREAM`.
    #[napi(ts_args_type = "nowMs: number")]
    pub fn flush_upstream(&mut self, env: &Env, now_ms: Num<'_>) -> Result<FlushOutcome> {
        let now = time(env, now_ms)?;
        self.inner.flush_upstream(now).map(Into::into).map_err(|e| core_error(env, &e))
    }

    /// Fires every deadline `<= nowMs` (publish timers, publish timeout and retry, the
    /// upstream shard's timers). Early or repeated calls do nothing.
    #[napi(ts_args_type = "nowMs: number")]
    pub fn handle_timeout(&mut self, env: &Env, now_ms: Num<'_>) -> Result<()> {
        self.inner.handle_timeout(time(env, now_ms)?);
        Ok(())
    }

    // ----- outputs -----

    /// The next thing to do (`{ type: 'publish' }` or `{ type: 'forward' }`), or `null`.
    #[napi]
    pub fn poll_output(&mut self) -> Option<GlobalOutput> {
        while let Some(out) = self.inner.poll_output() {
            if let Some(v) = GlobalOutput::from_output(&out) {
                return Some(v);
            }
        }
        None
    }

    /// `pollOutput` in the compact form `index.js` unpacks (see `packed`).
    #[napi(js_name = "_pollOutputPacked", skip_typescript)]
    pub fn poll_output_packed<'e>(&mut self, env: &'e Env) -> Result<Option<Object<'e>>> {
        while let Some(out) = self.inner.poll_output() {
            if let Some(o) = packed::global_output(env, &out)? {
                return Ok(Some(o));
            }
        }
        Ok(None)
    }

    /// The earliest deadline in ms (call `handleTimeout` then), or `null` when there is
    /// none. A deadline beyond `2^53 - 1` ms (which no valid `nowMs` reaches) is reported
    /// as `2^53 - 1`.
    #[napi]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.inner.poll_timeout().map(time_out)
    }

    /// Whether the state changed since the last call: a durable host persists `snapshot()`
    /// before sending acknowledgements.
    #[napi]
    pub fn take_state_changed(&mut self) -> bool {
        self.inner.take_state_changed()
    }

    /// The whole state as versioned bytes (for `Global.restore`).
    #[napi]
    pub fn snapshot(&self) -> Uint8Array {
        Uint8Array::from(self.inner.snapshot())
    }

    // ----- views -----

    /// The total of one key (0 when absent).
    #[napi(ts_args_type = "key: string", ts_return_type = "number | bigint")]
    pub fn total(&self, env: &Env, key: Str<'_>) -> Result<JsInt> {
        let key = convert::key(env, "key", key)?;
        Ok(int(self.inner.total(&key)))
    }

    /// Every key's total, sorted by key (keys reset to zero included).
    #[napi]
    pub fn totals(&self) -> Vec<KeyTotal> {
        self.inner.totals().into_iter().map(|(k, t)| KeyTotal { key: k.to_owned(), total: int(t) }).collect()
    }

    /// A key's generation: the reset counter's value at its last reset (0 if never reset).
    #[napi(ts_args_type = "key: string", ts_return_type = "number | bigint")]
    pub fn key_generation(&self, env: &Env, key: Str<'_>) -> Result<JsInt> {
        let key = convert::key(env, "key", key)?;
        Ok(int(self.inner.key_generation(&key)))
    }

    /// The reset counter; new shards may start from it (`generation` in `ShardOptions`).
    #[napi(ts_return_type = "number | bigint")]
    pub fn generation(&self) -> JsInt {
        int(self.inner.generation())
    }

    /// Recent writes (applied batches and resets), newest first.
    #[napi]
    pub fn write_log(&self) -> Vec<WriteRecord> {
        self.inner.write_log().filter_map(WriteRecord::from_record).collect()
    }

    /// Per-shard write statistics (writes and summed deltas per key), by shard index.
    #[napi(ts_return_type = "Array<ShardWriteStats>")]
    pub fn shard_stats(&self) -> Vec<ShardWrites> {
        self.inner
            .shard_writes()
            .into_iter()
            .map(|(shard, w)| ShardWrites {
                shard,
                writes: int(w.writes),
                deltas: w.deltas.iter().map(|(k, d)| KeyDelta { key: k.to_string(), delta: int(*d) }).collect(),
            })
            .collect()
    }

    /// Activity counters (total writes, distinct shards, duplicates, ...).
    #[napi]
    pub fn stats(&self) -> GlobalStats {
        self.inner.stats().into()
    }

    /// The version of the last acknowledged publish (0 before any).
    #[napi(ts_return_type = "number | bigint")]
    pub fn published_version(&self) -> JsInt {
        int(self.inner.published_version())
    }

    /// The publish waiting for its acknowledgement, or `null`.
    #[napi(ts_return_type = "PublishOutput | null")]
    pub fn in_flight_publish(&self) -> Option<Publish> {
        self.inner.in_flight_publish().map(Publish::from)
    }

    /// The last applied seq of a shard life, or `null` when it is not remembered.
    #[napi(ts_args_type = "shard: number, incarnation: number | bigint", ts_return_type = "number | bigint | null")]
    pub fn last_seq(&self, env: &Env, shard: Num<'_>, incarnation: BigNum<'_>) -> Result<Option<JsInt>> {
        let shard = convert::uint(env, "shard", shard, u64::from(u32::MAX))? as u32;
        let incarnation = convert::u64_arg(env, "incarnation", incarnation)?;
        Ok(self.inner.last_seq(st::ShardRef { shard, incarnation }).map(int))
    }

    /// The next deadline and which timer it belongs to, or `null`.
    #[napi]
    pub fn next_deadline(&self) -> Option<GlobalDeadline> {
        let d = self.inner.next_deadline()?;
        Some(GlobalDeadline { at_ms: time_out(d.at), timer: d.timer.as_str().to_owned() })
    }

    /// Whether this global forwards to an upstream global (tiered aggregation).
    #[napi]
    pub fn has_upstream(&self) -> bool {
        self.inner.upstream().is_some()
    }
}
