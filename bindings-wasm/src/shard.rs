//! The `Shard` class: buffers increments and ships them to the global as batches.

use crate::convert::{self, batch, batch_entries, from_i64, from_time, from_u64, time, Obj, Options};
use crate::error::{core_error, decode_error, JsResult};
use js_sys::Array;
use shardtally::{Ack, FlushOutcome, KeyId, ShardConfig, ShardOutput, ShardRef};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_SHARD: &str = r#"
/** A delta: a safe-integer `number` or a `bigint` in the signed 64-bit range. */
export type Delta = number | bigint;

/** Settings of a shard; every one is optional and defaults to core's value. */
export interface ShardConfigOptions {
  /** Flush as soon as pending requests reach this many; 0 disables. Default 100. */
  flushAfterRequests?: number;
  /** Flush when no increment arrived for this long (re-armed by every increment); 0 disables. Default 5000. */
  flushAfterIdleMs?: number | bigint;
  /** Flush when the oldest pending delta is this old, even under steady traffic; 0 disables. Default 60000. */
  flushMaxAgeMs?: number | bigint;
  /** Treat an in-flight batch as failed when no acknowledgement arrived for this long. Default 10000. */
  ackTimeoutMs?: number | bigint;
  /** First delay before re-sending a failed batch; doubles per attempt. Default 1000. */
  retryInitialMs?: number | bigint;
  /** Largest delay before re-sending a failed batch. Default 30000. */
  retryMaxMs?: number | bigint;
  /** Seeded random shortening of each retry delay, in percent (0..=100). Default 20. */
  retryJitterPercent?: number;
  /** Most distinct pending keys; one more is a `TABLE_FULL` error. Default 100000. */
  maxPendingKeys?: number;
  /** Most keys interned with `intern`. Default 100000. */
  maxInternedKeys?: number;
  /** Longest key in UTF-8 bytes. Default 256. */
  maxKeyBytes?: number;
  /** Seed of the jitter generator. Default 0. */
  seed?: number | bigint;
}

/** Options of `new Shard(...)`: the shard's identity plus its settings. */
export interface ShardOptions extends ShardConfigOptions {
  /** The shard index. */
  shard: number;
  /** Chosen by the host for every shard created without saved state (a random number, a start time). */
  incarnation: number | bigint;
  /** The global's reset generation (`global.generation()`), for a shard created after resets. Default 0. */
  generation?: number | bigint;
}

/** One key's delta, tagged with the reset generation it was accepted under. */
export interface BatchEntry {
  key: string;
  generation: number | bigint;
  delta: number | bigint;
}

/** Why a batch was sent. */
export type FlushReason = 'requests' | 'idle' | 'max_age' | 'manual' | 'drain' | 'retry';

/** A batch for the global: deliver `bytes` to `global.handleBatch`. */
export interface BatchOutput {
  type: 'batch';
  /** The encoded batch, for `global.handleBatch(bytes, nowMs)`. */
  bytes: Uint8Array;
  shard: number;
  incarnation: number | bigint;
  seq: number | bigint;
  reason: FlushReason;
  /** Sorted by key, then generation. */
  entries: BatchEntry[];
}

/** What `flush` and `drain` did. */
export type FlushOutcome =
  | { type: 'sent'; seq: number | bigint }
  | { type: 'deferred'; seq: number | bigint }
  | { type: 'nothing_pending' };

/** The next deadline of a shard and which timer it belongs to. */
export interface ShardDeadline {
  atMs: number;
  timer: 'idle' | 'max_age' | 'ack_timeout' | 'retry';
}

/** Counters of a shard's activity since it was created (kept across snapshots). */
export interface ShardStats {
  requests: number | bigint;
  batches: number | bigint;
  retries: number | bigint;
  acks: number | bigint;
  duplicateAcks: number | bigint;
  failures: number | bigint;
  staleDropped: number | bigint;
  /** Batches dropped because the global rejected them for good (`handleRejection`). */
  rejectedBatches: number | bigint;
  /** Entries in those batches. */
  rejectedEntries: number | bigint;
}
"#;

