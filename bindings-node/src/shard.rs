//! `Shard`: buffers increments per key and ships them to the global as batches.

use crate::convert::{self, int, time, time_f64, time_out, BigNum, Bytes, JsInt, Num, ObjArg, Options, Str, MAX_SAFE_INT};
use crate::error::{config_error, core_error, decode_error, invalid_argument};
use crate::output::{Batch, BatchEntry, FlushOutcome, ShardDeadline, ShardRef, ShardStats};
use crate::packed;
use napi::bindgen_prelude::{
    Array, BigInt64ArraySlice, Either, Either3, Either4, Float64ArraySlice, JsObjectValue, KeyCollectionMode, KeyConversion, KeyFilter,
    Object, Uint32ArraySlice, Uint8Array, Uint8ArraySlice, Unknown,
};
use napi::{Env, JsValue, Result};
use napi_derive::napi;
use shardtally as st;
use shardtally::{KeyId, ShardConfig, ShardOutput};

/// Builds a `ShardConfig` from the settings in `o` (core validates the values).
pub(crate) fn shard_config(o: &Options<'_>) -> Result<ShardConfig> {
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
    b.build().map_err(|e| config_error(o.env(), &e))
}

/// A new shard from `ShardOptions` (identity, generation and settings).
pub(crate) fn new_shard(o: &Options<'_>) -> Result<st::Shard> {
    let shard = o.u32("shard")?;
    let shard = o.required("shard", shard, "an integer number in 0..=4294967295")?;
    let incarnation = o.u64("incarnation")?;
    let incarnation = o.required("incarnation", incarnation, "a non-negative safe integer or a bigint")?;
    let generation = o.u64("generation")?.unwrap_or(0);
    let config = shard_config(o)?;
    Ok(st::Shard::with_generation(config, st::ShardRef { shard, incarnation }, generation))
}

/// Splits the wrapper's packed keys: `joined` is the concatenation of well-formed strings
/// whose UTF-16 lengths are `lens`.
fn unpack_keys<'a>(joined: &'a str, lens: &[u32]) -> Result<Vec<&'a str>> {
    let malformed = || napi::Error::from_reason("internal: malformed packed keys");
    let mut keys = Vec::with_capacity(lens.len());
    let mut rest = joined;
    if joined.is_ascii() {
        for len in lens {
            let (key, tail) = rest.split_at_checked(*len as usize).ok_or_else(malformed)?;
            keys.push(key);
            rest = tail;
        }
    } else {
        for len in lens {
            let mut units = *len as usize;
            let mut end = 0;
            let mut chars = rest.chars();
            while units > 0 {
                let c = chars.next().ok_or_else(malformed)?;
                units = units.checked_sub(c.len_utf16()).ok_or_else(malformed)?;
                end += c.len_utf8();
            }
            keys.push(&rest[..end]);
            rest = &rest[end..];
        }
    }
    if !rest.is_empty() {
        return Err(malformed());
    }
    Ok(keys)
}

/// Most requests the JavaScript wrapper may buffer between two native calls.
const BUFFER_REQUESTS: u64 = 1 << 16;
/// Above this bound on pending magnitudes, buffering could hide an `OVERFLOW`: it stops.
const BOUND_LIMIT: u128 = 1 << 62;
/// `room()` packs the request room above the key room.
const KEY_ROOM_SPAN: u64 = 1 << 32;

/// A shard: buffers deltas per key and ships them to the global as batches.
///
/// Run loop: after every input, persist `snapshot()` when `takeStateChanged()` (durable
/// hosts), send every `pollOutput()` batch, and arm one timer for `pollTimeout()` that
/// calls `handleTimeout(nowMs)`. Inputs take `nowMs`, the host's clock in milliseconds; a
/// time earlier than one already seen counts as the latest seen.
#[napi]
pub struct Shard {
    inner: st::Shard,
    /// Upper bound of the magnitude of any pending delta of the current generation: the
    /// sum of the magnitudes added since nothing was pending (see `room`).
    abs_bound: u128,
    ids: Vec<KeyId>,
    deltas: Vec<i64>,
}

