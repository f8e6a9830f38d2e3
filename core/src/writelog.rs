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

/// A ring of the most recent writes.
#[derive(Debug)]
pub(crate) struct WriteLog {
    capacity: usize,
    keys_per_write: usize,
    ring: VecDeque<WriteRecord>,
}

impl WriteLog {
    pub(crate) fn new(capacity: usize, keys_per_write: usize) -> Self {
        WriteLog { capacity, keys_per_write, ring: VecDeque::with_capacity(capacity.min(1024)) }
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
        }
        self.ring.push_back(record);
    }

    pub(crate) fn newest_first(&self) -> impl Iterator<Item = &WriteRecord> {
        self.ring.iter().rev()
    }

    /// Oldest first, for snapshots.
    pub(crate) fn records(&self) -> Vec<WriteRecord> {
        self.ring.iter().cloned().collect()
    }

    /// Refills from a snapshot (keeping the newest `capacity`).
    pub(crate) fn restore(&mut self, records: Vec<WriteRecord>) {
        for r in records {
            self.push(r);
        }
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
}
