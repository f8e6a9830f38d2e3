//! The shard: buffers increments and ships them to the global aggregator as batches.

use crate::config::{Backoff, ShardConfig};
use crate::error::Error;
use crate::journal::ShardMeta;
use crate::keys::{hash_of, validate_key, KeyId, KeyTable};
use crate::message::{Ack, Batch, BatchEntry, FlushReason, GenerationNotice, ShardRef};
use crate::rng::Rng;
use crate::time::{Clock, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

mod rows;

pub use rows::ShardBuilder;

/// One key of a request being validated.
#[derive(Clone, Copy)]
struct Staged<'k> {
    key: &'k str,
    hash: u32,
    /// Its slot, if it has one.
    id: Option<u32>,
    /// The request's summed delta for it.
    delta: i64,
}

/// What a shard asks its host to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShardOutput {
    /// Deliver this batch to the global ([`Global::handle_batch`](crate::Global::handle_batch))
    /// and report the answer with [`Shard::handle_ack`] or [`Shard::handle_failure`].
    SendBatch(Batch),
}

/// What [`Shard::flush`] and [`Shard::drain`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushOutcome {
    /// A batch with this seq was cut and is waiting in [`Shard::poll_output`].
    Sent {
        /// The new batch's sequence number.
        seq: u64,
    },
    /// A batch (this seq) is in flight; the pending deltas go as soon as it is acknowledged.
    Deferred {
        /// The in-flight batch's sequence number.
        seq: u64,
    },
    /// Nothing is pending: nothing was emitted.
    NothingPending,
}

/// See [`Shard::coalescing_room`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoalescingRoom {
    /// More single-key requests that may be buffered.
    pub requests: u64,
    /// More distinct keys not yet pending that may be buffered.
    pub new_keys: usize,
}

/// Which of a shard's timers a deadline belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ShardTimer {
    /// The idle debounce: flush when no increment arrives until then.
    Idle,
    /// The oldest pending delta reaches `flush_max_age_ms`.
    MaxAge,
    /// The in-flight batch has gone unacknowledged for `ack_timeout_ms`.
    AckTimeout,
    /// Re-send the in-flight batch after a failure.
    Retry,
}

impl ShardTimer {
    /// The timer's name as a stable lower-case string.
    pub fn as_str(self) -> &'static str {
        match self {
            ShardTimer::Idle => "idle",
            ShardTimer::MaxAge => "max_age",
            ShardTimer::AckTimeout => "ack_timeout",
            ShardTimer::Retry => "retry",
        }
    }
}

/// The next deadline and why it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline<T> {
    /// When it fires.
    pub at: Timestamp,
    /// Which timer.
    pub timer: T,
}

impl<T> Deadline<T> {
    /// The earlier of two optional deadlines; on a tie, `b`.
    pub(crate) fn earlier(a: Option<Self>, b: Option<Self>) -> Option<Self> {
        match (a, b) {
            (Some(a), Some(b)) => Some(if a.at < b.at { a } else { b }),
            (a, b) => a.or(b),
        }
    }
}

