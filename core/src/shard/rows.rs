//! A shard's persistence: the whole state as a snapshot, or as journal rows.
//!
//! Both forms hold the same parts — the meta row, the used key slots, the pending deltas and
//! the in-flight batch — and are rebuilt by one validating path.

use super::{FlightState, InFlight, Shard, ShardOutput};
use crate::config::ShardConfig;
use crate::error::DecodeError;
use crate::journal::{ShardMeta, ShardRow};
use crate::keys::{KeyTable, SlotEntry};
use crate::message::{check_sorted_entries, Batch, BatchEntry, FlushReason};
use crate::snapshot::{self, Kind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
        Shard::from_state(config, s)
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
    /// The journal starts empty; a batch that was in flight is offered again.
    pub fn from_rows(rows: impl IntoIterator<Item = ShardRow>, config: ShardConfig) -> Result<Shard, DecodeError> {
        let mut meta = None;
        let mut slots: BTreeMap<u32, SlotEntry> = BTreeMap::new();
        let mut pending: Vec<BatchEntry> = Vec::new();
        let mut in_flight = None;
        for row in rows {
            match row {
                ShardRow::Meta(m) => {
                    if meta.replace(m).is_some() {
                        return Err(DecodeError::corrupt("two meta rows"));
                    }
                }
                ShardRow::Slot { id, key, pinned } => {
                    if slots.insert(id, (id, key, pinned)).is_some() {
                        return Err(DecodeError::corrupt("two rows for one slot"));
                    }
                }
                ShardRow::Pending { key, generation, delta } => pending.push(BatchEntry { key, generation, delta }),
                ShardRow::InFlight(b) => {
                    if in_flight.replace(b).is_some() {
                        return Err(DecodeError::corrupt("two in-flight rows"));
                    }
                }
                _ => return Err(DecodeError::corrupt("a delete row is not a stored row")),
            }
        }
        let meta = meta.ok_or_else(|| DecodeError::corrupt("no meta row"))?;
        pending.sort_unstable_by(|a, b| (&a.key, a.generation).cmp(&(&b.key, b.generation)));
        Shard::from_state(config, ShardState { meta, slots: slots.into_values().collect(), pending, in_flight })
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

    fn from_state(config: ShardConfig, s: ShardState) -> Result<Shard, DecodeError> {
        let m = s.meta;
        check_sorted_entries(&s.pending)?;
        if m.next_seq == 0 {
            return Err(DecodeError::corrupt("next seq 0"));
        }
        let in_flight = match (s.in_flight, m.flight) {
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
        let bound = config.max_interned_keys() + 2 * config.max_pending_keys() + 16;
        let mut shard = Shard::new(config, m.me);
        shard.clock = m.clock;
        shard.generation = m.generation;
        shard.next_seq = m.next_seq;
        shard.keys = KeyTable::import(m.slot_count, s.slots, bound).map_err(DecodeError::corrupt)?;
        for e in s.pending {
            if e.generation > m.generation {
                return Err(DecodeError::corrupt("pending delta from a future generation"));
            }
            if e.generation == m.generation {
                let id = shard.keys.lookup(&e.key).ok_or_else(|| DecodeError::corrupt("pending key without a slot"))?;
                shard.keys.set(id, e.delta);
            } else {
                shard.older.insert((e.key, e.generation), e.delta);
            }
        }
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

/// The primary key of a `pending` row.
fn pending_key(row: &ShardRow) -> (&str, u64) {
    match row {
        ShardRow::Pending { key, generation, .. } | ShardRow::PendingRemoved { key, generation } => (key, *generation),
        _ => ("", 0),
    }
}
