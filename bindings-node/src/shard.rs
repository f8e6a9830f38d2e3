//! `Shard`: buffers deltas per key and ships them to the global as batches.

use crate::js::{self, Deltas, Num};
use napi::bindgen_prelude::{Either, Float64ArraySlice, Uint32ArraySlice, Uint8ArraySlice, Unknown};
use napi::{Env, Result};
use napi_derive::napi;
use shardtally as st;
use shardtally::KeyId;
use shardtally_api::js::Coalescing;
use shardtally_api::{options, views, Value};

/// A shard (the native half of the public `Shard`).
#[napi]
pub struct Shard {
    inner: st::Shard,
    coalescing: Coalescing,
    deltas: Vec<i64>,
}

impl Shard {
    fn wrap(inner: st::Shard) -> Shard {
        Shard { coalescing: Coalescing::new(&inner), inner, deltas: Vec::new() }
    }

    /// Runs an input adding deltas of at most `magnitude` in sum.
    fn input<T>(&mut self, env: &Env, magnitude: u128, f: impl FnOnce(&mut st::Shard) -> std::result::Result<T, st::Error>) -> Result<T> {
        self.coalescing.start(&self.inner);
        let out = f(&mut self.inner).map_err(|e| js::error(env, e))?;
        self.coalescing.added(magnitude);
        Ok(out)
    }

    /// Packed keys with their deltas (in `self.deltas`).
    fn keyed<'k>(&mut self, env: &Env, joined: &'k str, lens: &[u32], deltas: Deltas<'_>) -> Result<(Vec<(&'k str, i64)>, u128)> {
        let magnitude = js::deltas(env, deltas, &mut self.deltas)?;
        let keys =
            shardtally_api::js::split_keys(joined, lens).filter(|k| k.len() == self.deltas.len()).ok_or_else(|| js::internal("keys"))?;
        Ok((keys.into_iter().zip(self.deltas.iter().copied()).collect(), magnitude))
    }

    fn value<'e>(env: &'e Env, v: impl Into<Value>) -> Result<Unknown<'e>> {
        js::to_js(env, &v.into())
    }
}

crate::machine!(Shard, Shard::wrap, options::new_shard, options::restore_shard, rows: options::shard_from_rows);
crate::builder!(ShardBuilder, st::journal::ShardBuilder, options::shard_builder, Shard, Shard::wrap);

#[napi]
impl Shard {
    /// One increment; returns the room for buffering (`shardtally_api::js::Coalescing`).
    #[napi]
    pub fn increment(&mut self, env: &Env, key: String, delta: Num, now_ms: f64) -> Result<f64> {
        let delta = js::delta(env, &delta)?;
        let now = js::time(env, now_ms)?;
        self.input(env, u128::from(delta.unsigned_abs()), |s| s.increment(&key, delta, now))?;
        Ok(self.coalescing.room(&self.inner))
    }

    /// `requests` requests that arrived at `nowMs`, their deltas summed per key (keys packed,
    /// sums as typed array or list): the public method, and how the per-call buffer hands
    /// over; returns the room.
    #[napi]
    pub fn increments_coalesced(
        &mut self,
        env: &Env,
        joined: String,
        lens: Uint32ArraySlice<'_>,
        sums: Deltas<'_>,
        requests: Num,
        now_ms: f64,
    ) -> Result<f64> {
        let requests = js::uint(env, "requests", &requests, u64::MAX)?;
        let now = js::time(env, now_ms)?;
        let (items, magnitude) = self.keyed(env, &joined, &lens, sums)?;
        self.input(env, magnitude, |s| s.increments_coalesced(&items, requests, now))?;
        Ok(self.coalescing.room(&self.inner))
    }

    /// Several deltas as one request: keys packed, deltas as typed array or list; returns the
    /// room.
    #[napi]
    pub fn increments(&mut self, env: &Env, joined: String, lens: Uint32ArraySlice<'_>, deltas: Deltas<'_>, now_ms: f64) -> Result<f64> {
        let now = js::time(env, now_ms)?;
        let (items, magnitude) = self.keyed(env, &joined, &lens, deltas)?;
        self.input(env, magnitude, |s| s.increments(&items, now))?;
        Ok(self.coalescing.room(&self.inner))
    }

    /// Interns a key; returns its id.
    #[napi]
    pub fn intern(&mut self, env: &Env, key: String) -> Result<u32> {
        self.input(env, 0, |s| s.intern(&key)).map(KeyId::raw)
    }

    /// One increment of an interned key.
    #[napi]
    pub fn increment_id(&mut self, env: &Env, id: f64, delta: Num, now_ms: f64) -> Result<()> {
        let id = KeyId::from_raw(js::u32(env, "id", id)?);
        let delta = js::delta(env, &delta)?;
        let now = js::time(env, now_ms)?;
        self.input(env, u128::from(delta.unsigned_abs()), |s| s.increment_id(id, delta, now))
    }