/// Counters of a shard's activity since it was created (kept across snapshots).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardStats {
    /// Accepted requests (single or multi-key increments).
    pub requests: u64,
    /// Batches cut (first transmissions).
    pub batches: u64,
    /// Re-transmissions of an unacknowledged batch.
    pub retries: u64,
    /// Acknowledgements that matched the in-flight batch.
    pub acks: u64,
    /// Of those, acknowledgements of batches the global had already applied.
    pub duplicate_acks: u64,
    /// Failures reported or timed out.
    pub failures: u64,
    /// Pending entries dropped because their key was reset after they were accepted.
    pub stale_dropped: u64,
    /// Batches dropped because the global rejected them for good ([`Shard::handle_rejection`]).
    pub rejected_batches: u64,
    /// Entries in those batches.
    pub rejected_entries: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum FlightState {
    /// Sent; waiting for an answer until the deadline.
    Awaiting { deadline: Timestamp },
    /// Failed; re-send at this time.
    Backoff { resend_at: Timestamp },
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct InFlight {
    batch: Batch,
    /// Transmissions so far (1 after the first send).
    attempts: u32,
    state: FlightState,
}

/// A shard: buffers increments per key and ships them to the global as batches.
///
/// # Run loop
///
/// ```text
/// loop {
///     feed one input:   increment* / flush / drain / handle_ack / handle_failure /
///                       handle_generation_notice / handle_timeout
///     write take_changes() rows                             // durable hosts, before replying
///         (or: if take_state_changed() { persist snapshot() })
///     while let Some(out) = poll_output() { send the batch } // then
///     arm a timer for poll_timeout()
/// }
/// ```
///
/// After every input, drain [`poll_output`](Self::poll_output) and re-read
/// [`poll_timeout`](Self::poll_timeout).
///
/// # Methods by kind
///
/// - **Getters** (`&self`): [`shard_ref`](Self::shard_ref), [`config`](Self::config),
///   [`pending`](Self::pending), [`pending_delta`](Self::pending_delta),
///   [`pending_requests`](Self::pending_requests), [`pending_keys`](Self::pending_keys),
///   [`in_flight`](Self::in_flight), [`next_deadline`](Self::next_deadline),
///   [`coalescing_room`](Self::coalescing_room),
///   [`generation`](Self::generation), [`is_draining`](Self::is_draining),
///   [`is_drained`](Self::is_drained), [`key_of`](Self::key_of), [`stats`](Self::stats),
///   [`snapshot`](Self::snapshot).
/// - **Inputs** (take `now`): [`increment`](Self::increment),
///   [`increments`](Self::increments), [`increments_coalesced`](Self::increments_coalesced),
///   [`increment_id`](Self::increment_id),
///   [`increment_ids`](Self::increment_ids), [`flush`](Self::flush), [`drain`](Self::drain),
///   [`handle_ack`](Self::handle_ack), [`handle_failure`](Self::handle_failure),
///   [`handle_rejection`](Self::handle_rejection),
///   [`handle_generation_notice`](Self::handle_generation_notice),
///   [`handle_timeout`](Self::handle_timeout); and [`intern`](Self::intern), which needs no time.
/// - **Outputs**: [`poll_output`](Self::poll_output), [`poll_timeout`](Self::poll_timeout),
///   [`take_state_changed`](Self::take_state_changed), [`take_changes`](Self::take_changes).
/// - **Persistence**: [`snapshot`](Self::snapshot) / [`restore`](Self::restore) (the whole
///   state), [`take_changes`](Self::take_changes) / [`rows`](Self::rows) /
///   [`from_rows`](Self::from_rows) (row by row, see [`journal`](crate::journal)).
///
/// # Time
///
/// `now` is milliseconds on the host's clock; a `now` earlier than one already seen is
/// treated as the latest seen. `handle_timeout` fires every deadline `<= now` and is a no-op
/// when called early or twice.
///
/// # Persistence hints
///
/// [`take_state_changed`](Self::take_state_changed) is true exactly when the input changed
/// the [`snapshot`](Self::snapshot) — an input that changes nothing (an early timeout, a
/// flush with nothing pending, a late acknowledgement) does not even record its `now` — and
/// [`take_changes`](Self::take_changes) is empty exactly then.
///
/// # Delivery
///
/// At most one batch is in flight. It stays in flight until acknowledged; a failure or an
/// acknowledgement timeout re-sends the *same* batch (same seq, same entries) after a
/// doubling, jittered backoff. Deltas are never merged back into pending, so the global —
/// which applies each `(shard, incarnation, seq)` once — counts every increment exactly once.
///
/// ```
/// use shardtally::{Global, GlobalConfig, Shard, ShardConfig, ShardOutput, ShardRef, Timestamp};
///
/// let config = ShardConfig::builder().flush_after_requests(2).build()?;
/// let mut shard = Shard::new(config, ShardRef { shard: 0, incarnation: 1 });
/// let mut global = Global::new(GlobalConfig::default());
/// let t = Timestamp::from_millis(0);
///
/// shard.increment("x", 1, t)?;
/// shard.increment("x", 2, t)?; // the second request reaches flush_after_requests
/// let Some(ShardOutput::SendBatch(batch)) = shard.poll_output() else { unreachable!() };
/// let ack = global.handle_batch(&batch, t)?;
/// shard.handle_ack(&ack, t)?;
/// assert_eq!(global.total("x"), 3);
/// assert!(shard.in_flight().is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Shard {
    config: ShardConfig,
    backoff: Backoff,
    me: ShardRef,
    clock: Clock,
    keys: KeyTable,
    /// Pending deltas accepted under an older generation than `generation`.
    older: BTreeMap<(Arc<str>, u64), i64>,
    generation: u64,
    next_seq: u64,
    requests: u64,
    first_pending_at: Option<Timestamp>,
    last_increment_at: Timestamp,
    in_flight: Option<InFlight>,
    draining: bool,
    manual_requested: bool,
    rng: Rng,
    stats: ShardStats,
    outputs: VecDeque<ShardOutput>,
    state_changed: bool,
    journal: ShardJournal,
    watch: Watch,
}

/// What the increment path compares to know that it must look closer: below both
/// triggers, no flush can be due and the oldest pending delta's time is set.
#[derive(Clone, Copy, Debug)]
struct Watch {
    /// `flush_after_requests`, `u64::MAX` when disabled.
    limit: u64,
    /// `flush_max_age_ms`, `u64::MAX` when disabled.
    age_ms: u64,
    /// Look closer once pending requests reach this.
    requests: u64,
    /// Look closer from this time on.
    at: Timestamp,
}

impl Watch {
    fn new(config: &ShardConfig) -> Watch {
        let never = |v: u64| if v == 0 { u64::MAX } else { v };
        // Until the first increment, look closer at once.
        Watch {
            limit: never(u64::from(config.flush_after_requests())),
            age_ms: never(config.flush_max_age_ms()),
            requests: 0,
            at: Timestamp::ZERO,
        }
    }
}

/// What changed since the journal was last taken, besides the key table's own marks.
#[derive(Debug, Default)]
struct ShardJournal {
    /// The meta row as last taken (`None`: never taken, the store is empty).
    last_meta: Option<ShardMeta>,
    /// Pending entries of older generations that changed.
    older: BTreeSet<(Arc<str>, u64)>,
    /// The in-flight batch was set or cleared.
    flight: bool,
}

