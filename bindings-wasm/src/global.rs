//! The `Global` class: applies batches exactly once, keeps the totals and tells the host
//! when to publish them.

use crate::convert::{self, array, batch, from_i64, from_time, from_u64, keyed, time, Int, Keyed, Obj, Options};
use crate::error::{core_error, decode_error, invalid_argument, JsResult};
use crate::shard::{flush_outcome, new_shard, shard_config};
use js_sys::{Array, Uint8Array};
use shardtally::{Batch, GlobalConfig, GlobalOutput, PublishMode, PublishOutcome, ResetOutcome, ShardRef, WriteKind};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_GLOBAL: &str = r#"
/** Settings of a global aggregator; every one is optional and defaults to core's value. */
export interface GlobalConfigOptions {
  /** Publish after this many applied batches; 0 disables. Default 100. */
  persistAfterWrites?: number;
  /** Publish when no batch arrived for this long; 0 disables. Default 5000. */
  persistAfterIdleMs?: number | bigint;
  /** Publish when the oldest unpublished change is this old; 0 disables. Default 60000. */
  persistMaxAgeMs?: number | bigint;
  /** Every key's total (`'full'`) or only the keys changed since the last acknowledged publish. Default `'full'`. */
  publishMode?: 'full' | 'changes';
  /** Treat an unacknowledged publish as failed after this long. Default 10000. */
  publishTimeoutMs?: number | bigint;
  /** First delay before retrying a failed publish; doubles per attempt. Default 1000. */
  retryInitialMs?: number | bigint;
  /** Largest delay before retrying a failed publish. Default 30000. */
  retryMaxMs?: number | bigint;
  /** Seeded jitter on publish retries, in percent (0..=100). Default 20. */
  retryJitterPercent?: number;
  /** Records kept in the write log (0 keeps none). Default 1000. */
  writeLogCapacity?: number;
  /** Keys listed per write-log record (the rest are counted). Default 16. */
  writeLogKeysPerWrite?: number;
  /** Most distinct keys in the totals; a batch that would add more is rejected. Default 1000000. */
  maxKeys?: number;
  /** Longest key in UTF-8 bytes. Default 256. */
  maxKeyBytes?: number;
  /** Most (shard, incarnation) pairs remembered for deduplication. Default 10000. */
  maxDedupEntries?: number;
  /** Seed of the jitter generator. Default 0. */
  seed?: number | bigint;
}

/** Options of `new Global(...)`. */
export interface GlobalOptions extends GlobalConfigOptions {
  /**
   * Tiered aggregation: forward everything applied to a higher-level global through an
   * embedded shard with these options (its batches come out as `forward` outputs).
   */
  upstream?: ShardOptions;
}

/** Options of `Global.restore(...)`: a tiered global's snapshot needs `upstream` settings. */
export interface GlobalRestoreOptions extends GlobalConfigOptions {
  upstream?: ShardConfigOptions;
}

/** The acknowledgement of a batch: send `bytes` back to the shard's `handleAck`. */
export interface AckOutput {
  type: 'ack';
  /** The encoded acknowledgement, for `shard.handleAck(bytes, nowMs)`. */
  bytes: Uint8Array;
  shard: number;
  incarnation: number | bigint;
  seq: number | bigint;
  /** The batch had been applied before: this acknowledgement applied nothing. */
  duplicate: boolean;
  /** The global's reset generation. */
  generation: number | bigint;
  /** Keys of the batch dropped as older than their last reset, with their generation. */
  staleKeys: { key: string; generation: number | bigint }[];
}

/** Why a publish was cut. */
export type PublishReason = 'writes' | 'idle' | 'max_age' | 'reset' | 'manual' | 'retry';

/** Totals to persist; acknowledge with `handlePublishAck(version, nowMs)`. */
export interface PublishOutput {
  type: 'publish';
  version: number | bigint;
  mode: 'full' | 'changes';
  reason: PublishReason;
  /** Sorted by key. */
  entries: { key: string; total: number | bigint }[];
}

/** Tiered aggregation: deliver `bytes` to the upstream global's `handleBatch`. */
export interface ForwardOutput extends Omit<BatchOutput, 'type'> {
  type: 'forward';
}

/** What a global asks its host to do. */
export type GlobalOutput = PublishOutput | ForwardOutput;

