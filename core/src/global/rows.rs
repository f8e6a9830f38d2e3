//! A global's persistence: the whole state as a snapshot, or as journal rows.
//!
//! Both forms hold the same parts — the meta row, totals, deduplication entries, write-log
//! records, per-shard statistics, the publish in flight and the upstream shard — and are
//! rebuilt by one validating path.

use super::{DedupEntry, Global, GlobalOutput, ShardTally};
use crate::config::{GlobalConfig, ShardConfig};
use crate::error::DecodeError;
use crate::journal::{GlobalMeta, GlobalRow, InFlightPublish, ShardRow};
use crate::keys::hash_of;
use crate::message::ShardRef;
use crate::shard::Shard;
use crate::snapshot::{self, Kind};
use crate::time::Timestamp;
use crate::writelog::WriteRecord;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The serialized form of a global.
#[derive(Serialize, Deserialize)]
struct GlobalState {
    meta: GlobalMeta,
    /// `(key, total, generation, unpublished)`, sorted by key.
    totals: Vec<(Arc<str>, i64, u64, bool)>,
    dedup: Vec<(ShardRef, u64, Timestamp)>,
    /// Oldest first; the last has id `meta.next_write_id - 1`.
    log: Vec<WriteRecord>,
    shard_counts: Vec<(u32, u64)>,
    shard_deltas: Vec<ShardDeltaRow>,
    publish: Option<InFlightPublish>,
    upstream: Option<Vec<u8>>,
}

/// A `shard_deltas` row: `(shard, key, summed delta)`.
type ShardDeltaRow = (u32, Arc<str>, i64);

/// The upstream shard of a state being rebuilt.
enum Upstream {
    Snapshot(Vec<u8>),
    Rows(Vec<ShardRow>),
}

