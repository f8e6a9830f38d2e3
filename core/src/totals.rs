//! The global's key table: totals, generations and change flags, indexed by a dense key id.
//!
//! Keys are never removed (a reset keeps the key at zero with a higher generation), so ids
//! are stable. Finding a key's id costs one lookup in the key index by the key's hash,
//! which a batch cut by a shard of this process carries (no string hashing);
//! everything after that is by id. Sorted views use a cached key order, extended (not
//! rebuilt) when keys were added.
//!
//! Per key: the entry (key, total, hash, flags: 32 bytes) and its index word. Generations
//! are kept apart for the few keys that have one (reset keys). The journal's list of changed
//! rows costs nothing for keys added since the last take: every id from `log_mark` on is
//! changed.

use crate::keys::{hash_of, KeyIndex};
use ahash::AHashMap;
use std::borrow::Cow;
use std::sync::Arc;

/// Changed since the last publish was cut (listed in `Totals::dirty`).
const UNPUBLISHED: u8 = 1;
/// Journal: changed since the last take (listed in `Totals::log`, or at or after `log_mark`).
const LOGGED: u8 = 2;
/// Has a generation in `Totals::generations`.
const GENERATION: u8 = 4;

#[derive(Debug)]
pub(crate) struct KeyEntry {
    pub(crate) key: Arc<str>,
    pub(crate) total: i64,
    hash: u32,
    flags: u8,
}

#[derive(Debug, Default)]
pub(crate) struct Totals {
    index: KeyIndex,
    keys: Vec<KeyEntry>,
    /// The generation of every key that has one (> 0).
    generations: AHashMap<u32, u64>,
    dirty: Vec<u32>,
    /// Journal: ids below `log_mark` whose row changed since the last take (every id from
    /// `log_mark` on was added since, and changed).
    log: Vec<u32>,
    log_mark: u32,
    /// Ids `0..order.len()`, sorted by key.
    order: Vec<u32>,
}

impl Totals {
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The id of `key`.
    pub(crate) fn id(&self, key: &str) -> Option<u32> {
        self.find(key, hash_of(key))
    }

    /// The id of `key`, whose hash is `hash`.
    #[inline(always)]
    pub(crate) fn find(&self, key: &str, hash: u32) -> Option<u32> {
        let keys = &self.keys;
        self.index.find(hash, key, |id| &keys[id as usize].key)
    }

    #[inline]
    pub(crate) fn entry(&self, id: u32) -> &KeyEntry {
        &self.keys[id as usize]
    }

    pub(crate) fn get(&self, key: &str) -> Option<&KeyEntry> {
        self.id(key).map(|id| self.entry(id))
    }

    /// A key's generation (0 if it never had one).
    #[inline]
    pub(crate) fn generation(&self, id: u32) -> u64 {
        if self.keys[id as usize].flags & GENERATION == 0 {
            return 0;
        }
        self.generations.get(&id).copied().unwrap_or(0)
    }

    fn set_generation(&mut self, id: u32, generation: u64) {
        let e = &mut self.keys[id as usize];
        if generation == 0 {
            e.flags &= !GENERATION;
            self.generations.remove(&id);
        } else {
            e.flags |= GENERATION;
            self.generations.insert(id, generation);
        }
    }

    /// Adds a key with a starting total; returns its id. The caller checked it is new and
    /// passes its hash.
    pub(crate) fn insert(&mut self, key: Arc<str>, hash: u32, total: i64, generation: u64) -> u32 {
        let id = self.keys.len() as u32;
        self.keys.push(KeyEntry { key, total, hash, flags: LOGGED });
        let keys = &self.keys;
        self.index.insert(hash, id, |id| keys[id as usize].hash);
        if generation > 0 {
            self.set_generation(id, generation);
        }
        id
    }

    /// Room for `more` keys without growing.
    pub(crate) fn reserve(&mut self, more: usize) {
        self.keys.reserve(more);
        let keys = &self.keys;
        self.index.reserve(more, |id| keys[id as usize].hash);
    }

    #[inline]
    fn log_row(&mut self, id: u32) {
        let e = &mut self.keys[id as usize];
        if e.flags & LOGGED == 0 {
            e.flags |= LOGGED;
            self.log.push(id);
        }
    }

    /// Whether a key changed since the last publish was cut.
    pub(crate) fn is_unpublished(&self, id: u32) -> bool {
        self.keys[id as usize].flags & UNPUBLISHED != 0
    }

    /// Journal: the ids whose row changed since the last take, sorted by key.
    pub(crate) fn take_log(&mut self) -> Vec<u32> {
        let mut ids = std::mem::take(&mut self.log);
        ids.extend(self.log_mark..self.keys.len() as u32);
        self.log_mark = self.keys.len() as u32;
        let ids = self.sort_flagged(ids, LOGGED);
        for id in &ids {
            self.keys[*id as usize].flags &= !LOGGED;
        }
        ids
    }

    /// Journal: forgets every change (the store holds the state).
    pub(crate) fn clear_log(&mut self) {
        for id in std::mem::take(&mut self.log) {
            self.keys[id as usize].flags &= !LOGGED;
        }
        for e in &mut self.keys[self.log_mark as usize..] {
            e.flags &= !LOGGED;
        }
        self.log_mark = self.keys.len() as u32;
    }

