//! A shard's persistence: the whole state as a snapshot, or as journal rows.
//!
//! Both forms hold the same parts — the meta row, the used key slots, the pending deltas and
//! the in-flight batch — and are rebuilt by one validating path, [`ShardBuilder`], which
//! takes them one at a time.

use super::{FlightState, InFlight, Shard, ShardOutput};
use crate::config::ShardConfig;
use crate::error::DecodeError;
use crate::journal::{ShardMeta, ShardRow};
use crate::keys::{KeyTable, SlotEntry};
use crate::message::{check_sorted_entries, Batch, BatchEntry, FlushReason};
use crate::snapshot::{self, Kind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The serialized form of a shard.
#[derive(Serialize, Deserialize)]
struct ShardState {
    meta: ShardMeta,
    slots: Vec<SlotEntry>,
    pending: Vec<BatchEntry>,
    in_flight: Option<Batch>,
}

impl Shard {
    /// The whole state as versioned bytes: pending deltas, the in-flight batch, sequence
    /// numbers, generation, issued key ids, deadlines and counters.
    pub fn snapshot(&self) -> Vec<u8> {
        let (_, slots) = self.keys.export();
        snapshot::encode(
            Kind::ShardSnapshot,
            &ShardState { meta: self.meta(), slots, pending: self.pending(), in_flight: self.in_flight.as_ref().map(|f| f.batch.clone()) },
        )
    }

    /// Restores a shard from [`snapshot`](Self::snapshot) bytes, deadlines included, so
    /// [`poll_timeout`](Self::poll_timeout) is right at once. A batch that was in flight is
    /// offered again by [`poll_output`](Self::poll_output) (reason `retry`): the host may
    /// have crashed before sending it, and the global ignores duplicates.
    pub fn restore(bytes: &[u8], config: ShardConfig) -> Result<Shard, DecodeError> {
        let s: ShardState = snapshot::decode(Kind::ShardSnapshot, bytes)?;
        check_sorted_entries(&s.pending)?;
        let mut b = ShardBuilder::new(config);
        b.meta(s.meta)?;
        for (id, key, pinned) in s.slots {
            b.slot(id, key, pinned)?;
        }
        for e in s.pending {
            b.pending(e)?;
        }
        if let Some(batch) = s.in_flight {
            b.in_flight(batch)?;
        }
        b.finish()
    }

    /// The rows changed since the last call (see [`journal`](crate::journal)): apply them to
    /// the host's tables, in order, to persist exactly what [`snapshot`](Self::snapshot)
    /// would. Empty exactly when the state did not change. The first call on a
    /// [`new`](Self::new) shard returns its `meta` row.
    pub fn take_changes(&mut self) -> Vec<ShardRow> {
        let mut out = Vec::new();
        let meta = self.meta();
        if self.journal.last_meta.as_ref() != Some(&meta) {
            out.push(ShardRow::Meta(meta.clone()));
            self.journal.last_meta = Some(meta);
        }
        for id in self.keys.take_slot_log() {
            out.push(match self.keys.slot_row(id) {
                Some((key, pinned)) => ShardRow::Slot { id, key, pinned },
                None => ShardRow::SlotFreed { id },
            });
        }
        if std::mem::take(&mut self.keys.pend_cleared) {
            out.push(ShardRow::PendingCleared);
        }
        let mut pending: Vec<ShardRow> = Vec::new();
        let generation = self.generation;
        for id in self.keys.take_pend_log() {
            let slot = self.keys.slot(id);
            pending.push(ShardRow::Pending { key: slot.key().clone(), generation, delta: slot.delta() });
        }
        for (key, generation) in std::mem::take(&mut self.journal.older) {
            pending.push(match self.older.get(&(key.clone(), generation)) {
                Some(delta) => ShardRow::Pending { key, generation, delta: *delta },
                None => ShardRow::PendingRemoved { key, generation },
            });
        }
        pending.sort_unstable_by(|a, b| pending_key(a).cmp(&pending_key(b)));
        out.extend(pending);
        if std::mem::take(&mut self.journal.flight) {
            out.push(match &self.in_flight {
                Some(f) => ShardRow::InFlight(f.batch.clone()),
                None => ShardRow::InFlightCleared,
            });
        }
        out
    }

    /// Every row of the state (what a store holds after applying every take), e.g. to seed a
    /// new store. Does not affect [`take_changes`](Self::take_changes).
    pub fn rows(&self) -> Vec<ShardRow> {
        let mut out = vec![ShardRow::Meta(self.meta())];
        let (_, slots) = self.keys.export();
        out.extend(slots.into_iter().map(|(id, key, pinned)| ShardRow::Slot { id, key, pinned }));
        out.extend(self.pending().into_iter().map(|e| ShardRow::Pending { key: e.key, generation: e.generation, delta: e.delta }));
        if let Some(f) = &self.in_flight {
            out.push(ShardRow::InFlight(f.batch.clone()));
        }
        out
    }

    /// Rebuilds a shard from its stored rows, in any order (only upserted rows: `meta`,
    /// `slots`, `pending`, `in_flight`), validating them as [`restore`](Self::restore) does.
    /// The journal starts empty; a batch that was in flight is offered again. Each row goes
    /// into the machine as it comes (see [`ShardBuilder`], which also takes rows a few at a
    /// time).
    pub fn from_rows(rows: impl IntoIterator<Item = ShardRow>, config: ShardConfig) -> Result<Shard, DecodeError> {
        let mut builder = ShardBuilder::new(config);
        builder.add_rows(rows)?;
        builder.finish()
    }

    /// The `meta` row.
    pub(crate) fn meta(&self) -> ShardMeta {
        ShardMeta {
            me: self.me,
            clock: self.clock,
            generation: self.generation,
            next_seq: self.next_seq,
            slot_count: self.keys.export_len(),
            requests: self.requests,
            first_pending_at: self.first_pending_at,
            last_increment_at: self.last_increment_at,
            flight: self.in_flight.as_ref().map(|f| (f.attempts, f.state)),
            draining: self.draining,
            manual_requested: self.manual_requested,
            rng: self.rng.clone(),
            stats: self.stats,
        }
    }
}

/// The primary key of a `pending` row.
fn pending_key(row: &ShardRow) -> (&str, u64) {
    match row {
        ShardRow::Pending { key, generation, .. } | ShardRow::PendingRemoved { key, generation } => (key, *generation),
        _ => ("", 0),
    }
}

/// Rebuilds a [`Shard`] from its stored rows one at a time, in any order, validating them as
/// [`Shard::restore`] does: each row goes into the machine's key table as it comes, so
/// rebuilding a shard with many pending keys holds the machine and one row, never a list of
/// every row ([`Shard::from_rows`] is this over an iterator; see
/// [`GlobalBuilder`](crate::journal::GlobalBuilder) for a global).
///
/// A `pending` row of the current generation waits until its key's `slots` row and the
/// `meta` row were added: reading `meta`, then `slots`, then `pending` keeps nothing
/// waiting. The first error is final: every later call returns it again.
///
/// ```
/// use shardtally::journal::{RowStore, ShardBuilder};
/// use shardtally::{Shard, ShardConfig, ShardRef, Timestamp};
///
/// let mut shard = Shard::new(ShardConfig::default(), ShardRef { shard: 0, incarnation: 1 });
/// let mut store = RowStore::new();
/// shard.increment("x", 2, Timestamp::from_millis(5))?;
/// store.apply_shard(&shard.take_changes());
/// let mut builder = ShardBuilder::new(ShardConfig::default());
/// for (table, value) in store.pairs() {
///     builder.add_stored(table, value)?;
/// }
/// assert_eq!(builder.finish()?.snapshot(), shard.snapshot());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ShardBuilder {
    config: ShardConfig,
    /// Most slots a stored key table may have under `config`.
    bound: usize,
    meta: Option<ShardMeta>,
    /// The slots added so far (ids not added yet are free).
    keys: KeyTable,
    /// Pending deltas of older generations.
    older: BTreeMap<(Arc<str>, u64), i64>,
    /// `pending` rows that came before the `meta` row or their key's slot.
    waiting: Vec<BatchEntry>,
    in_flight: Option<Batch>,
    /// The first error: every later call returns it.
    failed: Option<DecodeError>,
}