impl Global {
    /// The whole state as versioned bytes: totals, generations, deduplication table,
    /// publish state and deadlines, write log, statistics and the upstream shard.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut dedup: Vec<(ShardRef, u64, Timestamp)> = self.dedup.iter().map(|(r, d)| (*r, d.last_seq, d.last_seen)).collect();
        dedup.sort_unstable();
        let (shard_counts, shard_deltas) = self.shard_tables();
        snapshot::encode(
            Kind::GlobalSnapshot,
            &GlobalState {
                meta: self.meta(),
                totals: self.total_rows(),
                dedup,
                log: self.log.records(),
                shard_counts,
                shard_deltas,
                publish: self.publish_flight.clone(),
                upstream: self.upstream.as_ref().map(Shard::snapshot),
            },
        )
    }

    /// Restores a global from [`snapshot`](Self::snapshot) bytes. A publish that was in
    /// flight is offered again by [`poll_output`](Self::poll_output).
    ///
    /// A snapshot of a tiered global needs [`restore_tiered`](Self::restore_tiered).
    pub fn restore(bytes: &[u8], config: GlobalConfig) -> Result<Global, DecodeError> {
        Self::restore_inner(config, None, bytes)
    }

    /// Restores a tiered global (one created with [`with_upstream`](Self::with_upstream)).
    pub fn restore_tiered(bytes: &[u8], config: GlobalConfig, upstream: ShardConfig) -> Result<Global, DecodeError> {
        Self::restore_inner(config, Some(upstream), bytes)
    }

    fn restore_inner(config: GlobalConfig, upstream: Option<ShardConfig>, bytes: &[u8]) -> Result<Global, DecodeError> {
        let mut s: GlobalState = snapshot::decode(Kind::GlobalSnapshot, bytes)?;
        let up = s.upstream.take().map(Upstream::Snapshot);
        Global::from_state(config, upstream, s, up)
    }

    /// The rows changed since the last call (see [`journal`](crate::journal)): apply them to
    /// the host's tables, in order, to persist exactly what [`snapshot`](Self::snapshot)
    /// would. Empty exactly when the state did not change. An applied batch of n entries
    /// yields O(n) rows whatever the number of keys. The first call on a [`new`](Self::new)
    /// global returns its `meta` row.
    pub fn take_changes(&mut self) -> Vec<GlobalRow> {
        let mut out = Vec::new();
        let meta = self.meta();
        if self.journal.last_meta.as_ref() != Some(&meta) {
            out.push(GlobalRow::Meta(meta.clone()));
            self.journal.last_meta = Some(meta);
        }
        for id in self.totals.take_log() {
            out.push(self.total_row(id));
        }
        for from in std::mem::take(&mut self.journal.dedup) {
            out.push(match self.dedup.get(&from) {
                Some(d) => GlobalRow::Dedup { from, last_seq: d.last_seq, last_seen: d.last_seen },
                None => GlobalRow::DedupRemoved { from },
            });
        }
        let (trim, added) = self.log.take_log();
        if let Some(before) = trim {
            out.push(GlobalRow::WritesTrimmed { before });
        }
        out.extend(added.into_iter().map(|(id, record)| GlobalRow::Write { id, record }));
        let shards = std::mem::take(&mut self.journal.shards);
        for shard in &shards {
            if let Some(t) = self.shard_writes.get(shard) {
                out.push(GlobalRow::ShardWriteCount { shard: *shard, writes: t.writes });
            }
        }
        for shard in shards {
            let Some(t) = self.shard_writes.get_mut(&shard) else { continue };
            let mut rows: Vec<(Arc<str>, i64)> =
                t.take_changed().into_iter().map(|(id, delta)| (self.totals.entry(id).key.clone(), delta)).collect();
            rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            out.extend(rows.into_iter().map(|(key, delta)| GlobalRow::ShardDelta { shard, key, delta }));
        }
        if std::mem::take(&mut self.journal.publish) {
            out.push(match &self.publish_flight {
                Some(p) => GlobalRow::PublishInFlight(p.clone()),
                None => GlobalRow::PublishCleared,
            });
        }
        if let Some(up) = self.upstream.as_mut() {
            out.extend(up.take_changes().into_iter().map(GlobalRow::Upstream));
        }
        out
    }

    /// Every row of the state (what a store holds after applying every take), e.g. to seed a
    /// new store. Does not affect [`take_changes`](Self::take_changes).
    pub fn rows(&self) -> Vec<GlobalRow> {
        let mut out = vec![GlobalRow::Meta(self.meta())];
        out.extend(self.total_rows().into_iter().map(|(key, total, generation, unpublished)| GlobalRow::Total {
            key,
            total,
            generation,
            unpublished,
        }));
        let mut dedup: Vec<GlobalRow> =
            self.dedup.iter().map(|(r, d)| GlobalRow::Dedup { from: *r, last_seq: d.last_seq, last_seen: d.last_seen }).collect();
        dedup.sort_unstable_by_key(|r| match r {
            GlobalRow::Dedup { from, .. } => *from,
            _ => ShardRef { shard: 0, incarnation: 0 },
        });
        out.extend(dedup);
        out.extend(self.log.records_with_ids().into_iter().map(|(id, record)| GlobalRow::Write { id, record }));
        let (counts, deltas) = self.shard_tables();
        out.extend(counts.into_iter().map(|(shard, writes)| GlobalRow::ShardWriteCount { shard, writes }));
        out.extend(deltas.into_iter().map(|(shard, key, delta)| GlobalRow::ShardDelta { shard, key, delta }));
        if let Some(p) = &self.publish_flight {
            out.push(GlobalRow::PublishInFlight(p.clone()));
        }
        if let Some(up) = &self.upstream {
            out.extend(up.rows().into_iter().map(GlobalRow::Upstream));
        }
        out
    }

    /// Rebuilds a global from its stored rows, in any order (only upserted rows), validating
    /// them as [`restore`](Self::restore) does. The journal starts empty; a publish that was
    /// in flight is offered again. Rows of a tiered global need
    /// [`from_rows_tiered`](Self::from_rows_tiered).
    pub fn from_rows(rows: impl IntoIterator<Item = GlobalRow>, config: GlobalConfig) -> Result<Global, DecodeError> {
        Self::from_rows_inner(config, None, rows)
    }

    /// Rebuilds a tiered global (one created with [`with_upstream`](Self::with_upstream))
    /// from its stored rows, its upstream shard's included.
    pub fn from_rows_tiered(
        rows: impl IntoIterator<Item = GlobalRow>,
        config: GlobalConfig,
        upstream: ShardConfig,
    ) -> Result<Global, DecodeError> {
        Self::from_rows_inner(config, Some(upstream), rows)
    }

    fn from_rows_inner(
        config: GlobalConfig,
        upstream: Option<ShardConfig>,
        rows: impl IntoIterator<Item = GlobalRow>,
    ) -> Result<Global, DecodeError> {
        let mut meta = None;
        let mut totals = Vec::new();
        let mut dedup = Vec::new();
        let mut log: Vec<(u64, WriteRecord)> = Vec::new();
        let mut shard_counts = Vec::new();
        let mut shard_deltas = Vec::new();
        let mut publish = None;
        let mut up_rows = Vec::new();
        for row in rows {
            match row {
                GlobalRow::Meta(m) => {
                    if meta.replace(m).is_some() {
                        return Err(DecodeError::corrupt("two meta rows"));
                    }
                }
                GlobalRow::Total { key, total, generation, unpublished } => totals.push((key, total, generation, unpublished)),
                GlobalRow::Dedup { from, last_seq, last_seen } => dedup.push((from, last_seq, last_seen)),
                GlobalRow::Write { id, record } => log.push((id, record)),
                GlobalRow::ShardWriteCount { shard, writes } => shard_counts.push((shard, writes)),
                GlobalRow::ShardDelta { shard, key, delta } => shard_deltas.push((shard, key, delta)),
                GlobalRow::PublishInFlight(p) => {
                    if publish.replace(p).is_some() {
                        return Err(DecodeError::corrupt("two publish rows"));
                    }
                }
                GlobalRow::Upstream(r) => up_rows.push(r),
                _ => return Err(DecodeError::corrupt("a delete row is not a stored row")),
            }
        }
        let meta = meta.ok_or_else(|| DecodeError::corrupt("no meta row"))?;
        totals.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        log.sort_unstable_by_key(|(id, _)| *id);
        let first = meta.next_write_id.checked_sub(log.len() as u64);
        if first.is_none() || log.iter().zip(first.unwrap_or(0)..).any(|((id, _), want)| *id != want) {
            return Err(DecodeError::corrupt("write log ids are not contiguous up to the next id"));
        }
        let up = (!up_rows.is_empty()).then_some(Upstream::Rows(up_rows));
        let state = GlobalState {
            meta,
            totals,
            dedup,
            log: log.into_iter().map(|(_, r)| r).collect(),
            shard_counts,
            shard_deltas,
            publish,
            upstream: None,
        };
        Global::from_state(config, upstream, state, up)
    }

    /// The `meta` row.
    pub(crate) fn meta(&self) -> GlobalMeta {
        GlobalMeta {
            clock: self.clock,
            generation: self.generation,
            publish: self.publish.clone(),
            stats: self.stats,
            rng: self.rng.clone(),
            next_write_id: self.log.next_id(),
        }
    }

    fn total_row(&self, id: u32) -> GlobalRow {
        let e = self.totals.entry(id);
        GlobalRow::Total {
            key: e.key.clone(),
            total: e.total,
            generation: self.totals.generation(id),
            unpublished: self.totals.is_unpublished(id),
        }
    }

    /// Every key's `(key, total, generation, unpublished)`, sorted by key.
    fn total_rows(&self) -> Vec<(Arc<str>, i64, u64, bool)> {
        self.totals
            .sorted()
            .iter()
            .map(|id| {
                let e = self.totals.entry(*id);
                (e.key.clone(), e.total, self.totals.generation(*id), self.totals.is_unpublished(*id))
            })
            .collect()
    }

    /// Per-shard write counts, and summed deltas by `(shard, key)`, both sorted.
    fn shard_tables(&self) -> (Vec<(u32, u64)>, Vec<ShardDeltaRow>) {
        let counts = self.shard_writes.iter().map(|(s, t)| (*s, t.writes)).collect();
        let deltas = self.shard_writes().into_iter().flat_map(|(s, w)| w.deltas.into_iter().map(move |(k, d)| (s, k, d))).collect();
        (counts, deltas)
    }

    fn from_state(
        config: GlobalConfig,
        upstream: Option<ShardConfig>,
        s: GlobalState,
        up: Option<Upstream>,
    ) -> Result<Global, DecodeError> {
        let m = s.meta;
        let mut g = Global::new(config);
        g.clock = m.clock;
        g.generation = m.generation;
        let mut unpublished = Vec::new();
        g.totals.reserve(s.totals.len());
        for (key, total, generation, changed) in s.totals {
            let hash = hash_of(&key);
            if key.is_empty() || generation > m.generation || g.totals.find(&key, hash).is_some() {
                return Err(DecodeError::corrupt("invalid totals"));
            }
            let id = g.totals.insert(key, hash, total, generation);
            if changed {
                unpublished.push(id);
            }
        }
        g.totals.mark_changed(&unpublished);
        for (r, last_seq, last_seen) in s.dedup {
            if g.dedup.insert(r, DedupEntry { last_seq, last_seen }).is_some() {
                return Err(DecodeError::corrupt("two deduplication entries for one shard life"));
            }
        }
        if m.publish.next_version == 0 || m.publish.published_version >= m.publish.next_version {
            return Err(DecodeError::corrupt("invalid publish versions"));
        }
        g.publish = m.publish;
        if let Some(f) = &s.publish {
            if f.publish.version >= g.publish.next_version {
                return Err(DecodeError::corrupt("invalid in-flight publish"));
            }
            g.outputs.push_back(GlobalOutput::Publish(f.publish.clone()));
        }
        g.publish_flight = s.publish;
        g.log.restore(s.log, m.next_write_id).map_err(DecodeError::corrupt)?;
        for (shard, writes) in s.shard_counts {
            if g.shard_writes.insert(shard, ShardTally::with_writes(writes)).is_some() {
                return Err(DecodeError::corrupt("two write counts for one shard"));
            }
        }
        for (shard, key, delta) in s.shard_deltas {
            let id = g.totals.id(&key).ok_or_else(|| DecodeError::corrupt("shard statistics for a key without a total"))?;
            let tally = g.shard_writes.get_mut(&shard).ok_or_else(|| DecodeError::corrupt("shard deltas without a write count"))?;
            if !tally.restore(id, delta) {
                return Err(DecodeError::corrupt("two deltas for one shard and key"));
            }
        }
        for tally in g.shard_writes.values_mut() {
            tally.prepare(g.totals.len());
            tally.clear_changed();
        }
        g.stats = m.stats;
        g.rng = m.rng;
        g.upstream = match (up, upstream) {
            (None, _) => None,
            (Some(Upstream::Snapshot(bytes)), Some(config)) => Some(Shard::restore(&bytes, config)?),
            (Some(Upstream::Rows(rows)), Some(config)) => Some(Shard::from_rows(rows, config)?),
            (Some(_), None) => return Err(DecodeError::corrupt("state of a tiered global: use restore_tiered / from_rows_tiered")),
        };
        g.drain_upstream();
        g.totals.clear_log();
        g.journal.last_meta = Some(g.meta());
        Ok(g)
    }
}
