//! `Shard`: buffers deltas per key and ships them to the global as batches.

use crate::js::{self, JsResult};
use js_sys::{Float64Array, Uint32Array};
use shardtally as st;
use shardtally::KeyId;
use shardtally_api::js::Coalescing;
use shardtally_api::{options, views, Value};
use wasm_bindgen::prelude::*;

/// A shard (the native half of the public `Shard`).
#[wasm_bindgen(js_name = Shard)]
pub struct JsShard {
    inner: st::Shard,
    coalescing: Coalescing,
}

impl JsShard {
    fn wrap(inner: st::Shard) -> JsShard {
        JsShard { coalescing: Coalescing::new(&inner), inner }
    }

    /// Runs an input adding deltas of at most `magnitude` in sum.
    fn input<T>(&mut self, magnitude: u128, f: impl FnOnce(&mut st::Shard) -> Result<T, st::Error>) -> JsResult<T> {
        self.coalescing.start(&self.inner);
        let out = f(&mut self.inner).map_err(js::error)?;
        self.coalescing.added(magnitude);
        Ok(out)
    }

    /// Applies packed keys with their deltas through `f`.
    fn keyed(
        &mut self,
        joined: &str,
        lens: &[u32],
        deltas: &JsValue,
        f: impl FnOnce(&mut st::Shard, &[(&str, i64)]) -> Result<(), st::Error>,
    ) -> JsResult<()> {
        let (deltas, magnitude) = js::deltas(deltas)?;
        let keys = shardtally_api::js::split_keys(joined, lens).filter(|k| k.len() == deltas.len()).ok_or_else(|| js::internal("keys"))?;
        let items: Vec<(&str, i64)> = keys.into_iter().zip(deltas).collect();
        self.input(magnitude, |s| f(s, &items))
    }
}

fn value(v: impl Into<Value>) -> JsValue {
    js::to_js(&v.into())
}

crate::machine!(JsShard, Shard, JsShard::wrap, options::new_shard, options::restore_shard, rows: options::shard_from_rows);
crate::builder!(JsShardBuilder, ShardBuilder, st::journal::ShardBuilder, options::shard_builder, JsShard, JsShard::wrap);

#[wasm_bindgen(js_class = Shard)]
impl JsShard {
    /// One increment; returns the room for buffering (`shardtally_api::js::Coalescing`).
    pub fn increment(&mut self, key: &str, delta: JsValue, now_ms: f64) -> JsResult<f64> {
        let delta = js::delta(&delta)?;
        let now = js::time(now_ms)?;
        self.input(u128::from(delta.unsigned_abs()), |s| s.increment(key, delta, now))?;
        Ok(self.coalescing.room(&self.inner))
    }

    /// `requests` requests that arrived at `nowMs`, their deltas summed per key (keys packed,
    /// sums as typed array or list): the public method, and how the per-call buffer hands
    /// over; returns the room.
    #[wasm_bindgen(js_name = incrementsCoalesced)]
    pub fn increments_coalesced(&mut self, joined: &str, lens: &[u32], sums: JsValue, requests: JsValue, now_ms: f64) -> JsResult<f64> {
        let requests = js::uint("requests", &requests, u64::MAX)?;
        let now = js::time(now_ms)?;
        self.keyed(joined, lens, &sums, |s, items| s.increments_coalesced(items, requests, now))?;
        Ok(self.coalescing.room(&self.inner))
    }

    /// Several deltas as one request: keys packed, deltas as typed array or list; returns the
    /// room.
    pub fn increments(&mut self, joined: &str, lens: &[u32], deltas: JsValue, now_ms: f64) -> JsResult<f64> {
        let now = js::time(now_ms)?;
        self.keyed(joined, lens, &deltas, |s, items| s.increments(items, now))?;
        Ok(self.coalescing.room(&self.inner))
    }

    /// Interns a key; returns its id.
    pub fn intern(&mut self, key: &str) -> JsResult<u32> {
        self.input(0, |s| s.intern(key)).map(KeyId::raw)
    }

    /// One increment of an interned key.
    #[wasm_bindgen(js_name = incrementId)]
    pub fn increment_id(&mut self, id: f64, delta: JsValue, now_ms: f64) -> JsResult<()> {
        let id = KeyId::from_raw(js::u32("id", id)?);
        let delta = js::delta(&delta)?;
        let now = js::time(now_ms)?;
        self.input(u128::from(delta.unsigned_abs()), |s| s.increment_id(id, delta, now))
    }