impl Shard {
    fn wrap(inner: st::Shard) -> Self {
        let abs_bound = inner.pending().iter().map(|e| u128::from(e.delta().unsigned_abs())).sum();
        Shard { inner, abs_bound, ids: Vec::new(), deltas: Vec::new() }
    }

    fn added(&mut self, magnitude: u128) {
        self.abs_bound = self.abs_bound.saturating_add(magnitude);
    }

    /// Called after every input: an empty pending table resets the magnitude bound.
    fn settle(&mut self) {
        if self.inner.pending_keys() == 0 {
            self.abs_bound = 0;
        }
    }

    /// How many more single-key increments at the time of the last input the wrapper may
    /// buffer (request room, high bits) and how many new distinct keys (key room, low 32
    /// bits): core's [`shardtally::Shard::coalescing_room`], capped, and zero once the
    /// buffered magnitudes could overflow a pending delta.
    fn room(&self) -> f64 {
        if self.abs_bound > BOUND_LIMIT {
            return 0.0;
        }
        let room = self.inner.coalescing_room();
        let requests = room.requests.min(BUFFER_REQUESTS);
        let keys = (room.new_keys as u64).min(KEY_ROOM_SPAN - 1);
        (requests * KEY_ROOM_SPAN + keys) as f64
    }

    fn increment_inner(&mut self, env: &Env, key: Str<'_>, delta: BigNum<'_>, now_ms: Num<'_>) -> Result<()> {
        let key = convert::key(env, "key", key)?;
        let delta = convert::delta(env, delta)?;
        let now = time(env, now_ms)?;
        self.inner.increment(&key, delta, now).map_err(|e| core_error(env, &e))?;
        self.added(u128::from(delta.unsigned_abs()));
        self.settle();
        Ok(())
    }

    fn fill_ids(&mut self, env: &Env, ids: Either3<Uint32ArraySlice<'_>, Array<'_>, Unknown<'_>>) -> Result<()> {
        self.ids.clear();
        match ids {
            Either3::A(slice) => self.ids.extend(slice.iter().copied().map(KeyId::from_raw)),
            Either3::B(arr) => {
                for i in 0..arr.len() {
                    let v = arr.get::<Num<'_>>(i)?.unwrap_or(Either::A(f64::NAN));
                    let id = convert::uint(env, "ids[i]", v, u64::from(u32::MAX))?;
                    self.ids.push(KeyId::from_raw(id as u32));
                }
            }
            Either3::C(u) => return Err(invalid_argument(env, "ids", "a Uint32Array or an array of integer numbers", Some(u))),
        }
        Ok(())
    }

    fn fill_deltas(
        &mut self,
        env: &Env,
        deltas: Either4<Float64ArraySlice<'_>, BigInt64ArraySlice<'_>, Array<'_>, Unknown<'_>>,
    ) -> Result<u128> {
        self.deltas.clear();
        let mut magnitude: u128 = 0;
        match deltas {
            Either4::A(slice) => {
                // One pass that the compiler can vectorise: convert, remember whether every
                // value was a safe integer, and the largest magnitude (times the count, an
                // upper bound of the sum that `room` needs).
                let mut all_safe = true;
                let mut largest = 0u64;
                self.deltas.extend(slice.iter().map(|f| {
                    let d = *f as i64;
                    let abs = d.unsigned_abs();
                    all_safe &= d as f64 == *f && abs <= MAX_SAFE_INT;
                    largest = largest.max(abs);
                    d
                }));
                if !all_safe {
                    let bad = slice.iter().find(|f| convert::delta_f64(env, **f).is_err()).copied().unwrap_or(f64::NAN);
                    return Err(convert::delta_f64(env, bad).err().unwrap_or_else(|| napi::Error::from_reason("internal: delta check")));
                }
                magnitude = u128::from(largest) * slice.len() as u128;
            }
            Either4::B(slice) => {
                self.deltas.extend_from_slice(&slice);
                let largest = slice.iter().map(|d| d.unsigned_abs()).max().unwrap_or(0);
                magnitude = u128::from(largest) * slice.len() as u128;
            }
            Either4::C(arr) => {
                for i in 0..arr.len() {
                    let v = arr.get::<BigNum<'_>>(i)?.unwrap_or(Either3::A(f64::NAN));
                    let d = convert::delta(env, v)?;
                    magnitude += u128::from(d.unsigned_abs());
                    self.deltas.push(d);
                }
            }
            Either4::D(u) => {
                return Err(invalid_argument(env, "deltas", "a Float64Array, a BigInt64Array or an array of numbers or bigints", Some(u)))
            }
        }
        Ok(magnitude)
    }
}