    /// Adds a delta the caller checked does not overflow, and marks the key changed.
    #[inline]
    pub(crate) fn add(&mut self, id: u32, delta: i64) {
        let e = &mut self.keys[id as usize];
        e.total += delta;
        if e.flags & (UNPUBLISHED | LOGGED) != UNPUBLISHED | LOGGED {
            self.mark(id, delta);
        }
    }

    /// A key changed by `delta`: unpublished, and a journal row when its row changed.
    fn mark(&mut self, id: u32, delta: i64) {
        let e = &mut self.keys[id as usize];
        let newly = e.flags & UNPUBLISHED == 0;
        if newly {
            e.flags |= UNPUBLISHED;
            self.dirty.push(id);
        }
        if newly || delta != 0 {
            self.log_row(id);
        }
    }

    /// Zeroes a key under a new generation and marks it changed.
    pub(crate) fn reset(&mut self, id: u32, generation: u64) {
        self.keys[id as usize].total = 0;
        self.set_generation(id, generation);
        self.add(id, 0);
        self.log_row(id);
    }

    pub(crate) fn has_changes(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Takes the changed ids, sorted by key, clearing their flags.
    pub(crate) fn take_changes(&mut self) -> Vec<u32> {
        let ids = std::mem::take(&mut self.dirty);
        let ids = self.sort_flagged(ids, UNPUBLISHED);
        for id in &ids {
            self.keys[*id as usize].flags &= !UNPUBLISHED;
            self.log_row(*id);
        }
        ids
    }

    /// Sorts ids (each with `flag` set) by key: a large share of the keys by walking the
    /// cached order, a few by comparing keys.
    fn sort_flagged(&mut self, mut ids: Vec<u32>, flag: u8) -> Vec<u32> {
        if ids.len() * 8 >= self.keys.len() && ids.len() > 64 {
            self.refresh_order();
            let keys = &self.keys;
            return self.order.iter().copied().filter(|id| keys[*id as usize].flags & flag != 0).collect();
        }
        let keys = &self.keys;
        ids.sort_unstable_by(|a, b| keys[*a as usize].key.cmp(&keys[*b as usize].key));
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
            Cow::Owned(self.extended_order())
        }
    }

    /// Extends the cached order with the keys added since.
    pub(crate) fn refresh_order(&mut self) {
        if self.order.len() != self.keys.len() {
            self.order = self.extended_order();
        }
    }

    /// The cached order merged with the keys added since it was made (sorted on their own).
    fn extended_order(&self) -> Vec<u32> {
        let keys = &self.keys;
        let by_key = |a: &u32, b: &u32| keys[*a as usize].key.cmp(&keys[*b as usize].key);
        let mut added: Vec<u32> = (self.order.len() as u32..keys.len() as u32).collect();
        added.sort_unstable_by(by_key);
        let mut out = Vec::with_capacity(keys.len());
        let (mut old, mut new) = (self.order.iter().peekable(), added.iter().peekable());
        while let (Some(a), Some(b)) = (old.peek(), new.peek()) {
            if by_key(a, b).is_le() {
                out.extend(old.next());
            } else {
                out.extend(new.next());
            }
        }
        out.extend(old);
        out.extend(new);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(t: &mut Totals, key: &str) -> u32 {
        t.insert(key.into(), hash_of(key), 0, 0)
    }

    #[test]
    fn changes_come_out_sorted_and_once() {
        let mut t = Totals::default();
        let b = insert(&mut t, "b");
        let a = insert(&mut t, "a");
        t.add(b, 2);
        t.add(a, 1);
        t.add(b, 2);
        assert_eq!(t.take_changes(), vec![a, b]);
        assert!(!t.has_changes());
        let c = insert(&mut t, "c");
        t.add(c, 1);
        t.mark_changed(&[a]);
        assert_eq!(t.take_changes(), vec![a, c]);
        assert_eq!(t.entry(b).total, 4);
        assert_eq!(&*t.sorted(), &[a, b, c]);
        t.reset(b, 3);
        assert_eq!((t.entry(b).total, t.generation(b)), (0, 3));
        assert!(t.is_unpublished(b) && !t.is_unpublished(a));
        assert_eq!(t.take_log(), vec![a, b, c], "the journal lists each changed row once, by key");
        assert_eq!(t.take_log(), Vec::<u32>::new());
        assert_eq!((t.id("a"), t.id("b"), t.id("z")), (Some(a), Some(b), None));
    }

    #[test]
    fn the_order_is_extended_and_large_change_sets_are_sorted_by_it() {
        let mut t = Totals::default();
        let keys: Vec<String> = (0..500).map(|i| format!("k{}", (i * 7919) % 1000)).collect();
        for k in &keys[..300] {
            insert(&mut t, k);
        }
        t.refresh_order();
        for k in &keys[300..] {
            insert(&mut t, k);
        }
        let by_key = |t: &Totals, ids: &[u32]| ids.iter().map(|id| t.entry(*id).key.to_string()).collect::<Vec<_>>();
        let mut want = keys.clone();
        want.sort();
        assert_eq!(by_key(&t, &t.sorted()), want, "a stale order is merged with the added keys");
        for id in 0..500 {
            t.add(id, 1);
        }
        let changed = t.take_changes();
        assert_eq!(by_key(&t, &changed), want);
        assert_eq!(t.take_log().len(), 500);
        t.add(3, 1);
        t.add(1, 1);
        let small = t.take_log();
        assert_eq!(small.len(), 2);
        assert!(t.entry(small[0]).key < t.entry(small[1]).key);
    }
}