/** What `reset` did. */
export type ResetOutcome =
  | { type: 'reset'; previous: number | bigint; generation: number | bigint }
  | { type: 'not_defined' };

/** What `publish` did. */
export type PublishOutcome =
  | { type: 'sent'; version: number | bigint }
  | { type: 'deferred' }
  | { type: 'nothing_changed' };

/** The next deadline of a global and which timer it belongs to. */
export interface GlobalDeadline {
  atMs: number;
  timer: 'idle' | 'max_age' | 'publish_timeout' | 'publish_retry' | 'upstream';
}

/** One write-log record: an applied batch or a reset. */
export type WriteRecord =
  | {
      type: 'batch';
      atMs: number;
      shard: number;
      incarnation: number | bigint;
      seq: number | bigint;
      /** Number of entries applied. */
      keys: number;
      /** The first `writeLogKeysPerWrite` applied entries, by key. */
      entries: { key: string; delta: number | bigint }[];
      /** Applied entries not listed. */
      omitted: number;
    }
  | { type: 'reset'; atMs: number; key: string; previous: number | bigint; generation: number | bigint };

/** What one shard index has written (all incarnations). */
export interface ShardWriteStats {
  shard: number;
  writes: number | bigint;
  /** Summed applied deltas per key, sorted by key. */
  deltas: { key: string; delta: number | bigint }[];
}

/** Counters of a global's activity (kept across snapshots). */
export interface GlobalStats {
  totalWrites: number | bigint;
  distinctShards: number | bigint;
  duplicates: number | bigint;
  staleDropped: number | bigint;
  resets: number | bigint;
  publishes: number | bigint;
  publishFailures: number | bigint;
  dedupEvictions: number | bigint;
  untrackedShardWrites: number | bigint;
}
"#;

/// Builds a global configuration from JS options.
fn global_config(o: &Options) -> JsResult<GlobalConfig> {
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
    if let Some(v) = o.get("publishMode")? {
        b = b.publish_mode(match v.as_string().as_deref() {
            Some("full") => PublishMode::Full,
            Some("changes") => PublishMode::Changes,
            _ => return Err(invalid_argument("publishMode", "'full' or 'changes'", &v)),
        });
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
    b.build().map_err(crate::error::config_error)
}

/// `[{ key, total }]` from `(key, total)` pairs.
fn totals<'a>(pairs: impl IntoIterator<Item = (&'a str, i64)>) -> Array {
    keyed(Keyed::Total, pairs.into_iter().map(|(k, t)| (k, Int::I(t))))
}

/// `[{ key, delta }]` from `(key, delta)` pairs.
fn deltas<'a>(pairs: impl IntoIterator<Item = (&'a str, i64)>) -> Array {
    keyed(Keyed::Delta, pairs.into_iter().map(|(k, d)| (k, Int::I(d))))
}

fn publish(p: &shardtally::Publish) -> JsValue {
    Obj::new()
        .tag("type", "publish")
        .u64("version", p.version)
        .tag("mode", p.mode.as_str())
        .tag("reason", p.reason.as_str())
        .val("entries", &totals(p.entries.iter().map(|(k, t)| (&**k, *t))))
        .into()
}

/// The global aggregator: applies every batch exactly once, keeps the totals, and tells
/// the host when to publish (persist) them.
///
/// Run loop: feed an input (`handleBatch` returns the acknowledgement to send back to the
/// shard), persist `snapshot()` when `takeStateChanged()` is true (before sending the
/// acknowledgement), carry out every `pollOutput()` (persist a publish and acknowledge it;
/// forward a batch upstream), and arm one timer for `pollTimeout()`.
///
/// Methods by kind — inputs (take `nowMs`): `handleBatch`, `reset`, `publish`,
/// `handlePublishAck`, `handlePublishFailure`, `handleUpstreamAck`, `handleUpstreamFailure`,
/// `flushUpstream`, `handleTimeout`; outputs: `pollOutput`, `pollTimeout`,
/// `takeStateChanged`; views: `total`, `totals`, `keyGeneration`, `generation`, `writeLog`,
/// `shardStats`, `stats`, `publishedVersion`, `inFlightPublish`, `lastSeq`, `nextDeadline`,
/// `snapshot`.
#[wasm_bindgen(js_name = Global)]
pub struct JsGlobal {
    inner: shardtally::Global,
}