#[napi]
impl Shard {
    /// A shard with no saved state. `incarnation` must differ from every earlier life of
    /// this shard index.
    #[napi(constructor, ts_args_type = "options: ShardOptions")]
    pub fn new(env: &Env, options: Option<ObjArg<'_>>) -> Result<Self> {
        let o = Options::new(env, "options", options)?;
        Ok(Shard::wrap(new_shard(&o)?))
    }

    /// Restores a shard from `snapshot()` bytes: pending deltas, the in-flight batch (offered
    /// again by `pollOutput`), sequence numbers, issued key ids and deadlines, so
    /// `pollTimeout()` is right at once. The settings are not in the snapshot: pass them
    /// again (defaults otherwise).
    #[napi(factory, ts_args_type = "snapshot: Uint8Array, options?: ShardConfigOptions")]
    pub fn restore(env: &Env, snapshot: Either<Uint8ArraySlice<'_>, Unknown<'_>>, options: Option<ObjArg<'_>>) -> Result<Self> {
        let o = Options::new(env, "options", options)?;
        let config = shard_config(&o)?;
        let bytes = convert::snapshot_bytes(env, snapshot)?;
        let inner = st::Shard::restore(&bytes, config).map_err(|e| decode_error(env, &e))?;
        Ok(Shard::wrap(inner))
    }

    // ----- inputs -----

    /// Adds `delta` to `key`: one request. Errors (nothing changes): `EMPTY_KEY`,
    /// `KEY_TOO_LONG`, `OVERFLOW` (the pending delta would overflow 64 bits), `TABLE_FULL`
    /// (`maxPendingKeys`), `INVALID_DELTA`, `INVALID_TIME`, `INVALID_ARGUMENT`.
    #[napi(ts_args_type = "key: string, delta: number | bigint, nowMs: number")]
    pub fn increment(&mut self, env: &Env, key: Str<'_>, delta: BigNum<'_>, now_ms: Num<'_>) -> Result<()> {
        self.increment_inner(env, key, delta, now_ms)
    }

    /// `increment`, then the room for buffering (used by the JavaScript wrapper).
    #[napi(js_name = "_increment", skip_typescript)]
    pub fn increment_room(&mut self, env: &Env, key: Str<'_>, delta: BigNum<'_>, now_ms: Num<'_>) -> Result<f64> {
        self.increment_inner(env, key, delta, now_ms)?;
        Ok(self.room())
    }

    /// Applies `requests` single-key increments made at `nowMs` and buffered by the
    /// JavaScript wrapper, summed per key (keys packed as in `_incrementsPacked`), then
    /// returns the room for buffering. The wrapper buffered them within the room returned
    /// by the previous call, so applying them together is the same as applying them one by
    /// one, errors included (there are none).
    #[napi(js_name = "_apply", skip_typescript)]
    pub fn apply_buffered(
        &mut self,
        env: &Env,
        joined: String,
        lens: Uint32ArraySlice<'_>,
        sums: Float64ArraySlice<'_>,
        requests: u32,
        now_ms: f64,
    ) -> Result<f64> {
        let now = time_f64(env, now_ms)?;
        let keys = unpack_keys(&joined, &lens)?;
        if keys.len() != sums.len() || keys.is_empty() || (requests as usize) < keys.len() {
            return Err(napi::Error::from_reason("internal: malformed buffered increments"));
        }
        let mut items: Vec<(&str, i64)> = Vec::with_capacity(keys.len());
        let mut magnitude: u128 = 0;
        for (key, sum) in keys.iter().zip(sums.iter()) {
            let d = convert::delta_f64(env, *sum)?;
            magnitude += u128::from(d.unsigned_abs());
            items.push((key, d));
        }
        self.inner.increments_coalesced(&items, u64::from(requests), now).map_err(|e| core_error(env, &e))?;
        self.added(magnitude);
        self.settle();
        Ok(self.room())
    }