impl Shard {
    /// A shard with no saved state. `me.incarnation` must differ from every earlier life of
    /// this shard index (the host picks it: a random number or a start time).
    pub fn new(config: ShardConfig, me: ShardRef) -> Shard {
        let seed = config.seed() ^ crate::rng::mix64(u64::from(me.shard) ^ me.incarnation.rotate_left(32));
        Shard {
            backoff: Backoff::new(config.retry_initial_ms(), config.retry_max_ms(), config.retry_jitter_percent()),
            config,
            me,
            clock: Clock::default(),
            keys: KeyTable::default(),
            older: BTreeMap::new(),
            generation: 0,
            next_seq: 1,
            requests: 0,
            first_pending_at: None,
            last_increment_at: Timestamp::ZERO,
            in_flight: None,
            draining: false,
            manual_requested: false,
            rng: Rng::new(seed),
            stats: ShardStats::default(),
            outputs: VecDeque::new(),
            state_changed: false,
            journal: ShardJournal::default(),
            watch: Watch::new(&config),
        }
    }

    /// A new shard that already knows the global's reset generation (from
    /// [`Global::generation`](crate::Global::generation)), so its first increments of keys
    /// reset long ago are not mistaken for increments accepted before those resets.
    pub fn with_generation(config: ShardConfig, me: ShardRef, generation: u64) -> Shard {
        let mut shard = Shard::new(config, me);
        shard.generation = generation;
        shard
    }

    // ----- getters -----

    /// This shard's index and incarnation.
    pub fn shard_ref(&self) -> ShardRef {
        self.me
    }

    /// The configuration in force.
    pub fn config(&self) -> &ShardConfig {
        &self.config
    }

    /// Pending deltas (not yet in a batch), sorted by key, then generation.
    pub fn pending(&self) -> Vec<BatchEntry> {
        let mut out: Vec<BatchEntry> = self
            .older
            .iter()
            .map(|((k, g), d)| BatchEntry { key: k.clone(), generation: *g, delta: *d })
            .chain(self.keys.pending().map(|(k, d)| BatchEntry { key: k.clone(), generation: self.generation, delta: d }))
            .collect();
        out.sort_unstable_by(|a, b| (&a.key, a.generation).cmp(&(&b.key, b.generation)));
        out
    }

    /// The pending delta of one key, summed over generations (0 when none).
    pub fn pending_delta(&self, key: &str) -> i64 {
        let older: i64 = self.older.range((Arc::from(key), 0)..).take_while(|((k, _), _)| &**k == key).map(|(_, d)| *d).sum();
        older.saturating_add(self.keys.pending_delta(key))
    }

    /// Requests accepted since the last batch was cut.
    pub fn pending_requests(&self) -> u64 {
        self.requests
    }

    /// Number of pending entries (distinct keys per generation).
    pub fn pending_keys(&self) -> usize {
        self.keys.pending_len() + self.older.len()
    }

    /// The batch in flight, if any.
    pub fn in_flight(&self) -> Option<&Batch> {
        self.in_flight.as_ref().map(|f| &f.batch)
    }

    /// The next deadline and which timer it belongs to.
    pub fn next_deadline(&self) -> Option<Deadline<ShardTimer>> {
        if let Some(f) = &self.in_flight {
            return Some(match f.state {
                FlightState::Awaiting { deadline } => Deadline { at: deadline, timer: ShardTimer::AckTimeout },
                FlightState::Backoff { resend_at } => Deadline { at: resend_at, timer: ShardTimer::Retry },
            });
        }
        self.flush_deadline()
    }

    /// The reset generation this shard tags new increments with.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether [`drain`](Self::drain) was called.
    pub fn is_draining(&self) -> bool {
        self.draining
    }

    /// Draining, nothing pending and nothing in flight: the shard can be retired.
    pub fn is_drained(&self) -> bool {
        self.draining && !self.has_pending() && self.in_flight.is_none()
    }

    /// The key of an id issued by [`intern`](Self::intern).
    pub fn key_of(&self, id: KeyId) -> Option<&str> {
        self.keys.pinned_slot(id).ok().map(|s| &**self.keys.slot(s).key())
    }

    /// Activity counters.
    pub fn stats(&self) -> ShardStats {
        self.stats
    }

    // ----- inputs -----

    /// Adds `delta` to `key`: one request.
    ///
    /// Errors (nothing changes): [`Error::EmptyKey`], [`Error::KeyTooLong`],
    /// [`Error::Overflow`] (the pending delta would overflow), [`Error::TableFull`].
    #[inline(always)]
    pub fn increment(&mut self, key: &str, delta: i64, now: Timestamp) -> Result<(), Error> {
        validate_key(key, self.config.max_key_bytes())?;
        let hash = hash_of(key);
        // Inlined into the caller: a key already pending and logged is an add.
        match self.keys.find(key, hash) {
            Some(id) if self.keys.add_hot(id, delta) => {}
            found => self.add_cold(key, hash, found, delta)?,
        }
        self.after_request(now);
        Ok(())
    }

    /// [`increment`](Self::increment) of a key not yet pending (its slot, if it has one, is
    /// `found`), or one that fails.
    fn add_cold(&mut self, key: &str, hash: u32, found: Option<u32>, delta: i64) -> Result<(), Error> {
        match found {
            Some(id) => self.add_to_new_slot(id, delta),
            None => {
                self.check_room(1)?;
                let id = self.keys.allocate(Arc::from(key), hash);
                self.keys.set(id, delta);
                Ok(())
            }
        }
    }