impl std::fmt::Debug for ShardBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardBuilder").field("slots", &self.keys.export_len()).field("failed", &self.failed).finish_non_exhaustive()
    }
}

crate::journal::row_builder! {
    ShardBuilder, ShardRow, Shard,
    /// The shard, once every row was added: checks what single rows could not (a meta row,
    /// the slot count, every pending key of the current generation having a slot, the
    /// in-flight batch against the meta row). Its journal starts empty; a batch that was in
    /// flight is offered again.
}

impl ShardBuilder {
    /// The tables to read first, in this order, before every other: then no `pending` row
    /// waits for its key's `slots` row (`pending` sorts before `slots`).
    pub const READ_FIRST: &'static [&'static str] = &["meta", "slots"];

    /// Rows waiting for their key's slot or the meta row (tests).
    #[cfg(test)]
    pub(crate) fn waiting_len(&self) -> usize {
        self.waiting.len()
    }

    /// A builder of a shard with this configuration (its identity is in the `meta` row).
    pub fn new(config: ShardConfig) -> ShardBuilder {
        ShardBuilder {
            bound: config.max_interned_keys() + 2 * config.max_pending_keys() + 16,
            config,
            meta: None,
            keys: KeyTable::default(),
            older: BTreeMap::new(),
            waiting: Vec::new(),
            in_flight: None,
            failed: None,
        }
    }

    fn add_row(&mut self, row: ShardRow) -> Result<(), DecodeError> {
        match row {
            ShardRow::Meta(m) => self.meta(m),
            ShardRow::Slot { id, key, pinned } => self.slot(id, key, pinned),
            ShardRow::Pending { key, generation, delta } => self.pending(BatchEntry { key, generation, delta }),
            ShardRow::InFlight(b) => self.in_flight(b),
            _ => Err(DecodeError::corrupt("a delete row is not a stored row")),
        }
    }

    fn meta(&mut self, m: ShardMeta) -> Result<(), DecodeError> {
        if self.meta.replace(m).is_some() {
            return Err(DecodeError::corrupt("two meta rows"));
        }
        Ok(())
    }

    fn slot(&mut self, id: u32, key: Arc<str>, pinned: bool) -> Result<(), DecodeError> {
        self.keys.import_slot(id, key, pinned, self.bound).map_err(DecodeError::corrupt)
    }

    /// A pending delta: into its slot (current generation) or among the older ones, or
    /// waiting for the meta row or its slot.
    fn pending(&mut self, e: BatchEntry) -> Result<(), DecodeError> {
        if e.key.is_empty() {
            return Err(DecodeError::corrupt("empty key"));
        }
        let Some(generation) = self.meta.as_ref().map(|m| m.generation) else {
            self.waiting.push(e);
            return Ok(());
        };
        if let Some(e) = self.place(e, generation)? {
            self.waiting.push(e);
        }
        Ok(())
    }

    /// Places a pending delta under the shard's `generation`; gives it back when its slot is
    /// not there (yet).
    fn place(&mut self, e: BatchEntry, generation: u64) -> Result<Option<BatchEntry>, DecodeError> {
        if e.generation > generation {
            return Err(DecodeError::corrupt("pending delta from a future generation"));
        }
        if e.generation < generation {
            if self.older.insert((e.key, e.generation), e.delta).is_some() {
                return Err(DecodeError::corrupt("two pending rows for one key and generation"));
            }
            return Ok(None);
        }
        let Some(id) = self.keys.lookup(&e.key) else { return Ok(Some(e)) };
        if self.keys.slot(id).is_present() {
            return Err(DecodeError::corrupt("two pending rows for one key and generation"));
        }
        self.keys.set(id, e.delta);
        Ok(None)
    }

    fn in_flight(&mut self, batch: Batch) -> Result<(), DecodeError> {
        if self.in_flight.replace(batch).is_some() {
            return Err(DecodeError::corrupt("two in-flight rows"));
        }
        Ok(())
    }

    fn build(mut self) -> Result<Shard, DecodeError> {
        let m = self.meta.take().ok_or_else(|| DecodeError::corrupt("no meta row"))?;
        if m.next_seq == 0 {
            return Err(DecodeError::corrupt("next seq 0"));
        }
        let in_flight = match (self.in_flight.take(), m.flight) {
            (None, None) => None,
            (Some(batch), Some((attempts, state))) => {
                check_sorted_entries(&batch.entries)?;
                if batch.from != m.me || batch.seq.checked_add(1) != Some(m.next_seq) || batch.entries.is_empty() || attempts == 0 {
                    return Err(DecodeError::corrupt("in-flight batch does not belong to this shard"));
                }
                Some(InFlight { batch, attempts, state })
            }
            _ => return Err(DecodeError::corrupt("in-flight batch and its state disagree")),
        };
        self.keys.import_finish(m.slot_count, self.bound).map_err(DecodeError::corrupt)?;
        for e in std::mem::take(&mut self.waiting) {
            if self.place(e, m.generation)?.is_some() {
                return Err(DecodeError::corrupt("pending key without a slot"));
            }
        }
        let mut shard = Shard::new(self.config, m.me);
        shard.clock = m.clock;
        shard.generation = m.generation;
        shard.next_seq = m.next_seq;
        shard.keys = self.keys;
        shard.older = self.older;
        shard.keys.take_pend_log();
        shard.requests = m.requests;
        shard.first_pending_at = m.first_pending_at.filter(|_| shard.has_pending());
        shard.last_increment_at = m.last_increment_at;
        shard.draining = m.draining;
        shard.manual_requested = m.manual_requested;
        shard.rng = m.rng;
        shard.stats = m.stats;
        if let Some(f) = &in_flight {
            if let FlightState::Awaiting { .. } = f.state {
                shard.outputs.push_back(ShardOutput::SendBatch(Batch { reason: FlushReason::Retry, ..f.batch.clone() }));
            }
        }
        shard.in_flight = in_flight;
        shard.retrigger();
        shard.journal.last_meta = Some(shard.meta());
        Ok(shard)
    }
}