    /// `increments` with the keys packed by the wrapper: concatenated well-formed strings
    /// and their UTF-16 lengths, and safe-integer deltas (one crossing instead of one per
    /// key and value).
    #[napi(js_name = "_incrementsPacked", skip_typescript)]
    pub fn increments_packed(
        &mut self,
        env: &Env,
        joined: String,
        lens: Uint32ArraySlice<'_>,
        deltas: Float64ArraySlice<'_>,
        now_ms: Num<'_>,
    ) -> Result<()> {
        let keys = unpack_keys(&joined, &lens)?;
        if keys.len() != deltas.len() {
            return Err(napi::Error::from_reason("internal: malformed packed increments"));
        }
        let mut items: Vec<(&str, i64)> = Vec::with_capacity(keys.len());
        let mut magnitude: u128 = 0;
        for (key, d) in keys.iter().zip(deltas.iter()) {
            let d = convert::delta_f64(env, *d)?;
            magnitude += u128::from(d.unsigned_abs());
            items.push((key, d));
        }
        let now = time(env, now_ms)?;
        self.inner.increments(&items, now).map_err(|e| core_error(env, &e))?;
        self.added(magnitude);
        self.settle();
        Ok(())
    }

    /// The longest key in UTF-8 bytes (for the wrapper's key check).
    #[napi(js_name = "_maxKeyBytes", skip_typescript)]
    pub fn max_key_bytes(&self) -> u32 {
        u32::try_from(self.inner.config().max_key_bytes()).unwrap_or(u32::MAX)
    }