    /// Interned keys and their deltas as one request.
    #[napi]
    pub fn increment_ids(
        &mut self,
        env: &Env,
        ids: Either<Uint32ArraySlice<'_>, Float64ArraySlice<'_>>,
        deltas: Deltas<'_>,
        now_ms: f64,
    ) -> Result<()> {
        // A Uint32Array is read in place; numbers are range-checked into raw ids.
        let numbers: Vec<u32>;
        let ids: &[u32] = match &ids {
            Either::A(slice) => slice,
            Either::B(slice) => {
                numbers = slice.iter().map(|f| js::u32(env, "ids[i]", *f)).collect::<Result<_>>()?;
                &numbers
            }
        };
        let magnitude = js::deltas(env, deltas, &mut self.deltas)?;
        let now = js::time(env, now_ms)?;
        let deltas = std::mem::take(&mut self.deltas);
        let out = self.input(env, magnitude, |s| s.increment_ids(ids, &deltas, now));
        self.deltas = deltas;
        out
    }

    /// Cuts a batch of everything pending (or defers it); a `FlushOutcome`.
    #[napi]
    pub fn flush<'e>(&mut self, env: &'e Env, now_ms: f64) -> Result<Unknown<'e>> {
        let now = js::time(env, now_ms)?;
        Shard::value(env, views::flush_outcome(self.inner.flush(now)))
    }

    /// Starts draining; a `FlushOutcome`.
    #[napi]
    pub fn drain<'e>(&mut self, env: &'e Env, now_ms: f64) -> Result<Unknown<'e>> {
        let now = js::time(env, now_ms)?;
        Shard::value(env, views::flush_outcome(self.inner.drain(now)))
    }

    /// The global acknowledged a batch.
    #[napi]
    pub fn handle_ack(&mut self, env: &Env, ack: Uint8ArraySlice<'_>, now_ms: f64) -> Result<bool> {
        let now = js::time(env, now_ms)?;
        let ack = st::Ack::decode(&ack).map_err(|e| js::error(env, e))?;
        self.inner.handle_ack(&ack, now).map_err(|e| js::error(env, e))
    }

    /// The global announced a reset (a notice's bytes); whether the shard learned anything.
    #[napi]
    pub fn handle_generation_notice(&mut self, env: &Env, notice: Uint8ArraySlice<'_>, now_ms: f64) -> Result<bool> {
        let now = js::time(env, now_ms)?;
        let notice = st::GenerationNotice::decode(&notice).map_err(|e| js::error(env, e))?;
        self.input(env, 0, |s| Ok(s.handle_generation_notice(&notice, now)))
    }

    /// Sending batch `seq` failed.
    #[napi]
    pub fn handle_failure(&mut self, env: &Env, seq: Num, now_ms: f64) -> Result<bool> {
        let seq = js::uint(env, "seq", &seq, u64::MAX)?;
        Ok(self.inner.handle_failure(seq, js::time(env, now_ms)?))
    }

    /// The global rejected batch `seq` for good.
    #[napi]
    pub fn handle_rejection(&mut self, env: &Env, seq: Num, now_ms: f64) -> Result<bool> {
        let seq = js::uint(env, "seq", &seq, u64::MAX)?;
        Ok(self.inner.handle_rejection(seq, js::time(env, now_ms)?))
    }

    /// `{ shard, incarnation }`.
    #[napi]
    pub fn shard_ref<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        Shard::value(env, views::shard_ref(self.inner.shard_ref()))
    }

    /// Pending deltas, by key then generation.
    #[napi]
    pub fn pending<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        Shard::value(env, views::batch_entries(&self.inner.pending()))
    }

    /// The pending delta of one key.
    #[napi]
    pub fn pending_delta<'e>(&self, env: &'e Env, key: String) -> Result<Unknown<'e>> {
        Shard::value(env, self.inner.pending_delta(&key))
    }

    /// Requests since the last batch was cut.
    #[napi]
    pub fn pending_requests<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        Shard::value(env, self.inner.pending_requests())
    }

    /// Pending entries.
    #[napi]
    pub fn pending_keys(&self) -> f64 {
        self.inner.pending_keys() as f64
    }

    /// The batch in flight, or `null`.
    #[napi]
    pub fn in_flight<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        Shard::value(env, self.inner.in_flight().map(|b| views::batch(b, false)))
    }

    /// The reset generation new increments are tagged with.
    #[napi]
    pub fn generation<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        Shard::value(env, self.inner.generation())
    }

    /// Whether `drain` was called.
    #[napi]
    pub fn is_draining(&self) -> bool {
        self.inner.is_draining()
    }

    /// Draining, nothing pending, nothing in flight.
    #[napi]
    pub fn is_drained(&self) -> bool {
        self.inner.is_drained()
    }

    /// The key of an interned id, or `null`.
    #[napi]
    pub fn key_of<'e>(&self, env: &'e Env, id: f64) -> Result<Unknown<'e>> {
        Shard::value(env, self.inner.key_of(KeyId::from_raw(js::u32(env, "id", id)?)))
    }

    /// The longest key in UTF-8 bytes (for the buffer's key check).
    #[napi]
    pub fn max_key_bytes(&self) -> f64 {
        self.inner.config().max_key_bytes() as f64
    }
}

crate::run_loop!(Shard);
