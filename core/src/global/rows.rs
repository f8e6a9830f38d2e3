//! A global's persistence: the whole state as a snapshot, or as journal rows.
//!
//! Both forms hold the same parts — the meta row, totals, deduplication entries, write-log
//! records, per-shard statistics, the publish in flight and the upstream shard — and are
//! rebuilt by one validating path, [`GlobalBuilder`], which takes them one at a time: rows
//! go into the machine as they come, so a rebuild never holds a list of every row.

use super::{DedupEntry, Global, GlobalOutput};
use crate::config::{GlobalConfig, ShardConfig};
use crate::error::DecodeError;
use crate::journal::{GlobalMeta, GlobalRow, InFlightPublish, ShardRow};
use crate::keys::hash_of;
use crate::message::ShardRef;
use crate::shard::{Shard, ShardBuilder};
use crate::snapshot::{self, Kind};
use crate::time::Timestamp;
use crate::writelog::WriteRecord;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
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
        let s: GlobalState = snapshot::decode(Kind::GlobalSnapshot, bytes)?;
        let mut b = GlobalBuilder::with(config, upstream);
        b.meta(s.meta)?;
        b.g.totals.reserve(s.totals.len());
        for (key, total, generation, unpublished) in s.totals {
            b.total(key, total, generation, unpublished)?;
        }
        for (from, last_seq, last_seen) in s.dedup {
            b.dedup(from, last_seq, last_seen)?;
        }
        let first = b.meta.as_ref().map_or(0, |m| m.next_write_id.saturating_sub(s.log.len() as u64));
        b.log.extend((first..).zip(s.log));
        for (shard, writes) in s.shard_counts {
            b.shard_count(shard, writes)?;
        }
        for (shard, key, delta) in s.shard_deltas {
            b.shard_delta(shard, key, delta)?;
        }
        if let Some(p) = s.publish {
            b.publish(p)?;
        }
        if let Some(bytes) = s.upstream {
            b.upstream = Some(Upstream::Snapshot(bytes));
        }
        b.finish()
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
    /// [`from_rows_tiered`](Self::from_rows_tiered). Each row goes into the machine as it
    /// comes (see [`GlobalBuilder`], which also takes rows a few at a time).
    pub fn from_rows(rows: impl IntoIterator<Item = GlobalRow>, config: GlobalConfig) -> Result<Global, DecodeError> {
        let mut builder = GlobalBuilder::new(config);
        builder.add_rows(rows)?;
        builder.finish()
    }

    /// Rebuilds a tiered global (one created with [`with_upstream`](Self::with_upstream))
    /// from its stored rows, its upstream shard's included.
    pub fn from_rows_tiered(
        rows: impl IntoIterator<Item = GlobalRow>,
        config: GlobalConfig,
        upstream: ShardConfig,
    ) -> Result<Global, DecodeError> {
        let mut builder = GlobalBuilder::tiered(config, upstream);
        builder.add_rows(rows)?;
        builder.finish()
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
}

/// The upstream shard of a global being rebuilt.
enum Upstream {
    Snapshot(Vec<u8>),
    Rows(Box<ShardBuilder>),
}