    /// Adds several deltas as one request, atomically: `entries` is a `Record`, a `Map` or
    /// an array of `[key, delta]` pairs; every entry is validated before any is applied;
    /// repeated keys are summed. An empty `entries` is not a request.
    #[napi(
        ts_args_type = "entries: Record<string, number | bigint> | Map<string, number | bigint> | Array<[string, number | bigint]>, nowMs: number"
    )]
    pub fn increments(&mut self, env: &Env, entries: ObjArg<'_>, now_ms: Num<'_>) -> Result<()> {
        let mut items: Vec<(String, i64)> = Vec::new();
        match entries {
            Either3::A(arr) => {
                items.reserve(arr.len() as usize);
                for i in 0..arr.len() {
                    let expected = "a [key, delta] pair";
                    let argument = "entries[i]";
                    let pair = match arr.get::<Either<Array<'_>, Unknown<'_>>>(i)? {
                        Some(Either::A(pair)) if pair.len() == 2 => pair,
                        Some(Either::A(pair)) => return Err(invalid_argument(env, argument, expected, Some(pair.to_unknown()))),
                        Some(Either::B(u)) => return Err(invalid_argument(env, argument, expected, Some(u))),
                        None => return Err(invalid_argument(env, argument, expected, None::<Unknown<'_>>)),
                    };
                    let key = pair.get::<Str<'_>>(0)?.unwrap_or(Either::A(String::new()));
                    let key = convert::key(env, "key", key)?;
                    let delta = pair.get::<BigNum<'_>>(1)?.unwrap_or(Either3::A(f64::NAN));
                    items.push((key, convert::delta(env, delta)?));
                }
            }
            Either3::B(obj) => {
                // Own enumerable string keys, like `Object.keys`.
                let names =
                    obj.get_all_property_names(KeyCollectionMode::OwnOnly, KeyFilter::Enumerable, KeyConversion::NumbersToStrings)?;
                for i in 0..names.get_array_length()? {
                    let Either::A(key) = names.get_element::<Either<String, Unknown<'_>>>(i)? else { continue };
                    let delta = obj.get::<BigNum<'_>>(&key)?.unwrap_or(Either3::A(f64::NAN));
                    let delta = convert::delta(env, delta)?;
                    items.push((key, delta));
                }
            }
            Either3::C(u) => {
                return Err(invalid_argument(env, "entries", "an object of key → delta or an array of [key, delta] pairs", Some(u)))
            }
        }
        let now = time(env, now_ms)?;
        self.inner.increments(&items, now).map_err(|e| core_error(env, &e))?;
        self.added(items.iter().map(|(_, d)| u128::from(d.unsigned_abs())).sum());
        self.settle();
        Ok(())
    }

    /// Interns `key` and returns its id for `incrementId` / `incrementIds`; interning the
    /// same key again returns the same id, and ids survive snapshots. Errors: `EMPTY_KEY`,
    /// `KEY_TOO_LONG`, `TABLE_FULL` (`maxInternedKeys`).
    #[napi(ts_args_type = "key: string")]
    pub fn intern(&mut self, env: &Env, key: Str<'_>) -> Result<u32> {
        let key = convert::key(env, "key", key)?;
        self.inner.intern(&key).map(KeyId::raw).map_err(|e| core_error(env, &e))
    }

    /// Adds `delta` to an interned key: one request. Errors: `UNKNOWN_KEY_ID`, `OVERFLOW`,
    /// `TABLE_FULL`, `INVALID_DELTA`, `INVALID_TIME`.
    #[napi(ts_args_type = "id: number, delta: number | bigint, nowMs: number")]
    pub fn increment_id(&mut self, env: &Env, id: Num<'_>, delta: BigNum<'_>, now_ms: Num<'_>) -> Result<()> {
        let id = convert::uint(env, "id", id, u64::from(u32::MAX))? as u32;
        let delta = convert::delta(env, delta)?;
        let now = time(env, now_ms)?;
        self.inner.increment_id(KeyId::from_raw(id), delta, now).map_err(|e| core_error(env, &e))?;
        self.added(u128::from(delta.unsigned_abs()));
        self.settle();
        Ok(())
    }

    /// Adds `deltas[i]` to `ids[i]` for every `i`, as one atomic request: the hot path.
    /// Typed arrays are read in place. Errors: `LENGTH_MISMATCH`, `UNKNOWN_KEY_ID`,
    /// `OVERFLOW`, `TABLE_FULL`, `INVALID_DELTA`, `INVALID_TIME`, `INVALID_ARGUMENT`.
    #[napi(ts_args_type = "ids: Uint32Array | number[], deltas: Float64Array | BigInt64Array | Array<number | bigint>, nowMs: number")]
    pub fn increment_ids(
        &mut self,
        env: &Env,
        ids: Either3<Uint32ArraySlice<'_>, Array<'_>, Unknown<'_>>,
        deltas: Either4<Float64ArraySlice<'_>, BigInt64ArraySlice<'_>, Array<'_>, Unknown<'_>>,
        now_ms: Num<'_>,
    ) -> Result<()> {
        self.fill_ids(env, ids)?;
        let magnitude = self.fill_deltas(env, deltas)?;
        let now = time(env, now_ms)?;
        self.inner.increment_ids(&self.ids, &self.deltas, now).map_err(|e| core_error(env, &e))?;
        self.added(magnitude);
        self.settle();
        Ok(())
    }

    /// Cuts a batch of everything pending now (reason `'manual'`), or defers it until the
    /// in-flight batch is acknowledged. With nothing pending it emits nothing.
    #[napi(ts_args_type = "nowMs: number")]
    pub fn flush(&mut self, env: &Env, now_ms: Num<'_>) -> Result<FlushOutcome> {
        let out = self.inner.flush(time(env, now_ms)?);
        self.settle();
        Ok(out.into())
    }

    /// Starts draining (the router lowered the shard count, or the host retires the shard):
    /// everything pending is flushed now and after every acknowledgement, until
    /// `isDrained()`. Increments are still accepted.
    #[napi(ts_args_type = "nowMs: number")]
    pub fn drain(&mut self, env: &Env, now_ms: Num<'_>) -> Result<FlushOutcome> {
        let out = self.inner.drain(time(env, now_ms)?);
        self.settle();
        Ok(out.into())
    }

    /// The global acknowledged a batch (`ack`: the `AckOutput` object or its `bytes`). Returns
    /// whether it matched the in-flight batch; a late duplicate returns `false` and is
    /// harmless. Errors: `WRONG_SHARD`, `DECODE_*`.
    #[napi(ts_args_type = "ack: Uint8Array | AckOutput, nowMs: number")]
    pub fn handle_ack(&mut self, env: &Env, ack: Bytes<'_>, now_ms: Num<'_>) -> Result<bool> {
        let bytes = convert::bytes(env, "ack", ack)?;
        let now = time(env, now_ms)?;
        let ack = st::Ack::decode(&bytes).map_err(|e| decode_error(env, &e))?;
        let matched = self.inner.handle_ack(&ack, now).map_err(|e| core_error(env, &e))?;
        self.settle();
        Ok(matched)
    }

    /// Sending batch `seq` failed: it is re-sent (same seq, same entries) after a backoff.
    /// Returns `false`, changing nothing, when `seq` is not the batch awaiting an answer.
    #[napi(ts_args_type = "seq: number | bigint, nowMs: number")]
    pub fn handle_failure(&mut self, env: &Env, seq: BigNum<'_>, now_ms: Num<'_>) -> Result<bool> {
        let seq = convert::u64_arg(env, "seq", seq)?;
        let now = time(env, now_ms)?;
        let matched = self.inner.handle_failure(seq, now);
        self.settle();
        Ok(matched)
    }

    /// The global rejected batch `seq` for good (`handleBatch` threw an error whose
    /// `rejectsBatch` is `true`): the shard drops it, counted in `stats().rejectedBatches`
    /// and `rejectedEntries`, instead of re-sending it forever ahead of every later batch.
    /// Returns `false`, changing nothing, when `seq` is not the batch in flight.
    #[napi(ts_args_type = "seq: number | bigint, nowMs: number")]
    pub fn handle_rejection(&mut self, env: &Env, seq: BigNum<'_>, now_ms: Num<'_>) -> Result<bool> {
        let seq = convert::u64_arg(env, "seq", seq)?;
        let now = time(env, now_ms)?;
        let matched = self.inner.handle_rejection(seq, now);
        self.settle();
        Ok(matched)
    }

    /// Fires every deadline `<= nowMs` (idle or max-age flush, acknowledgement timeout,
    /// re-send). Early or repeated calls do nothing.
    #[napi(ts_args_type = "nowMs: number")]
    pub fn handle_timeout(&mut self, env: &Env, now_ms: Num<'_>) -> Result<()> {
        self.inner.handle_timeout(time(env, now_ms)?);
        self.settle();
        Ok(())
    }

    // ----- outputs -----

    /// The next batch to send, or `null`. Drain it after every input.
    #[napi]
    pub fn poll_output(&mut self) -> Option<Batch> {
        match self.inner.poll_output()? {
            ShardOutput::SendBatch(b) => Some(Batch::from(&b)),
            _ => None,
        }
    }

    /// `pollOutput` in the compact form `index.js` unpacks (see `packed`).
    #[napi(js_name = "_pollOutputPacked", skip_typescript)]
    pub fn poll_output_packed<'e>(&mut self, env: &'e Env) -> Result<Option<Object<'e>>> {
        match self.inner.poll_output() {
            Some(ShardOutput::SendBatch(b)) => packed::batch(env, &b).map(Some),
            _ => Ok(None),
        }
    }

    /// The earliest deadline in ms (call `handleTimeout` then), or `null` when there is
    /// none. A deadline beyond `2^53 - 1` ms (which no valid `nowMs` reaches) is reported
    /// as `2^53 - 1`.
    #[napi]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.inner.poll_timeout().map(time_out)
    }

    /// Whether the state changed since the last call: a durable host persists `snapshot()`
    /// before replying to the client or sending the batch.
    #[napi]
    pub fn take_state_changed(&mut self) -> bool {
        self.inner.take_state_changed()
    }

    /// The whole state as versioned bytes (for `Shard.restore`).
    #[napi]
    pub fn snapshot(&self) -> Uint8Array {
        Uint8Array::from(self.inner.snapshot())
    }

    // ----- views -----

    /// This shard's index and incarnation.
    #[napi]
    pub fn shard_ref(&self) -> ShardRef {
        let r = self.inner.shard_ref();
        ShardRef { shard: r.shard, incarnation: int(r.incarnation) }
    }

    /// Pending deltas (not yet in a batch), sorted by key then generation.
    #[napi]
    pub fn pending(&self) -> Vec<BatchEntry> {
        self.inner.pending().iter().map(BatchEntry::from).collect()
    }

    /// The pending delta of one key, summed over generations (0 when none).
    #[napi(ts_args_type = "key: string", ts_return_type = "number | bigint")]
    pub fn pending_delta(&self, env: &Env, key: Str<'_>) -> Result<JsInt> {
        let key = convert::key(env, "key", key)?;
        Ok(int(self.inner.pending_delta(&key)))
    }

    /// Requests accepted since the last batch was cut.
    #[napi(ts_return_type = "number | bigint")]
    pub fn pending_requests(&self) -> JsInt {
        int(self.inner.pending_requests())
    }

    /// Number of pending entries (distinct keys per generation).
    #[napi]
    pub fn pending_keys(&self) -> u32 {
        u32::try_from(self.inner.pending_keys()).unwrap_or(u32::MAX)
    }

    /// The batch in flight (sent, not yet acknowledged), or `null`.
    #[napi]
    pub fn in_flight(&self) -> Option<Batch> {
        self.inner.in_flight().map(Batch::from)
    }

    /// The next deadline and which timer it belongs to, or `null`.
    #[napi]
    pub fn next_deadline(&self) -> Option<ShardDeadline> {
        let d = self.inner.next_deadline()?;
        Some(ShardDeadline { at_ms: time_out(d.at), timer: d.timer.as_str().to_owned() })
    }

    /// The reset generation this shard tags new increments with.
    #[napi(ts_return_type = "number | bigint")]
    pub fn generation(&self) -> JsInt {
        int(self.inner.generation())
    }

    /// Whether `drain` was called.
    #[napi]
    pub fn is_draining(&self) -> bool {
        self.inner.is_draining()
    }

    /// Draining, nothing pending and nothing in flight: the shard can be retired.
    #[napi]
    pub fn is_drained(&self) -> bool {
        self.inner.is_drained()
    }

    /// The key of an id issued by `intern`, or `null`.
    #[napi(ts_args_type = "id: number")]
    pub fn key_of(&self, env: &Env, id: Num<'_>) -> Result<Option<String>> {
        let id = convert::uint(env, "id", id, u64::from(u32::MAX))? as u32;
        Ok(self.inner.key_of(KeyId::from_raw(id)).map(str::to_owned))
    }

    /// Activity counters.
    #[napi]
    pub fn stats(&self) -> ShardStats {
        self.inner.stats().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shardtally::Timestamp;

    fn shard(requests: u32) -> Shard {
        let config = ShardConfig::builder().flush_after_requests(requests).max_pending_keys(10).build().expect("config");
        Shard::wrap(st::Shard::new(config, st::ShardRef { shard: 0, incarnation: 1 }))
    }

    fn split(room: f64) -> (u64, u64) {
        let r = room as u64;
        (r / KEY_ROOM_SPAN, r % KEY_ROOM_SPAN)
    }

    #[test]
    fn room_stops_one_request_short_of_the_threshold() {
        let mut s = shard(5);
        let t = Timestamp::from_millis(1);
        s.inner.increment("a", 1, t).expect("increment");
        // 1 pending: 3 more may be buffered (total 4), the 5th must go through directly.
        assert_eq!(split(s.room()), (3, 9));
    }

    #[test]
    fn room_is_unbounded_in_flight_and_zero_while_draining() {
        let mut s = shard(2);
        let t = Timestamp::from_millis(1);
        s.inner.increment("a", 1, t).expect("increment");
        s.inner.increment("b", 1, t).expect("increment");
        assert!(s.inner.in_flight().is_some());
        assert_eq!(split(s.room()).0, BUFFER_REQUESTS);
        let mut d = shard(0);
        d.inner.drain(t);
        assert_eq!(split(d.room()).0, 0);
    }

    #[test]
    fn large_pending_magnitudes_stop_buffering() {
        let mut s = shard(0);
        let t = Timestamp::from_millis(1);
        s.inner.increment("a", i64::MAX, t).expect("increment");
        s.added(u128::from(i64::MAX.unsigned_abs()));
        assert_eq!(s.room(), 0.0);
        s.inner.flush(t);
        s.settle();
        assert_ne!(s.room(), 0.0);
    }
}