#[wasm_bindgen(js_class = Global)]
impl JsGlobal {
    /// An empty global; with `upstream`, a tiered global forwarding to a higher level.
    #[wasm_bindgen(constructor)]
    pub fn new(#[wasm_bindgen(unchecked_optional_param_type = "GlobalOptions")] options: JsValue) -> JsResult<JsGlobal> {
        let o = Options::new(&options, "options")?;
        let config = global_config(&o)?;
        let inner = match o.nested("upstream")? {
            Some(up) => shardtally::Global::with_upstream(config, new_shard(&up)?),
            None => shardtally::Global::new(config),
        };
        Ok(JsGlobal { inner })
    }

    /// Restores a global from `snapshot()` bytes (a publish that was in flight is offered
    /// again by `pollOutput`). A tiered global's snapshot needs `options.upstream`.
    pub fn restore(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] snapshot: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "GlobalRestoreOptions")] options: JsValue,
    ) -> JsResult<JsGlobal> {
        let o = Options::new(&options, "options")?;
        let config = global_config(&o)?;
        let upstream = o.nested("upstream")?.map(|up| shard_config(&up)).transpose()?;
        let bytes = convert::bytes(&snapshot, "snapshot")?;
        let inner = match upstream {
            Some(up) => shardtally::Global::restore_tiered(&bytes, config, up),
            None => shardtally::Global::restore(&bytes, config),
        }
        .map_err(decode_error)?;
        Ok(JsGlobal { inner })
    }

    // ----- inputs -----

    /// Applies a batch (a shard's `pollOutput()` result or its `bytes`) exactly once and
    /// returns the acknowledgement to route back to the shard. A batch applied before is
    /// acknowledged again (`duplicate: true`) without being applied.
    #[wasm_bindgen(js_name = handleBatch, unchecked_return_type = "AckOutput")]
    pub fn handle_batch(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | BatchOutput")] batch: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> JsResult<JsValue> {
        let batch = Batch::decode(&convert::message_bytes(&batch, "batch")?).map_err(decode_error)?;
        let now = time(&now_ms)?;
        let ack = self.inner.handle_batch(&batch, now).map_err(core_error)?;
        let to = ack.to();
        Ok(Obj::new()
            .tag("type", "ack")
            .val("bytes", &Uint8Array::from(&ack.encode()[..]))
            .u32("shard", to.shard)
            .u64("incarnation", to.incarnation)
            .u64("seq", ack.seq())
            .bool("duplicate", ack.is_duplicate())
            .u64("generation", ack.generation())
            .val("staleKeys", &keyed(Keyed::Generation, ack.stale_keys().map(|(k, g)| (k, Int::U(g)))))
            .into())
    }

    /// Resets `key`: its total goes to zero and its generation up, so deltas accepted
    /// before shards learn of the reset never count. A zero or absent key is "not defined".
    #[wasm_bindgen(unchecked_return_type = "ResetOutcome")]
    pub fn reset(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> JsResult<JsValue> {
        let key = convert::string(&key, "key")?;
        let now = time(&now_ms)?;
        Ok(match self.inner.reset(&key, now).map_err(core_error)? {
            ResetOutcome::Reset { previous, generation } => {
                Obj::new().tag("type", "reset").i64("previous", previous).u64("generation", generation).into()
            }
            ResetOutcome::NotDefined => Obj::new().tag("type", "not_defined").into(),
        })
    }

    /// Cuts a publish now (reason `manual`) when something changed.
    #[wasm_bindgen(unchecked_return_type = "PublishOutcome")]
    pub fn publish(&mut self, #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue) -> JsResult<JsValue> {
        Ok(match self.inner.publish(time(&now_ms)?) {
            PublishOutcome::Sent { version } => Obj::new().tag("type", "sent").u64("version", version).into(),
            PublishOutcome::Deferred => Obj::new().tag("type", "deferred").into(),
            PublishOutcome::NothingChanged => Obj::new().tag("type", "nothing_changed").into(),
        })
    }

    /// The host persisted publish `version`. Returns whether it was the one in flight.
    #[wasm_bindgen(js_name = handlePublishAck)]
    pub fn handle_publish_ack(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number | bigint")] version: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> JsResult<bool> {
        let version = convert::u64_arg(&version, "version")?;
        Ok(self.inner.handle_publish_ack(version, time(&now_ms)?))
    }

    /// Persisting publish `version` failed: its changes are published again after a
    /// backoff. Returns whether it was the one in flight.
    #[wasm_bindgen(js_name = handlePublishFailure)]
    pub fn handle_publish_failure(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number | bigint")] version: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> JsResult<bool> {
        let version = convert::u64_arg(&version, "version")?;
        Ok(self.inner.handle_publish_failure(version, time(&now_ms)?))
    }

    /// Tiered aggregation: the upstream global acknowledged a forwarded batch (`ack` is
    /// its `handleBatch` result or that result's `bytes`). Throws `NO_UPSTREAM` on a plain
    /// global.
    #[wasm_bindgen(js_name = handleUpstreamAck)]
    pub fn handle_upstream_ack(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | AckOutput")] ack: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> JsResult<bool> {
        let ack = crate::shard::ack(&ack)?;
        let now = time(&now_ms)?;
        self.inner.handle_upstream_ack(&ack, now).map_err(core_error)
    }

    /// Tiered aggregation: forwarding batch `seq` upstream failed (it is re-sent after a
    /// backoff). Throws `NO_UPSTREAM` on a plain global.
    #[wasm_bindgen(js_name = handleUpstreamFailure)]
    pub fn handle_upstream_failure(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number | bigint")] seq: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> JsResult<bool> {
        let seq = convert::u64_arg(&seq, "seq")?;
        let now = time(&now_ms)?;
        self.inner.handle_upstream_failure(seq, now).map_err(core_error)
    }

    /// Tiered aggregation: forward everything merged so far upstream now. Throws
    /// `NO_UPSTREAM` on a plain global.
    #[wasm_bindgen(js_name = flushUpstream, unchecked_return_type = "FlushOutcome")]
    pub fn flush_upstream(
        &mut self,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> JsResult<JsValue> {
        let now = time(&now_ms)?;
        self.inner.flush_upstream(now).map(flush_outcome).map_err(core_error)
    }

    /// Fires every deadline `<= nowMs`; early or repeated calls do nothing.
    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(&mut self, #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue) -> JsResult<()> {
        self.inner.handle_timeout(time(&now_ms)?);
        Ok(())
    }

    // ----- outputs -----

    /// The next thing to do (persist a publish, forward a batch), or `null`.
    #[wasm_bindgen(js_name = pollOutput, unchecked_return_type = "GlobalOutput | null")]
    pub fn poll_output(&mut self) -> JsValue {
        match self.inner.poll_output() {
            Some(GlobalOutput::Publish(p)) => publish(&p),
            Some(GlobalOutput::Forward(b)) => batch("forward", &b),
            Some(_) | None => JsValue::NULL,
        }
    }

    /// The earliest deadline in ms (call `handleTimeout` then), or `null`.
    #[wasm_bindgen(js_name = pollTimeout, unchecked_return_type = "number | null")]
    pub fn poll_timeout(&self) -> JsValue {
        self.inner.poll_timeout().map_or(JsValue::NULL, |t| JsValue::from_f64(from_time(t)))
    }

    /// Whether the state changed since the last call (durable hosts then persist
    /// `snapshot()` before sending the acknowledgement).
    #[wasm_bindgen(js_name = takeStateChanged)]
    pub fn take_state_changed(&mut self) -> bool {
        self.inner.take_state_changed()
    }

    // ----- views -----

    /// The total of one key (0 when absent).
    #[wasm_bindgen(unchecked_return_type = "number | bigint")]
    pub fn total(&self, #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue) -> JsResult<JsValue> {
        Ok(from_i64(self.inner.total(&convert::string(&key, "key")?)))
    }

    /// Every key's total, sorted by key (keys reset to zero included).
    #[wasm_bindgen(unchecked_return_type = "{ key: string; total: number | bigint }[]")]
    pub fn totals(&self) -> Array {
        totals(self.inner.totals())
    }

    /// A key's generation: the reset counter's value at its last reset (0 if never reset).
    #[wasm_bindgen(js_name = keyGeneration, unchecked_return_type = "number | bigint")]
    pub fn key_generation(&self, #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue) -> JsResult<JsValue> {
        Ok(from_u64(self.inner.key_generation(&convert::string(&key, "key")?)))
    }

    /// The reset counter (new shards may start from it: `new Shard({ generation })`).
    #[wasm_bindgen(unchecked_return_type = "number | bigint")]
    pub fn generation(&self) -> JsValue {
        from_u64(self.inner.generation())
    }

    /// Recent writes (applied batches and resets), newest first.
    #[wasm_bindgen(js_name = writeLog, unchecked_return_type = "WriteRecord[]")]
    pub fn write_log(&self) -> Array {
        array(self.inner.write_log(), |r| {
            let at = JsValue::from_f64(from_time(r.at));
            match &r.kind {
                WriteKind::Batch { from, seq, keys, entries, omitted } => Obj::new()
                    .tag("type", "batch")
                    .val("atMs", &at)
                    .u32("shard", from.shard)
                    .u64("incarnation", from.incarnation)
                    .u64("seq", *seq)
                    .u32("keys", *keys)
                    .val("entries", &deltas(entries.iter().map(|(k, d)| (&**k, *d))))
                    .u32("omitted", *omitted)
                    .into(),
                WriteKind::Reset { key, previous, generation } => Obj::new()
                    .tag("type", "reset")
                    .val("atMs", &at)
                    .str("key", key)
                    .i64("previous", *previous)
                    .u64("generation", *generation)
                    .into(),
                _ => Obj::new().tag("type", "unknown").val("atMs", &at).into(),
            }
        })
    }

    /// Per-shard write statistics, by shard index.
    #[wasm_bindgen(js_name = shardStats, unchecked_return_type = "ShardWriteStats[]")]
    pub fn shard_stats(&self) -> Array {
        array(self.inner.shard_writes(), |(shard, w)| {
            Obj::new().u32("shard", shard).u64("writes", w.writes).val("deltas", &deltas(w.deltas.iter().map(|(k, d)| (&**k, *d)))).into()
        })
    }

    /// Activity counters.
    #[wasm_bindgen(unchecked_return_type = "GlobalStats")]
    pub fn stats(&self) -> JsValue {
        let s = self.inner.stats();
        Obj::new()
            .u64("totalWrites", s.total_writes)
            .u64("distinctShards", s.distinct_shards)
            .u64("duplicates", s.duplicates)
            .u64("staleDropped", s.stale_dropped)
            .u64("resets", s.resets)
            .u64("publishes", s.publishes)
            .u64("publishFailures", s.publish_failures)
            .u64("dedupEvictions", s.dedup_evictions)
            .u64("untrackedShardWrites", s.untracked_shard_writes)
            .into()
    }

    /// The version of the last acknowledged publish (0 before any).
    #[wasm_bindgen(js_name = publishedVersion, unchecked_return_type = "number | bigint")]
    pub fn published_version(&self) -> JsValue {
        from_u64(self.inner.published_version())
    }

    /// The publish waiting for its acknowledgement, or `null`.
    #[wasm_bindgen(js_name = inFlightPublish, unchecked_return_type = "PublishOutput | null")]
    pub fn in_flight_publish(&self) -> JsValue {
        self.inner.in_flight_publish().map_or(JsValue::NULL, publish)
    }

    /// The last applied seq of a shard life, or `null` when not remembered.
    #[wasm_bindgen(js_name = lastSeq, unchecked_return_type = "number | bigint | null")]
    pub fn last_seq(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] shard: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number | bigint")] incarnation: JsValue,
    ) -> JsResult<JsValue> {
        let from = ShardRef { shard: convert::u32_arg(&shard, "shard")?, incarnation: convert::u64_arg(&incarnation, "incarnation")? };
        Ok(self.inner.last_seq(from).map_or(JsValue::NULL, from_u64))
    }

    /// The next deadline and which timer it belongs to, or `null`.
    #[wasm_bindgen(js_name = nextDeadline, unchecked_return_type = "GlobalDeadline | null")]
    pub fn next_deadline(&self) -> JsValue {
        match self.inner.next_deadline() {
            Some(d) => Obj::new().val("atMs", &JsValue::from_f64(from_time(d.at))).tag("timer", d.timer.as_str()).into(),
            None => JsValue::NULL,
        }
    }

    /// Whether this global forwards to an upstream global (tiered aggregation).
    #[wasm_bindgen(js_name = hasUpstream)]
    pub fn has_upstream(&self) -> bool {
        self.inner.upstream().is_some()
    }

    /// The whole state as versioned bytes, for `Global.restore`.
    pub fn snapshot(&self) -> Vec<u8> {
        self.inner.snapshot()
    }
}
