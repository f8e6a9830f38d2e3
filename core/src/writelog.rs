//! The global's bounded write log and per-shard write statistics (the
//! `/global/writes` and `/global/shardWrites` views of do-counter-sharding, whose log grew
//! without bound).

use crate::message::ShardRef;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;

/// One entry of the write log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteRecord {
    /// When the global applied it.
    pub at: Timestamp,
    /// What was written.
    pub kind: WriteKind,
}

/// What a write-log entry records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum WriteKind {
    /// A batch was applied.
    Batch {
        /// The shard life that sent it.
        from: ShardRef,
        /// Its sequence number.
        seq: u64,
        /// Number of entries applied.
        keys: u32,
        /// The first `write_log_keys_per_write` applied `(key, delta)` entries, by key.
        entries: Vec<(Arc<str>, i64)>,
        /// Applied entries not listed in `entries`.
        omitted: u32,
    },
    /// A key was reset.
    Reset {
        /// The key.
        key: Arc<str>,
        /// Its total before the reset.
        previous: i64,
        /// Its new generation.
        generation: u64,
    },
}

impl WriteKind {
    /// A batch record: `applied` entries in all, of which `listed` are kept.
    pub(crate) fn batch(from: ShardRef, seq: u64, applied: usize, listed: Vec<(Arc<str>, i64)>) -> WriteKind {
        let omitted = applied - listed.len();
        WriteKind::Batch {
            from,
            seq,
            keys: u32::try_from(applied).unwrap_or(u32::MAX),
            entries: listed,
            omitted: u32::try_from(omitted).unwrap_or(u32::MAX),
        }
    }
}

/// A ring of the most recent writes. Each stored record has an id, one more than the
/// previous record's (the journal's `writes` table is keyed by it).
#[derive(Debug)]
pub(crate) struct WriteLog {
    capacity: usize,
    keys_per_write: usize,
    ring: VecDeque<WriteRecord>,
    /// The id the next record gets; the ring holds ids `next_id - len .. next_id`.
    next_id: u64,
    /// Journal: records with ids from here on were appended since the last take.
    logged_from: u64,
    /// Journal: records were dropped since the last take.
    trimmed: bool,
}

impl WriteLog {
    pub(crate) fn new(capacity: usize, keys_per_write: usize) -> Self {
        WriteLog { capacity, keys_per_write, ring: VecDeque::with_capacity(capacity.min(1024)), next_id: 0, logged_from: 0, trimmed: false }
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.next_id
    }

    /// The id of the oldest record held (`next_id` when empty).
    pub(crate) fn first_id(&self) -> u64 {
        self.next_id - self.ring.len() as u64
    }

    /// Journal: `(trim every id below this, if records were dropped; records appended)`.
    pub(crate) fn take_log(&mut self) -> (Option<u64>, Vec<(u64, WriteRecord)>) {
        let first = self.first_id();
        let from = self.logged_from.max(first);
        let added = self.ring.iter().skip((from - first) as usize).cloned().zip(from..).map(|(r, id)| (id, r)).collect();
        let trim = std::mem::take(&mut self.trimmed).then_some(first);
        self.logged_from = self.next_id;
        (trim, added)
    }

    /// Every record with its id, oldest first.
    pub(crate) fn records_with_ids(&self) -> Vec<(u64, WriteRecord)> {
        self.ring.iter().cloned().zip(self.first_id()..).map(|(r, id)| (id, r)).collect()
    }

    pub(crate) fn keys_per_write(&self) -> usize {
        self.keys_per_write
    }

    /// Appends a record, dropping the oldest beyond the capacity.
    pub(crate) fn push(&mut self, record: WriteRecord) {
        if self.capacity == 0 {
            return;
        }
        if self.ring.len() == self.capacity {
            self.ring.pop_front();
            self.trimmed = true;
        }
        self.ring.push_back(record);
        self.next_id += 1;
    }

    pub(crate) fn newest_first(&self) -> impl Iterator<Item = &WriteRecord> {
        self.ring.iter().rev()
    }

    /// Oldest first, for snapshots.
    pub(crate) fn records(&self) -> Vec<WriteRecord> {
        self.ring.iter().cloned().collect()
    }

    /// Refills from a snapshot: `records` end just before `next_id` (the newest `capacity`
    /// are kept; dropping older ones is a change for the journal).
    pub(crate) fn restore(&mut self, records: Vec<WriteRecord>, next_id: u64) -> Result<(), &'static str> {
        if (records.len() as u64) > next_id {
            return Err("write log ids out of range");
        }
        let skip = records.len().saturating_sub(self.capacity);
        self.ring = records.into_iter().skip(skip).collect();
        self.next_id = next_id;
        self.logged_from = next_id;
        self.trimmed = skip > 0;
        Ok(())
    }
}

/// What one shard index has written to the global.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardWrites {
    /// Batches applied from it (all incarnations).
    pub writes: u64,
    /// Summed applied deltas per key, sorted by key (saturating at the `i64` bounds).
    pub deltas: Vec<(Arc<str>, i64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seq: u64) -> WriteRecord {
        WriteRecord {
            at: Timestamp::from_millis(seq),
            kind: WriteKind::batch(ShardRef { shard: 0, incarnation: 0 }, seq, 2, vec![("a".into(), 1)]),
        }
    }

    #[test]
    fn ring_keeps_the_newest() {
        let mut log = WriteLog::new(2, 1);
        for s in 1..=3 {
            log.push(rec(s));
        }
        let seqs: Vec<u64> = log.newest_first().map(|r| r.at.as_millis()).collect();
        assert_eq!(seqs, vec![3, 2]);
        let WriteKind::Batch { keys, entries, omitted, .. } = &rec(1).kind else { panic!() };
        assert_eq!((*keys, entries.len(), *omitted), (2, 1, 1));
        let mut none = WriteLog::new(0, 1);
        none.push(rec(1));
        assert_eq!(none.newest_first().count(), 0);
    }

    #[test]
    fn ids_and_journal() {
        let mut log = WriteLog::new(2, 1);
        log.push(rec(1));
        assert_eq!(log.take_log(), (None, vec![(0, rec(1))]));
        log.push(rec(2));
        log.push(rec(3));
        log.push(rec(4));
        // Record 2 (id 1) came and went between takes: only the survivors are listed.
        assert_eq!(log.take_log(), (Some(2), vec![(2, rec(3)), (3, rec(4))]));
        assert_eq!(log.take_log(), (None, vec![]));
        assert_eq!(log.records_with_ids(), vec![(2, rec(3)), (3, rec(4))]);
    }
}
