//! The global's key table: totals, generations and change flags, indexed by a dense key id.
//!
//! Keys are never removed (a reset keeps the key at zero with a higher generation), so ids
//! are stable. A merge costs one string hash per entry; everything after that is by id.
//! Sorted views use a cached key order, rebuilt only when keys were added.

use ahash::AHashMap;
use std::borrow::Cow;
use std::sync::Arc;

#[derive(Debug)]
pub(crate) struct KeyEntry {
    pub(crate) key: Arc<str>,
    pub(crate) total: i64,
    pub(crate) generation: u64,
    /// Changed since the last publish was cut (listed in `Totals::dirty`).
    dirty: bool,
    /// Changed since the journal was last taken (listed in `Totals::log`).
    logged: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Totals {
    index: AHashMap<Arc<str>, u32>,
    keys: Vec<KeyEntry>,
    dirty: Vec<u32>,
    /// Journal: ids whose row changed since the last take.
    log: Vec<u32>,
    /// Ids sorted by key (fresh when it covers every key) and each id's position in it.
    order: Vec<u32>,
    rank: Vec<u32>,
}

impl Totals {
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    #[inline]
    pub(crate) fn id(&self, key: &str) -> Option<u32> {
        self.index.get(key).copied()
    }

    #[inline]
    pub(crate) fn entry(&self, id: u32) -> &KeyEntry {
        &self.keys[id as usize]
    }

    pub(crate) fn get(&self, key: &str) -> Option<&KeyEntry> {
        self.id(key).map(|id| self.entry(id))
    }

    /// Adds a key with a starting total; returns its id. The caller checked it is new.
    pub(crate) fn insert(&mut self, key: Arc<str>, total: i64, generation: u64) -> u32 {
        let id = self.keys.len() as u32;
        self.index.insert(key.clone(), id);
        self.keys.push(KeyEntry { key, total, generation, dirty: false, logged: false });
        self.log_row(id);
        id
    }

    #[inline]
    fn log_row(&mut self, id: u32) {
        let e = &mut self.keys[id as usize];
        if !e.logged {
            e.logged = true;
            self.log.push(id);
        }
    }

    /// Whether a key changed since the last publish was cut.
    pub(crate) fn is_unpublished(&self, id: u32) -> bool {
        self.keys[id as usize].dirty
    }

    /// Journal: the ids whose row changed since the last take, sorted by key.
    pub(crate) fn take_log(&mut self) -> Vec<u32> {
        let mut ids = std::mem::take(&mut self.log);
        for id in &ids {
            self.keys[*id as usize].logged = false;
        }
        let keys = &self.keys;
        ids.sort_unstable_by(|a, b| keys[*a as usize].key.cmp(&keys[*b as usize].key));
        ids
    }

    /// Journal: forgets every change (the store holds the state).
    pub(crate) fn clear_log(&mut self) {
        self.take_log();
    }

    /// Adds a delta the caller checked does not overflow, and marks the key changed.
    #[inline]
    pub(crate) fn add(&mut self, id: u32, delta: i64) {
        let e = &mut self.keys[id as usize];
        e.total += delta;
        let newly = !e.dirty;
        if newly {
            e.dirty = true;
            self.dirty.push(id);
        }
        if newly || delta != 0 {
            self.log_row(id);
        }
    }

    /// Zeroes a key under a new generation and marks it changed.
    pub(crate) fn reset(&mut self, id: u32, generation: u64) {
        let e = &mut self.keys[id as usize];
        e.total = 0;
        e.generation = generation;
        self.add(id, 0);
        self.log_row(id);
    }

    pub(crate) fn has_changes(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Takes the changed ids, sorted by key, clearing their flags.
    pub(crate) fn take_changes(&mut self) -> Vec<u32> {
        self.refresh_order();
        let mut ids = std::mem::take(&mut self.dirty);
        for id in &ids {
            self.keys[*id as usize].dirty = false;
            self.log_row(*id);
        }
        let rank = &self.rank;
        ids.sort_unstable_by_key(|id| rank[*id as usize]);
        ids
    }

    /// Marks keys changed again (a publish carrying them failed).
    pub(crate) fn mark_changed(&mut self, ids: &[u32]) {
        for id in ids {
            self.add(*id, 0);
        }
    }

    /// Every id, sorted by key.
    pub(crate) fn sorted(&self) -> Cow<'_, [u32]> {
        if self.order.len() == self.keys.len() {
            Cow::Borrowed(&self.order)
        } else {
            Cow::Owned(self.compute_order())
        }
    }

    /// Rebuilds the cached order if keys were added since.
    pub(crate) fn refresh_order(&mut self) {
        if self.order.len() != self.keys.len() {
            self.order = self.compute_order();
            self.rank = vec![0; self.keys.len()];
            for (pos, id) in self.order.iter().enumerate() {
                self.rank[*id as usize] = pos as u32;
            }
        }
    }

    fn compute_order(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = (0..self.keys.len() as u32).collect();
        ids.sort_unstable_by(|a, b| self.keys[*a as usize].key.cmp(&self.keys[*b as usize].key));
        ids
    }
}

/// What one shard index has written, by key id.
#[derive(Debug, Default, Clone)]
pub(crate) struct ShardTally {
    pub(crate) writes: u64,
    pub(crate) deltas: AHashMap<u32, i64>,
}

impl ShardTally {
    #[inline]
    pub(crate) fn add(&mut self, id: u32, delta: i64) {
        let v = self.deltas.entry(id).or_insert(0);
        *v = v.saturating_add(delta);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_come_out_sorted_and_once() {
        let mut t = Totals::default();
        let b = t.insert("b".into(), 0, 0);
        let a = t.insert("a".into(), 0, 0);
        t.add(b, 2);
        t.add(a, 1);
        t.add(b, 2);
        assert_eq!(t.take_changes(), vec![a, b]);
        assert!(!t.has_changes());
        let c = t.insert("c".into(), 0, 0);
        t.add(c, 1);
        t.mark_changed(&[a]);
        assert_eq!(t.take_changes(), vec![a, c]);
        assert_eq!(t.entry(b).total, 4);
        assert_eq!(&*t.sorted(), &[a, b, c]);
        t.reset(b, 3);
        assert_eq!((t.entry(b).total, t.entry(b).generation), (0, 3));
        assert!(t.is_unpublished(b) && !t.is_unpublished(a));
        assert_eq!(t.take_log(), vec![a, b, c], "the journal lists each changed row once, by key");
    }
}