/// Rebuilds a [`Global`] from its stored rows one at a time, in any order, validating them as
/// [`Global::restore`] does: each row goes into the machine's tables as it comes (a `totals`
/// row becomes the key's entry, its key kept as decoded), so rebuilding a global of a
/// million keys holds the machine and one row, never a list of every row. A host reads its
/// rows with a cursor and passes each one on ([`add_stored`](Self::add_stored) decodes the
/// `(table, value)` pair a store read back), then calls [`finish`](Self::finish).
///
/// Rows that depend on others (a `shard_deltas` row before its key's `totals` row, every
/// row before `meta`) wait, or are checked when the machine is finished: reading `meta` and
/// `totals` first keeps nothing waiting. The first error is final: every later call returns
/// it again.
///
/// ```
/// use shardtally::journal::{GlobalBuilder, RowStore};
/// use shardtally::{Global, GlobalConfig, Shard, ShardConfig, ShardOutput, ShardRef, Timestamp};
///
/// let now = Timestamp::from_millis(5);
/// let mut shard = Shard::new(ShardConfig::default(), ShardRef { shard: 0, incarnation: 1 });
/// let mut global = Global::new(GlobalConfig::default());
/// let mut store = RowStore::new();
/// shard.increments(&[("a", 2), ("b", 3)], now)?;
/// shard.flush(now);
/// while let Some(ShardOutput::SendBatch(batch)) = shard.poll_output() {
///     global.handle_batch(&batch, now)?;
///     store.apply_global(&global.take_changes());
/// }
/// let mut builder = GlobalBuilder::new(GlobalConfig::default());
/// for (table, value) in store.pairs() {
///     builder.add_stored(table, value)?;
/// }
/// let rebuilt = builder.finish()?;
/// assert_eq!(rebuilt.snapshot(), global.snapshot());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct GlobalBuilder {
    /// The machine being filled (its configuration, tables and restored parts).
    g: Global,
    /// The upstream shard's configuration, for a tiered global.
    upstream_config: Option<ShardConfig>,
    meta: Option<GlobalMeta>,
    /// The highest generation of a `totals` row (at most the meta row's).
    top_generation: u64,
    /// Write-log records by id (a bounded few).
    log: Vec<(u64, WriteRecord)>,
    /// Shard indices with a `shard_writes` row.
    counted: BTreeSet<u32>,
    /// `shard_deltas` rows that came before their key's `totals` row.
    waiting: Vec<ShardDeltaRow>,
    publish: Option<InFlightPublish>,
    upstream: Option<Upstream>,
    /// The first error: every later call returns it.
    failed: Option<DecodeError>,
}

impl std::fmt::Debug for GlobalBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlobalBuilder").field("keys", &self.g.totals.len()).field("failed", &self.failed).finish_non_exhaustive()
    }
}

crate::journal::row_builder! {
    GlobalBuilder, GlobalRow, Global,
    /// The global, once every row was added: checks what single rows could not (a meta row,
    /// the write log's ids, the publish versions, every key of a `shard_deltas` row having a
    /// total). Its journal starts empty; a publish that was in flight is offered again.
}