    /// Adds several deltas as one request, atomically: every entry is validated (keys,
    /// overflow including repeated keys, room for new keys) before any is applied.
    /// An empty slice is not a request and changes nothing.
    pub fn increments<K: AsRef<str>>(&mut self, entries: &[(K, i64)], now: Timestamp) -> Result<(), Error> {
        if entries.is_empty() {
            return Ok(());
        }
        let merged = self.merge_entries(entries)?;
        self.apply_request(&merged, 1, now)
    }

    /// Applies `requests` requests that all arrived at `now` (increments, or `increments` of
    /// several keys), given as their deltas summed per key: the pending deltas, request count,
    /// idle and max-age timers end exactly as if the requests had been made one by one,
    /// provided none of them alone would have triggered a flush (flush conditions are checked
    /// once, after all of them). Hosts that buffer requests in front of the shard (the
    /// JavaScript wrapper) use it to cross into the engine once per buffer.
    ///
    /// Errors (nothing changes): those of [`increments`](Self::increments), and
    /// [`Error::LengthMismatch`] when there are entries but no requests, or requests but no
    /// entries.
    pub fn increments_coalesced<K: AsRef<str>>(&mut self, entries: &[(K, i64)], requests: u64, now: Timestamp) -> Result<(), Error> {
        if entries.is_empty() && requests == 0 {
            return Ok(());
        }
        let merged = self.merge_entries(entries)?;
        if requests == 0 || merged.is_empty() {
            return Err(Error::LengthMismatch {
                what: "requests and keys",
                left: usize::try_from(requests).unwrap_or(usize::MAX),
                right: merged.len(),
            });
        }
        self.apply_request(&merged, requests, now)
    }

    /// How much a host may buffer in front of this shard and apply later with one
    /// [`increments_coalesced`](Self::increments_coalesced) call at the same `now` as the
    /// latest input, with exactly the outcome of applying the increments one by one: none of
    /// them could reach the request threshold or a draining flush, or fill the pending table.
    /// (Idle and max-age flushes cannot be reached at an unchanged `now`: the latest input
    /// already flushed whatever was due.) The host stays responsible for its deltas' sum.
    pub fn coalescing_room(&self) -> CoalescingRoom {
        let requests = if self.in_flight.is_some() {
            u64::MAX
        } else if self.draining {
            0
        } else {
            match u64::from(self.config.flush_after_requests()) {
                0 => u64::MAX,
                // Stop one short: the request that reaches the threshold must flush at once.
                t => t.saturating_sub(self.requests).saturating_sub(1),
            }
        };
        CoalescingRoom { requests, new_keys: self.config.max_pending_keys().saturating_sub(self.pending_keys()) }
    }