    /// Interned keys (`Uint32Array`, or numbers as `Float64Array`) and their deltas as one request.
    #[wasm_bindgen(js_name = incrementIds)]
    pub fn increment_ids(&mut self, ids: JsValue, deltas: JsValue, now_ms: f64) -> JsResult<()> {
        // A Uint32Array is copied into the module's memory as it is; numbers are
        // range-checked into raw ids.
        let ids: Vec<u32> = match ids.dyn_ref::<Uint32Array>() {
            Some(a) => a.to_vec(),
            None => ids
                .dyn_ref::<Float64Array>()
                .ok_or_else(|| js::internal("ids"))?
                .to_vec()
                .into_iter()
                .map(|f| js::u32("ids[i]", f))
                .collect::<JsResult<_>>()?,
        };
        let (deltas, magnitude) = js::deltas(&deltas)?;
        let now = js::time(now_ms)?;
        self.input(magnitude, |s| s.increment_ids(&ids, &deltas, now))
    }

    /// Cuts a batch of everything pending (or defers it); a `FlushOutcome`.
    pub fn flush(&mut self, now_ms: f64) -> JsResult<JsValue> {
        Ok(value(views::flush_outcome(self.inner.flush(js::time(now_ms)?))))
    }

    /// Starts draining; a `FlushOutcome`.
    pub fn drain(&mut self, now_ms: f64) -> JsResult<JsValue> {
        Ok(value(views::flush_outcome(self.inner.drain(js::time(now_ms)?))))
    }

    /// The global acknowledged a batch.
    #[wasm_bindgen(js_name = handleAck)]
    pub fn handle_ack(&mut self, ack: &[u8], now_ms: f64) -> JsResult<bool> {
        let now = js::time(now_ms)?;
        let ack = st::Ack::decode(ack).map_err(js::error)?;
        self.inner.handle_ack(&ack, now).map_err(js::error)
    }

    /// The global announced a reset (a notice's bytes); whether the shard learned anything.
    #[wasm_bindgen(js_name = handleGenerationNotice)]
    pub fn handle_generation_notice(&mut self, notice: &[u8], now_ms: f64) -> JsResult<bool> {
        let now = js::time(now_ms)?;
        let notice = st::GenerationNotice::decode(notice).map_err(js::error)?;
        self.input(0, |s| Ok(s.handle_generation_notice(&notice, now)))
    }

    /// Sending batch `seq` failed.
    #[wasm_bindgen(js_name = handleFailure)]
    pub fn handle_failure(&mut self, seq: JsValue, now_ms: f64) -> JsResult<bool> {
        let seq = js::uint("seq", &seq, u64::MAX)?;
        Ok(self.inner.handle_failure(seq, js::time(now_ms)?))
    }

    /// The global rejected batch `seq` for good.
    #[wasm_bindgen(js_name = handleRejection)]
    pub fn handle_rejection(&mut self, seq: JsValue, now_ms: f64) -> JsResult<bool> {
        let seq = js::uint("seq", &seq, u64::MAX)?;
        Ok(self.inner.handle_rejection(seq, js::time(now_ms)?))
    }

    /// `{ shard, incarnation }`.
    #[wasm_bindgen(js_name = shardRef)]
    pub fn shard_ref(&self) -> JsValue {
        value(views::shard_ref(self.inner.shard_ref()))
    }

    /// Pending deltas, by key then generation.
    pub fn pending(&self) -> JsValue {
        value(views::batch_entries(&self.inner.pending()))
    }

    /// The pending delta of one key.
    #[wasm_bindgen(js_name = pendingDelta)]
    pub fn pending_delta(&self, key: &str) -> JsValue {
        value(self.inner.pending_delta(key))
    }

    /// Requests since the last batch was cut.
    #[wasm_bindgen(js_name = pendingRequests)]
    pub fn pending_requests(&self) -> JsValue {
        value(self.inner.pending_requests())
    }

    /// Pending entries.
    #[wasm_bindgen(js_name = pendingKeys)]
    pub fn pending_keys(&self) -> f64 {
        self.inner.pending_keys() as f64
    }

    /// The batch in flight, or `null`.
    #[wasm_bindgen(js_name = inFlight)]
    pub fn in_flight(&self) -> JsValue {
        value(self.inner.in_flight().map(|b| views::batch(b, false)))
    }

    /// The reset generation new increments are tagged with.
    pub fn generation(&self) -> JsValue {
        value(self.inner.generation())
    }

    /// Whether `drain` was called.
    #[wasm_bindgen(js_name = isDraining)]
    pub fn is_draining(&self) -> bool {
        self.inner.is_draining()
    }

    /// Draining, nothing pending, nothing in flight.
    #[wasm_bindgen(js_name = isDrained)]
    pub fn is_drained(&self) -> bool {
        self.inner.is_drained()
    }

    /// The key of an interned id, or `null`.
    #[wasm_bindgen(js_name = keyOf)]
    pub fn key_of(&self, id: f64) -> JsResult<JsValue> {
        Ok(value(self.inner.key_of(KeyId::from_raw(js::u32("id", id)?))))
    }

    /// The longest key in UTF-8 bytes (for the buffer's key check).
    #[wasm_bindgen(js_name = maxKeyBytes)]
    pub fn max_key_bytes(&self) -> f64 {
        self.inner.config().max_key_bytes() as f64
    }
}

crate::run_loop!(JsShard, Shard);