impl GlobalBuilder {
    /// The tables to read first, in this order, before every other (in any order): then no
    /// row waits for another, and a rebuild holds the machine and the row in hand only. Read
    /// in another order, the `shard_deltas` rows that come before their key's `totals` row
    /// wait in a list (a `shard_deltas` row per counter and shard sorts before `totals`).
    pub const READ_FIRST: &'static [&'static str] = &["meta", "totals", "upstream.meta", "upstream.slots"];

    /// A builder of a global with this configuration ([`Global::from_rows`]).
    pub fn new(config: GlobalConfig) -> GlobalBuilder {
        GlobalBuilder::with(config, None)
    }

    /// A builder of a tiered global, its upstream shard's rows included
    /// ([`Global::from_rows_tiered`]).
    pub fn tiered(config: GlobalConfig, upstream: ShardConfig) -> GlobalBuilder {
        GlobalBuilder::with(config, Some(upstream))
    }

    fn with(config: GlobalConfig, upstream_config: Option<ShardConfig>) -> GlobalBuilder {
        GlobalBuilder {
            g: Global::new(config),
            upstream_config,
            meta: None,
            top_generation: 0,
            log: Vec::new(),
            counted: BTreeSet::new(),
            waiting: Vec::new(),
            publish: None,
            upstream: None,
            failed: None,
        }
    }

    fn add_row(&mut self, row: GlobalRow) -> Result<(), DecodeError> {
        match row {
            GlobalRow::Meta(m) => self.meta(m),
            GlobalRow::Total { key, total, generation, unpublished } => self.total(key, total, generation, unpublished),
            GlobalRow::Dedup { from, last_seq, last_seen } => self.dedup(from, last_seq, last_seen),
            GlobalRow::Write { id, record } => {
                self.log.push((id, record));
                Ok(())
            }
            GlobalRow::ShardWriteCount { shard, writes } => self.shard_count(shard, writes),
            GlobalRow::ShardDelta { shard, key, delta } => self.shard_delta(shard, key, delta),
            GlobalRow::PublishInFlight(p) => self.publish(p),
            GlobalRow::Upstream(r) => self.upstream_row(r),
            _ => Err(DecodeError::corrupt("a delete row is not a stored row")),
        }
    }

    fn meta(&mut self, m: GlobalMeta) -> Result<(), DecodeError> {
        if self.meta.replace(m).is_some() {
            return Err(DecodeError::corrupt("two meta rows"));
        }
        Ok(())
    }

    fn total(&mut self, key: Arc<str>, total: i64, generation: u64, unpublished: bool) -> Result<(), DecodeError> {
        let totals = &mut self.g.totals;
        let hash = hash_of(&key);
        if key.is_empty() || totals.find(&key, hash).is_some() {
            return Err(DecodeError::corrupt("invalid totals"));
        }
        let id = totals.insert(key, hash, total, generation);
        if unpublished {
            totals.mark_changed(&[id]);
        }
        self.top_generation = self.top_generation.max(generation);
        Ok(())
    }

    fn dedup(&mut self, from: ShardRef, last_seq: u64, last_seen: Timestamp) -> Result<(), DecodeError> {
        if self.g.dedup.insert(from, DedupEntry { last_seq, last_seen }).is_some() {
            return Err(DecodeError::corrupt("two deduplication entries for one shard life"));
        }
        Ok(())
    }

    fn shard_count(&mut self, shard: u32, writes: u64) -> Result<(), DecodeError> {
        if !self.counted.insert(shard) {
            return Err(DecodeError::corrupt("two write counts for one shard"));
        }
        self.g.shard_writes.entry(shard).or_default().writes = writes;
        Ok(())
    }

    fn shard_delta(&mut self, shard: u32, key: Arc<str>, delta: i64) -> Result<(), DecodeError> {
        match self.g.totals.id(&key) {
            Some(id) => self.restore_delta(shard, id, delta),
            None => {
                self.waiting.push((shard, key, delta));
                Ok(())
            }
        }
    }

    /// A shard's sum of a key (by id): kept as the live global keeps it (a column once the
    /// shard wrote a quarter of the keys so far, so a single shard's sums never pass through
    /// a map of every key).
    fn restore_delta(&mut self, shard: u32, id: u32, delta: i64) -> Result<(), DecodeError> {
        let keys = self.g.totals.len();
        let tally = self.g.shard_writes.entry(shard).or_default();
        if !tally.restore(id, delta) {
            return Err(DecodeError::corrupt("two deltas for one shard and key"));
        }
        tally.prepare(keys);
        Ok(())
    }

    fn publish(&mut self, p: InFlightPublish) -> Result<(), DecodeError> {
        if self.publish.replace(p).is_some() {
            return Err(DecodeError::corrupt("two publish rows"));
        }
        Ok(())
    }

    fn upstream_row(&mut self, row: ShardRow) -> Result<(), DecodeError> {
        let Some(config) = self.upstream_config else {
            return Err(DecodeError::corrupt("state of a tiered global: use restore_tiered / from_rows_tiered"));
        };
        match self.upstream.get_or_insert_with(|| Upstream::Rows(Box::new(ShardBuilder::new(config)))) {
            Upstream::Rows(b) => b.add(row),
            Upstream::Snapshot(_) => Err(DecodeError::corrupt("upstream rows and an upstream snapshot")),
        }
    }

    fn build(mut self) -> Result<Global, DecodeError> {
        let m = self.meta.ok_or_else(|| DecodeError::corrupt("no meta row"))?;
        if self.top_generation > m.generation {
            return Err(DecodeError::corrupt("invalid totals"));
        }
        let mut g = self.g;
        g.clock = m.clock;
        g.generation = m.generation;
        if m.publish.next_version == 0 || m.publish.published_version >= m.publish.next_version {
            return Err(DecodeError::corrupt("invalid publish versions"));
        }
        g.publish = m.publish;
        if let Some(f) = &self.publish {
            if f.publish.version >= g.publish.next_version {
                return Err(DecodeError::corrupt("invalid in-flight publish"));
            }
            g.outputs.push_back(GlobalOutput::Publish(f.publish.clone()));
        }
        g.publish_flight = self.publish;
        self.log.sort_unstable_by_key(|(id, _)| *id);
        let first = m.next_write_id.checked_sub(self.log.len() as u64);
        if first.is_none() || self.log.iter().zip(first.unwrap_or(0)..).any(|((id, _), want)| *id != want) {
            return Err(DecodeError::corrupt("write log ids are not contiguous up to the next id"));
        }
        g.log.restore(self.log.into_iter().map(|(_, r)| r).collect(), m.next_write_id).map_err(DecodeError::corrupt)?;
        for (shard, key, delta) in std::mem::take(&mut self.waiting) {
            let id = g.totals.id(&key).ok_or_else(|| DecodeError::corrupt("shard statistics for a key without a total"))?;
            let tally = g.shard_writes.entry(shard).or_default();
            if !tally.restore(id, delta) {
                return Err(DecodeError::corrupt("two deltas for one shard and key"));
            }
        }
        if g.shard_writes.keys().any(|shard| !self.counted.contains(shard)) {
            return Err(DecodeError::corrupt("shard deltas without a write count"));
        }
        for tally in g.shard_writes.values_mut() {
            tally.prepare(g.totals.len());
            tally.clear_changed();
        }
        g.stats = m.stats;
        g.rng = m.rng;
        g.upstream = match self.upstream {
            None => None,
            Some(Upstream::Snapshot(bytes)) => match self.upstream_config {
                Some(config) => Some(Shard::restore(&bytes, config)?),
                None => return Err(DecodeError::corrupt("state of a tiered global: use restore_tiered / from_rows_tiered")),
            },
            Some(Upstream::Rows(b)) => Some(b.finish()?),
        };
        g.drain_upstream();
        g.totals.clear_log();
        g.journal.last_meta = Some(g.meta());
        Ok(g)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::journal::RowStore;
    use crate::ShardOutput;

    /// The stored rows of a tiered global with totals, shard deltas and an upstream shard
    /// with a pending key (the forward was not cut yet).
    fn stored() -> Vec<(String, Vec<u8>)> {
        let now = Timestamp::from_millis(1);
        let up_config = ShardConfig::builder().flush_after_requests(1_000).build().unwrap();
        let up = Shard::new(up_config, ShardRef { shard: 9, incarnation: 1 });
        let mut g = Global::with_upstream(GlobalConfig::default(), up);
        for s in 0..2u32 {
            let mut shard = Shard::new(ShardConfig::default(), ShardRef { shard: s, incarnation: 1 });
            let keys: Vec<(String, i64)> = (0..20).map(|k| (format!("k{k}"), 1)).collect();
            shard.increments(&keys, now).unwrap();
            shard.flush(now);
            while let Some(ShardOutput::SendBatch(batch)) = shard.poll_output() {
                g.handle_batch(&batch, now).unwrap();
            }
        }
        let mut store = RowStore::new();
        store.apply_global(&g.take_changes());
        store.pairs().map(|(t, v)| (t.to_string(), v.to_vec())).collect()
    }

    fn waiting(b: &GlobalBuilder) -> usize {
        let up = match &b.upstream {
            Some(Upstream::Rows(s)) => s.waiting_len(),
            _ => 0,
        };
        b.waiting.len() + up
    }

    fn rank(table: &str) -> usize {
        GlobalBuilder::READ_FIRST.iter().position(|t| *t == table).unwrap_or(GlobalBuilder::READ_FIRST.len())
    }

    #[test]
    fn rows_read_in_read_first_order_never_wait() {
        let mut rows = stored();
        let upstream = ShardConfig::builder().flush_after_requests(1_000).build().unwrap();
        // The store's order (by table name) makes shard deltas and pending rows wait.
        let mut b = GlobalBuilder::tiered(GlobalConfig::default(), upstream);
        rows.iter().for_each(|(t, v)| b.add_stored(t, v).unwrap());
        assert!(waiting(&b) > 0);
        rows.sort_by_key(|(t, _)| rank(t));
        let mut b = GlobalBuilder::tiered(GlobalConfig::default(), upstream);
        for (t, v) in &rows {
            b.add_stored(t, v).unwrap();
            assert_eq!(waiting(&b), 0, "a {t} row waits");
        }
        b.finish().unwrap();
    }
}