/// Builds a shard configuration from JS options.
pub(crate) fn shard_config(o: &Options) -> JsResult<ShardConfig> {
    let mut b = ShardConfig::builder();
    if let Some(v) = o.u32("flushAfterRequests")? {
        b = b.flush_after_requests(v);
    }
    if let Some(v) = o.u64("flushAfterIdleMs")? {
        b = b.flush_after_idle_ms(v);
    }
    if let Some(v) = o.u64("flushMaxAgeMs")? {
        b = b.flush_max_age_ms(v);
    }
    if let Some(v) = o.u64("ackTimeoutMs")? {
        b = b.ack_timeout_ms(v);
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
    if let Some(v) = o.usize("maxPendingKeys")? {
        b = b.max_pending_keys(v);
    }
    if let Some(v) = o.usize("maxInternedKeys")? {
        b = b.max_interned_keys(v);
    }
    if let Some(v) = o.usize("maxKeyBytes")? {
        b = b.max_key_bytes(v);
    }
    if let Some(v) = o.u64("seed")? {
        b = b.seed(v);
    }
    b.build().map_err(crate::error::config_error)
}

/// A new core shard from `ShardOptions` (identity, optional generation, settings).
pub(crate) fn new_shard(o: &Options) -> JsResult<shardtally::Shard> {
    let shard = convert::u32_arg(&o.required("shard", "an integer number in 0..=4294967295")?, "shard")?;
    let incarnation = convert::u64_arg(&o.required("incarnation", "a non-negative safe integer or a bigint")?, "incarnation")?;
    let generation = o.u64("generation")?;
    let config = shard_config(o)?;
    let me = ShardRef { shard, incarnation };
    Ok(match generation {
        Some(g) => shardtally::Shard::with_generation(config, me, g),
        None => shardtally::Shard::new(config, me),
    })
}

/// `{ type: 'sent' | 'deferred', seq }` or `{ type: 'nothing_pending' }`.
pub(crate) fn flush_outcome(o: FlushOutcome) -> JsValue {
    match o {
        FlushOutcome::Sent { seq } => Obj::new().tag("type", "sent").u64("seq", seq).into(),
        FlushOutcome::Deferred { seq } => Obj::new().tag("type", "deferred").u64("seq", seq).into(),
        FlushOutcome::NothingPending => Obj::new().tag("type", "nothing_pending").into(),
    }
}

/// Decodes acknowledgement bytes.
pub(crate) fn ack(bytes: &JsValue) -> JsResult<Ack> {
    Ack::decode(&convert::message_bytes(bytes, "ack")?).map_err(decode_error)
}

/// A shard: buffers increments per key and ships them to the global as batches.
///
/// Run loop: after every input, persist `snapshot()` when `takeStateChanged()` is true
/// (durable hosts), deliver every `pollOutput()` batch, and arm one timer for
/// `pollTimeout()` that calls `handleTimeout(nowMs)`.
///
/// Methods by kind — inputs (take `nowMs`): `increment`, `increments`, `incrementId`,
/// `incrementIds`, `flush`, `drain`, `handleAck`, `handleFailure`, `handleRejection`,
/// `handleTimeout`, and `intern`; outputs: `pollOutput`, `pollTimeout`, `takeStateChanged`;
/// views: `shardRef`, `pending`, `pendingDelta`, `pendingRequests`, `pendingKeys`,
/// `inFlight`, `nextDeadline`, `generation`, `isDraining`, `isDrained`, `keyOf`, `stats`,
/// `snapshot`.
///
/// A rejected input throws a `ShardtallyError` and leaves the shard unchanged.
#[wasm_bindgen(js_name = Shard)]
pub struct JsShard {
    inner: shardtally::Shard,
}

#[wasm_bindgen(js_class = Shard)]
impl JsShard {
    /// A shard with no saved state. `shard` and `incarnation` are required; the other
    /// options default to core's values.
    #[wasm_bindgen(constructor)]
    pub fn new(#[wasm_bindgen(unchecked_param_type = "ShardOptions")] options: JsValue) -> JsResult<JsShard> {
        Ok(JsShard { inner: new_shard(&Options::new(&options, "options")?)? })
    }

    /// Restores a shard from `snapshot()` bytes, deadlines and in-flight batch included
    /// (the batch is offered again by `pollOutput`, reason `retry`). `options` are the
    /// settings (identity comes from the snapshot).
    pub fn restore(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] snapshot: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ShardConfigOptions")] options: JsValue,
    ) -> JsResult<JsShard> {
        let config = shard_config(&Options::new(&options, "options")?)?;
        let bytes = convert::bytes(&snapshot, "snapshot")?;
        let inner = shardtally::Shard::restore(&bytes, config).map_err(decode_error)?;
        Ok(JsShard { inner })
    }

    // ----- inputs -----

    /// Adds `delta` to `key`: one request.
    pub fn increment(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Delta")] delta: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> JsResult<()> {
        let key = convert::string(&key, "key")?;
        let delta = convert::delta(&delta)?;
        let now = time(&now_ms)?;
        self.inner.increment(&key, delta, now).map_err(core_error)
    }

    /// Adds several deltas as one atomic request: `entries` is a `Record<string, Delta>`, a
    /// `Map<string, Delta>` or an array of `[key, delta]` pairs. Repeated keys are summed.
    pub fn increments(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Record<string, Delta> | Map<string, Delta> | Array<[string, Delta]>")] entries: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> JsResult<()> {
        let entries = convert::entries(&entries)?;
        let now = time(&now_ms)?;
        self.inner.increments(&entries.pairs(), now).map_err(core_error)
    }

    /// Interns `key` and returns its id for `incrementId` / `incrementIds` (the same key
    /// always gets the same id; ids survive snapshots).
    pub fn intern(&mut self, #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue) -> JsResult<u32> {
        let key = convert::string(&key, "key")?;
        self.inner.intern(&key).map(KeyId::raw).map_err(core_error)
    }

    /// Adds `delta` to an interned key: one request.
    #[wasm_bindgen(js_name = incrementId)]
    pub fn increment_id(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Delta")] delta: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> JsResult<()> {
        let id = convert::u32_arg(&id, "id")?;
        let delta = convert::delta(&delta)?;
        let now = time(&now_ms)?;
        self.inner.increment_id(KeyId::from_raw(id), delta, now).map_err(core_error)
    }

    /// Adds `deltas[i]` to interned key `ids[i]` for every `i`, as one atomic request: the
    /// fast path for hot loops (one call per batch of increments).
    #[wasm_bindgen(js_name = incrementIds)]
    pub fn increment_ids(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint32Array | number[]")] ids: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Float64Array | BigInt64Array | Delta[]")] deltas: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> JsResult<()> {
        let ids: Vec<KeyId> = convert::ids(&ids)?.into_iter().map(KeyId::from_raw).collect();
        let deltas = convert::deltas(&deltas)?;
        let now = time(&now_ms)?;
        self.inner.increment_ids(&ids, &deltas, now).map_err(core_error)
    }

    /// Cuts a batch of everything pending now (reason `manual`), or defers it until the
    /// in-flight batch is acknowledged.
    #[wasm_bindgen(unchecked_return_type = "FlushOutcome")]
    pub fn flush(&mut self, #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue) -> JsResult<JsValue> {
        Ok(flush_outcome(self.inner.flush(time(&now_ms)?)))
    }

    /// Starts draining (the shard is being retired): pending deltas are flushed now and
    /// after every acknowledgement until `isDrained()`.
    #[wasm_bindgen(unchecked_return_type = "FlushOutcome")]
    pub fn drain(&mut self, #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue) -> JsResult<JsValue> {
        Ok(flush_outcome(self.inner.drain(time(&now_ms)?)))
    }

    /// The global acknowledged a batch (`ack` is `global.handleBatch`'s result or its
    /// `bytes`). Returns whether it matched the in-flight batch.
    #[wasm_bindgen(js_name = handleAck)]
    pub fn handle_ack(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | AckOutput")] ack: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> JsResult<bool> {
        let ack = self::ack(&ack)?;
        let now = time(&now_ms)?;
        self.inner.handle_ack(&ack, now).map_err(core_error)
    }

    /// Sending batch `seq` failed: it is re-sent after a backoff. Returns `false` (nothing
    /// changes) when `seq` is not the in-flight batch awaiting an answer.
    #[wasm_bindgen(js_name = handleFailure)]
    pub fn handle_failure(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number | bigint")] seq: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> JsResult<bool> {
        let seq = convert::u64_arg(&seq, "seq")?;
        let now = time(&now_ms)?;
        Ok(self.inner.handle_failure(seq, now))
    }

    /// The global rejected batch `seq` for good (`handleBatch` threw an error whose
    /// `rejectsBatch` is `true`): the shard drops it, counted in `stats().rejectedBatches`
    /// and `rejectedEntries`, instead of re-sending it forever ahead of every later batch.
    /// Returns `false` (nothing changes) when `seq` is not the batch in flight.
    #[wasm_bindgen(js_name = handleRejection)]
    pub fn handle_rejection(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number | bigint")] seq: JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue,
    ) -> JsResult<bool> {
        let seq = convert::u64_arg(&seq, "seq")?;
        let now = time(&now_ms)?;
        Ok(self.inner.handle_rejection(seq, now))
    }

    /// Fires every deadline `<= nowMs`; early or repeated calls do nothing.
    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(&mut self, #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: JsValue) -> JsResult<()> {
        self.inner.handle_timeout(time(&now_ms)?);
        Ok(())
    }

    // ----- outputs -----

    /// The next batch to deliver, or `null`.
    #[wasm_bindgen(js_name = pollOutput, unchecked_return_type = "BatchOutput | null")]
    pub fn poll_output(&mut self) -> JsValue {
        match self.inner.poll_output() {
            Some(ShardOutput::SendBatch(b)) => batch("batch", &b),
            Some(_) | None => JsValue::NULL,
        }
    }

    /// The earliest deadline in ms (call `handleTimeout` then), or `null`.
    #[wasm_bindgen(js_name = pollTimeout, unchecked_return_type = "number | null")]
    pub fn poll_timeout(&self) -> JsValue {
        self.inner.poll_timeout().map_or(JsValue::NULL, |t| JsValue::from_f64(from_time(t)))
    }

    /// Whether the state changed since the last call (durable hosts then persist
    /// `snapshot()` before replying or sending).
    #[wasm_bindgen(js_name = takeStateChanged)]
    pub fn take_state_changed(&mut self) -> bool {
        self.inner.take_state_changed()
    }

    // ----- views -----

    /// This shard's index and incarnation.
    #[wasm_bindgen(js_name = shardRef, unchecked_return_type = "{ shard: number; incarnation: number | bigint }")]
    pub fn shard_ref(&self) -> JsValue {
        let r = self.inner.shard_ref();
        Obj::new().u32("shard", r.shard).u64("incarnation", r.incarnation).into()
    }

    /// Pending deltas (not yet in a batch), sorted by key, then generation.
    #[wasm_bindgen(unchecked_return_type = "BatchEntry[]")]
    pub fn pending(&self) -> Array {
        batch_entries(&self.inner.pending())
    }

    /// The pending delta of one key, summed over generations (0 when none).
    #[wasm_bindgen(js_name = pendingDelta, unchecked_return_type = "number | bigint")]
    pub fn pending_delta(&self, #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue) -> JsResult<JsValue> {
        Ok(from_i64(self.inner.pending_delta(&convert::string(&key, "key")?)))
    }

    /// Requests accepted since the last batch was cut.
    #[wasm_bindgen(js_name = pendingRequests, unchecked_return_type = "number | bigint")]
    pub fn pending_requests(&self) -> JsValue {
        from_u64(self.inner.pending_requests())
    }

    /// Number of pending entries (distinct keys per generation).
    #[wasm_bindgen(js_name = pendingKeys)]
    pub fn pending_keys(&self) -> f64 {
        self.inner.pending_keys() as f64
    }

    /// The batch in flight (sent, not yet acknowledged), or `null`.
    #[wasm_bindgen(js_name = inFlight, unchecked_return_type = "BatchOutput | null")]
    pub fn in_flight(&self) -> JsValue {
        self.inner.in_flight().map_or(JsValue::NULL, |b| batch("batch", b))
    }

    /// The next deadline and which timer it belongs to, or `null`.
    #[wasm_bindgen(js_name = nextDeadline, unchecked_return_type = "ShardDeadline | null")]
    pub fn next_deadline(&self) -> JsValue {
        match self.inner.next_deadline() {
            Some(d) => Obj::new().val("atMs", &JsValue::from_f64(from_time(d.at))).tag("timer", d.timer.as_str()).into(),
            None => JsValue::NULL,
        }
    }

    /// The reset generation new increments are tagged with.
    #[wasm_bindgen(unchecked_return_type = "number | bigint")]
    pub fn generation(&self) -> JsValue {
        from_u64(self.inner.generation())
    }

    /// Whether `drain` was called.
    #[wasm_bindgen(js_name = isDraining)]
    pub fn is_draining(&self) -> bool {
        self.inner.is_draining()
    }

    /// Draining, nothing pending and nothing in flight: the shard can be retired.
    #[wasm_bindgen(js_name = isDrained)]
    pub fn is_drained(&self) -> bool {
        self.inner.is_drained()
    }

    /// The key of an id issued by `intern`, or `null`.
    #[wasm_bindgen(js_name = keyOf, unchecked_return_type = "string | null")]
    pub fn key_of(&self, #[wasm_bindgen(unchecked_param_type = "number")] id: JsValue) -> JsResult<JsValue> {
        let id = convert::u32_arg(&id, "id")?;
        Ok(self.inner.key_of(KeyId::from_raw(id)).map_or(JsValue::NULL, JsValue::from_str))
    }

    /// Activity counters.
    #[wasm_bindgen(unchecked_return_type = "ShardStats")]
    pub fn stats(&self) -> JsValue {
        let s = self.inner.stats();
        Obj::new()
            .u64("requests", s.requests)
            .u64("batches", s.batches)
            .u64("retries", s.retries)
            .u64("acks", s.acks)
            .u64("duplicateAcks", s.duplicate_acks)
            .u64("failures", s.failures)
            .u64("staleDropped", s.stale_dropped)
            .u64("rejectedBatches", s.rejected_batches)
            .u64("rejectedEntries", s.rejected_entries)
            .into()
    }

    /// The whole state as versioned bytes, for `Shard.restore`.
    pub fn snapshot(&self) -> Vec<u8> {
        self.inner.snapshot()
    }
}