    /// Validates keys and sums repeated ones, so overflow is judged on what will actually
    /// be added. Returns each distinct key with its slot if any and summed delta, in
    /// first-seen order.
    fn merge_entries<'k, K: AsRef<str>>(&self, entries: &'k [(K, i64)]) -> Result<Vec<Staged<'k>>, Error> {
        let max = self.config.max_key_bytes();
        let mut merged: Vec<Staged<'k>> = Vec::with_capacity(entries.len());
        // Small requests find repeats by scanning; large ones by an open-addressing table of
        // staged positions probed with the hash each key needs anyway (no second hashing).
        let mut seen: Vec<u32> = if entries.len() > 16 { vec![u32::MAX; (2 * entries.len()).next_power_of_two()] } else { Vec::new() };
        let mask = seen.len().wrapping_sub(1);
        for (key, delta) in entries {
            let key = key.as_ref();
            validate_key(key, max)?;
            let hash = hash_of(key);
            let found = if seen.is_empty() {
                merged.iter().position(|s| s.key == key)
            } else {
                let mut at = (hash as usize).wrapping_mul(0x9e37_79b9) & mask;
                loop {
                    match seen[at] {
                        u32::MAX => {
                            seen[at] = merged.len() as u32;
                            break None;
                        }
                        i if merged[i as usize].hash == hash && merged[i as usize].key == key => break Some(i as usize),
                        _ => at = (at + 1) & mask,
                    }
                }
            };
            match found {
                Some(i) => {
                    let e = &mut merged[i];
                    e.delta = e.delta.checked_add(*delta).ok_or_else(|| Error::Overflow {
                        key: key.to_owned(),
                        current: e.delta,
                        delta: *delta,
                    })?;
                }
                None => merged.push(Staged { key, hash, id: self.keys.find(key, hash), delta: *delta }),
            }
        }
        Ok(merged)
    }

    /// Interns `key`, returning an id for [`increment_id`](Self::increment_id). Interning
    /// the same key again returns the same id; ids survive snapshots.
    ///
    /// Errors: [`Error::EmptyKey`], [`Error::KeyTooLong`], [`Error::TableFull`] beyond
    /// `max_interned_keys`.
    pub fn intern(&mut self, key: &str) -> Result<KeyId, Error> {
        validate_key(key, self.config.max_key_bytes())?;
        let hash = hash_of(key);
        if let Some(id) = self.keys.find(key, hash) {
            if self.keys.slot(id).is_pinned() {
                return Ok(KeyId(id));
            }
        }
        if self.keys.pinned_count() >= self.config.max_interned_keys() {
            return Err(Error::TableFull { table: "interned keys", limit: self.config.max_interned_keys() });
        }
        let id = self.keys.slot_for(key, hash);
        self.keys.pin(id);
        self.state_changed = true;
        Ok(KeyId(id))
    }

    /// Adds `delta` to an interned key: one request. The fast path for hot loops.
    ///
    /// Errors (nothing changes): [`Error::UnknownKeyId`], [`Error::Overflow`],
    /// [`Error::TableFull`].
    #[inline]
    pub fn increment_id(&mut self, id: KeyId, delta: i64, now: Timestamp) -> Result<(), Error> {
        let slot = self.keys.pinned_slot(id)?;
        self.add_to_slot(slot, delta)?;
        self.after_request(now);
        Ok(())
    }

    /// Adds `deltas[i]` to `ids[i]` for every `i`, in order, as one atomic request: if any
    /// id is unknown, any running sum overflows or the pending table would overflow, nothing
    /// is applied.
    ///
    /// The ids are [`KeyId`]s or their raw `u32`s (a binding's typed array, read in place).
    ///
    /// Errors (nothing changes): [`Error::LengthMismatch`], [`Error::UnknownKeyId`],
    /// [`Error::Overflow`], [`Error::TableFull`]. Empty slices are not a request.
    pub fn increment_ids<I: Copy + Into<KeyId>>(&mut self, ids: &[I], deltas: &[i64], now: Timestamp) -> Result<(), Error> {
        if ids.len() != deltas.len() {
            return Err(Error::LengthMismatch { what: "ids and deltas", left: ids.len(), right: deltas.len() });
        }
        if ids.is_empty() {
            return Ok(());
        }
        // One pass: add in order; on any error, undo exactly what was added and report it.
        let mark = self.keys.mark();
        if let (added, Some(e)) = self.keys.add_pinned(ids, deltas) {
            self.undo_ids(&ids[..added], &deltas[..added], mark);
            return Err(e);
        }
        if self.pending_keys() > self.config.max_pending_keys() {
            self.undo_ids(ids, deltas, mark);
            return Err(Error::TableFull { table: "pending keys", limit: self.config.max_pending_keys() });
        }
        self.after_request(now);
        Ok(())
    }

    /// Reverts the first `ids.len()` additions of a rejected `increment_ids`: every add was
    /// checked, so subtracting in reverse restores each slot exactly; slots that became
    /// pending or were logged for the journal after `mark` are not any more.
    fn undo_ids<I: Copy + Into<KeyId>>(&mut self, ids: &[I], deltas: &[i64], mark: crate::keys::Mark) {
        for (id, delta) in ids.iter().zip(deltas).rev() {
            let id: KeyId = (*id).into();
            let value = self.keys.slot(id.0).delta() - delta;
            self.keys.restore_delta(id.0, value);
        }
        self.keys.undo_to(mark);
    }

    /// Cuts a batch of everything pending now (reason `manual`), or defers it until the
    /// in-flight batch is acknowledged. With nothing pending it emits nothing.
    pub fn flush(&mut self, now: Timestamp) -> FlushOutcome {
        let now = self.clock.at(now);
        if !self.has_pending() {
            return FlushOutcome::NothingPending;
        }
        if let Some(f) = &self.in_flight {
            let seq = f.batch.seq;
            if !self.manual_requested {
                self.manual_requested = true;
                self.changed_at(now);
            }
            return FlushOutcome::Deferred { seq };
        }
        FlushOutcome::Sent { seq: self.cut(FlushReason::Manual, now) }
    }

    /// Starts draining (the router lowered the shard count, or the host retires this shard):
    /// everything pending is flushed now and after every acknowledgement, until
    /// [`is_drained`](Self::is_drained). Increments are still accepted (nothing is lost).
    pub fn drain(&mut self, now: Timestamp) -> FlushOutcome {
        let now = self.clock.at(now);
        if !self.draining {
            self.draining = true;
            self.changed_at(now);
        }
        if !self.has_pending() {
            return FlushOutcome::NothingPending;
        }
        match &self.in_flight {
            Some(f) => FlushOutcome::Deferred { seq: f.batch.seq },
            None => FlushOutcome::Sent { seq: self.cut(FlushReason::Drain, now) },
        }
    }

    /// The global acknowledged a batch. Returns whether it matched the in-flight batch
    /// (a late duplicate acknowledgement returns `false` and is harmless).
    ///
    /// The acknowledgement's generation is learned either way: increments accepted from now
    /// on are tagged with it, and pending deltas of keys the global reports as reset are
    /// dropped.
    ///
    /// Errors: [`Error::WrongShard`] when the ack is for another shard or incarnation.
    pub fn handle_ack(&mut self, ack: &Ack, now: Timestamp) -> Result<bool, Error> {
        if ack.to != self.me {
            return Err(Error::WrongShard { expected: self.me, got: ack.to });
        }
        let now = self.clock.at(now);
        self.learn_generation(ack.generation, &ack.stale, now);
        let matched = matches!(&self.in_flight, Some(f) if f.batch.seq == ack.seq);
        if matched {
            self.in_flight = None;
            self.journal.flight = true;
            self.stats.acks += 1;
            if ack.duplicate {
                self.stats.duplicate_acks += 1;
            }
            self.changed_at(now);
        }
        self.maybe_flush(now);
        Ok(matched)
    }

    /// The global announced a reset ([`GenerationNotice`]): increments accepted from now on
    /// are tagged with the new generation, and pending deltas of the reset keys accepted
    /// before are dropped (counted in [`ShardStats::stale_dropped`]). Returns whether the
    /// shard learned anything (a late or repeated notice changes nothing).
    ///
    /// The notice's addressee is not checked: learning a reset is safe for any shard fed by
    /// the global that sent it.
    pub fn handle_generation_notice(&mut self, notice: &GenerationNotice, now: Timestamp) -> bool {
        let now = self.clock.at(now);
        let before = std::mem::take(&mut self.state_changed);
        self.learn_generation(notice.generation, &notice.stale, now);
        let learned = self.state_changed;
        self.state_changed |= before;
        learned
    }

    /// Sending batch `seq` failed: it will be re-sent after a backoff. Returns `false` (and
    /// changes nothing) when `seq` is not the in-flight batch awaiting an answer.
    pub fn handle_failure(&mut self, seq: u64, now: Timestamp) -> bool {
        match &self.in_flight {
            Some(InFlight { batch, state: FlightState::Awaiting { .. }, .. }) if batch.seq == seq => {
                let now = self.clock.at(now);
                self.schedule_retry(now);
                true
            }
            _ => false,
        }
    }

    /// The global rejected batch `seq` for good ([`Global::handle_batch`](crate::Global::handle_batch)
    /// returned an error for which [`Error::rejects_batch`] is true): it can never be applied
    /// as it is, so the shard drops it — a counted drop, in [`ShardStats::rejected_batches`]
    /// and [`ShardStats::rejected_entries`] — instead of re-sending it forever and holding up
    /// every later batch. Returns `false` (and changes nothing) when `seq` is not in flight.
    pub fn handle_rejection(&mut self, seq: u64, now: Timestamp) -> bool {
        match &self.in_flight {
            Some(f) if f.batch.seq == seq => {
                let now = self.clock.at(now);
                self.stats.rejected_batches += 1;
                self.stats.rejected_entries += f.batch.len() as u64;
                self.in_flight = None;
                self.journal.flight = true;
                self.outputs.retain(|ShardOutput::SendBatch(b)| b.seq != seq);
                self.changed_at(now);
                self.maybe_flush(now);
                true
            }
            _ => false,
        }
    }

    /// Fires every deadline `<= now`: an idle or max-age flush, an acknowledgement timeout
    /// (the batch is treated as failed), or a re-send. Early or repeated calls do nothing.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let now = self.clock.at(now);
        match self.in_flight.as_ref().map(|f| f.state) {
            Some(FlightState::Awaiting { deadline }) if deadline <= now => self.schedule_retry(now),
            Some(FlightState::Backoff { resend_at }) if resend_at <= now => self.resend(now),
            Some(_) => {}
            None => self.maybe_flush(now),
        }
    }

    // ----- outputs -----

    /// The next thing the host must do, if any.
    pub fn poll_output(&mut self) -> Option<ShardOutput> {
        self.outputs.pop_front()
    }

    /// The earliest deadline: call [`handle_timeout`](Self::handle_timeout) then.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.next_deadline().map(|d| d.at)
    }

    /// Whether the state changed since the last call (then a durable host persists
    /// [`snapshot`](Self::snapshot) before replying to the client or sending the batch).
    pub fn take_state_changed(&mut self) -> bool {
        std::mem::take(&mut self.state_changed)
    }

    // ----- internals -----

    /// Records that the state changed at `now` (the clock moves only with a change). Every
    /// change of the in-flight batch, the draining flag or the oldest pending delta's time
    /// comes through here, which keeps the increment path's triggers up to date.
    #[inline]
    fn changed_at(&mut self, now: Timestamp) {
        self.clock.observe(now);
        self.state_changed = true;
        self.retrigger();
    }

    /// Recomputes the increment path's triggers (see [`Watch`]).
    fn retrigger(&mut self) {
        let w = &mut self.watch;
        let in_flight = self.in_flight.is_some();
        w.requests = if in_flight {
            u64::MAX
        } else if self.draining {
            0
        } else {
            w.limit
        };
        w.at = match self.first_pending_at {
            None => Timestamp::ZERO,
            Some(_) if in_flight => Timestamp::MAX,
            Some(first) => first.saturating_add(w.age_ms),
        };
    }

    fn has_pending(&self) -> bool {
        self.keys.pending_len() > 0 || !self.older.is_empty()
    }

    /// Room for `new` more pending entries?
    #[inline]
    fn check_room(&self, new: usize) -> Result<(), Error> {
        if self.pending_keys() + new > self.config.max_pending_keys() {
            return Err(Error::TableFull { table: "pending keys", limit: self.config.max_pending_keys() });
        }
        Ok(())
    }

    #[inline(always)]
    fn add_to_slot(&mut self, id: u32, delta: i64) -> Result<(), Error> {
        if self.keys.add_hot(id, delta) {
            return Ok(());
        }
        self.add_to_new_slot(id, delta)
    }

    /// [`add_to_slot`](Self::add_to_slot) of a slot not yet pending (or logged), or an
    /// overflow.
    fn add_to_new_slot(&mut self, id: u32, delta: i64) -> Result<(), Error> {
        let slot = self.keys.slot(id);
        let Some(value) = slot.delta().checked_add(delta) else {
            return Err(Error::Overflow { key: slot.key().to_string(), current: slot.delta(), delta });
        };
        if !slot.is_present() {
            self.check_room(1)?;
        }
        self.keys.set(id, value);
        Ok(())
    }

    /// Validates then applies one multi-key request of distinct keys.
    fn apply_request(&mut self, items: &[Staged<'_>], requests: u64, now: Timestamp) -> Result<(), Error> {
        let mut new_keys = 0;
        for s in items {
            let current = s.id.map_or(0, |id| self.keys.slot(id).delta());
            if current.checked_add(s.delta).is_none() {
                return Err(Error::Overflow { key: s.key.to_owned(), current, delta: s.delta });
            }
            if !s.id.is_some_and(|id| self.keys.slot(id).is_present()) {
                new_keys += 1;
            }
        }
        self.check_room(new_keys)?;
        for s in items {
            let id = s.id.unwrap_or_else(|| self.keys.slot_for(s.key, s.hash));
            let value = self.keys.slot(id).delta() + s.delta;
            self.keys.set(id, value);
        }
        self.after_requests(requests, now);
        Ok(())
    }

    #[inline(always)]
    fn after_request(&mut self, now: Timestamp) {
        self.after_requests(1, now);
    }

    /// Bookkeeping after accepted requests: counts, timers, and a flush when one is due.
    #[inline(always)]
    fn after_requests(&mut self, requests: u64, now: Timestamp) {
        let now = self.clock.observe(now);
        self.requests += requests;
        self.stats.requests += requests;
        self.last_increment_at = now;
        self.state_changed = true;
        if self.requests >= self.watch.requests || now >= self.watch.at {
            self.look_closer(now);
        }
    }

    /// The slow half of [`after_requests`](Self::after_requests): notes the oldest pending
    /// delta's time and flushes when the request threshold, draining or the maximum age says
    /// so.
    fn look_closer(&mut self, now: Timestamp) {
        let first = *self.first_pending_at.get_or_insert(now);
        self.retrigger();
        // Disabled thresholds are u64::MAX: never reached.
        let due = self.requests >= self.watch.limit || self.draining || first.saturating_add(self.watch.age_ms) <= now;
        if due && self.in_flight.is_none() {
            self.maybe_flush(now);
        }
    }

    /// The idle / max-age deadline while nothing is in flight.
    fn flush_deadline(&self) -> Option<Deadline<ShardTimer>> {
        let first = self.first_pending_at?;
        if !self.has_pending() {
            return None;
        }
        let idle = self.config.flush_after_idle_ms();
        let age = self.config.flush_max_age_ms();
        let idle = (idle > 0).then(|| Deadline { at: self.last_increment_at.saturating_add(idle), timer: ShardTimer::Idle });
        let age = (age > 0).then(|| Deadline { at: first.saturating_add(age), timer: ShardTimer::MaxAge });
        Deadline::earlier(idle, age)
    }

    /// Cuts a batch if nothing is in flight, something is pending and a flush condition holds.
    fn maybe_flush(&mut self, now: Timestamp) {
        if self.in_flight.is_some() || !self.has_pending() {
            return;
        }
        let threshold = self.config.flush_after_requests();
        let reason = if self.manual_requested {
            FlushReason::Manual
        } else if self.draining {
            FlushReason::Drain
        } else if threshold > 0 && self.requests >= u64::from(threshold) {
            FlushReason::Requests
        } else {
            match self.flush_deadline() {
                Some(d) if d.at <= now => match d.timer {
                    ShardTimer::MaxAge => FlushReason::MaxAge,
                    _ => FlushReason::Idle,
                },
                _ => return,
            }
        };
        self.cut(reason, now);
    }

    /// Moves everything pending into a new in-flight batch and queues it. Returns its seq.
    fn cut(&mut self, reason: FlushReason, now: Timestamp) -> u64 {
        let generation = self.generation;
        let keep = self.config.max_pending_keys();
        // Everything pending goes: the journal records one clear instead of every entry.
        self.keys.pend_cleared = true;
        self.journal.older.clear();
        // Current-generation entries come out of the key table already sorted, with their
        // keys' hashes (for the global).
        let (mut entries, mut hashes) = self.keys.take_pending(keep, generation);
        if !self.older.is_empty() {
            let mut all: Vec<(BatchEntry, u32)> = std::mem::take(&mut self.older)
                .into_iter()
                .map(|((key, generation), delta)| {
                    let hash = hash_of(&key);
                    (BatchEntry { key, generation, delta }, hash)
                })
                .chain(entries.into_iter().zip(hashes))
                .collect();
            all.sort_unstable_by(|a, b| (&a.0.key, a.0.generation).cmp(&(&b.0.key, b.0.generation)));
            (entries, hashes) = all.into_iter().unzip();
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let batch = Batch { from: self.me, seq, reason, entries: Arc::new(entries), hashes: Some(Arc::new(hashes)) };
        self.outputs.push_back(ShardOutput::SendBatch(batch.clone()));
        self.in_flight = Some(InFlight {
            batch,
            attempts: 1,
            state: FlightState::Awaiting { deadline: now.saturating_add(self.config.ack_timeout_ms()) },
        });
        self.journal.flight = true;
        self.requests = 0;
        self.first_pending_at = None;
        self.manual_requested = false;
        self.stats.batches += 1;
        self.changed_at(now);
        seq
    }

    fn schedule_retry(&mut self, now: Timestamp) {
        let Some(f) = self.in_flight.as_mut() else { return };
        let delay = self.backoff.delay(f.attempts, &mut self.rng);
        f.state = FlightState::Backoff { resend_at: now.saturating_add(delay) };
        self.stats.failures += 1;
        self.changed_at(now);
    }

    fn resend(&mut self, now: Timestamp) {
        let Some(f) = self.in_flight.as_mut() else { return };
        f.attempts = f.attempts.saturating_add(1);
        f.state = FlightState::Awaiting { deadline: now.saturating_add(self.config.ack_timeout_ms()) };
        self.outputs.push_back(ShardOutput::SendBatch(Batch { reason: FlushReason::Retry, ..f.batch.clone() }));
        self.stats.retries += 1;
        self.changed_at(now);
    }

    /// Learns the global's generation and drops pending deltas of keys reset after they
    /// were accepted.
    fn learn_generation(&mut self, generation: u64, stale: &[(Arc<str>, u64)], now: Timestamp) {
        if generation > self.generation {
            // Pending deltas of the current generation keep their (older) tag: the same
            // journal rows, still marked if they changed since the last take.
            let old = self.generation;
            for id in self.keys.take_pend_log() {
                self.journal.older.insert((self.keys.slot(id).key().clone(), old));
            }
            for e in self.keys.take_pending(self.config.max_pending_keys(), old).0 {
                self.older.insert((e.key, old), e.delta);
            }
            self.generation = generation;
            self.changed_at(now);
        }
        for (key, key_generation) in stale {
            let doomed: Vec<(Arc<str>, u64)> =
                self.older.range((key.clone(), 0)..(key.clone(), *key_generation)).map(|(k, _)| k.clone()).collect();
            for k in doomed {
                self.older.remove(&k);
                self.journal.older.insert(k);
                self.stats.stale_dropped += 1;
                self.changed_at(now);
            }
        }
        if !self.has_pending() && self.first_pending_at.is_some() {
            self.first_pending_at = None;
            self.changed_at(now);
        }
    }

    // ----- tiered aggregation (the upstream shard of a global) -----

    /// Checks that `items` — `(key, key hash, generation tag, delta)`, sorted by key then
    /// generation, as applied from one batch — can be added as one request by
    /// [`apply_tagged`](Self::apply_tagged): keys, overflow, room. Changes nothing.
    pub(crate) fn check_tagged(&self, items: &[(&str, u32, u64, i64)]) -> Result<(), Error> {
        let max = self.config.max_key_bytes();
        let target = items.iter().map(|i| i.2).max().map_or(self.generation, |g| g.max(self.generation));
        let mut new_cells = 0usize;
        let mut running: Option<(&str, u64, i64)> = None;
        for (key, hash, tag, delta) in items {
            validate_key(key, max)?;
            let current = match running {
                Some((k, t, v)) if k == *key && t == *tag => v,
                _ => {
                    let cell = self.cell(key, *hash, *tag, target);
                    if cell.is_none() {
                        new_cells += 1;
                    }
                    cell.unwrap_or(0)
                }
            };
            let value = current.checked_add(*delta).ok_or_else(|| Error::Overflow { key: (*key).to_owned(), current, delta: *delta })?;
            running = Some((key, *tag, value));
        }
        self.check_room(new_cells)
    }

    /// The pending delta of `(key, tag)` once the shard's generation is `target`, if any.
    fn cell(&self, key: &str, hash: u32, tag: u64, target: u64) -> Option<i64> {
        if tag == self.generation {
            // In the key table now; moved under the same tag if the generation goes up.
            self.keys.find(key, hash).map(|id| self.keys.slot(id)).filter(|s| s.is_present()).map(|s| s.delta())
        } else if tag == target {
            None
        } else {
            self.older.get(&(Arc::from(key), tag)).copied()
        }
    }

    /// Adds `items` (checked by [`check_tagged`](Self::check_tagged)) as one request, each
    /// delta under its own generation tag, so a mid-level global forwards every delta with
    /// the generation its leaf shard accepted it under. A tag newer than the shard's
    /// generation teaches it that generation first. Nothing to add is not a request.
    pub(crate) fn apply_tagged(&mut self, items: &[(&str, u32, u64, i64)], now: Timestamp) {
        if items.is_empty() {
            return;
        }
        let now = self.clock.at(now);
        if let Some(newest) = items.iter().map(|i| i.2).max() {
            self.learn_generation(newest, &[], now);
        }
        for (key, hash, tag, delta) in items {
            if *tag == self.generation {
                let id = self.keys.slot_for(key, *hash);
                let value = self.keys.slot(id).delta() + delta;
                self.keys.set(id, value);
            } else {
                let cell = (Arc::from(*key), *tag);
                *self.older.entry(cell.clone()).or_insert(0) += delta;
                self.journal.older.insert(cell);
            }
        }
        self.after_requests(1, now);
    }
}
