//! Keys: validation, and the shard's key table (interning plus pending deltas).
//!
//! A key is a non-empty UTF-8 string of at most `max_key_bytes` bytes. The shard stores each
//! key once, in a slot; [`KeyId`]s handed out by [`Shard::intern`](crate::Shard::intern)
//! are slot indices, so an increment by id is a bounds check and an add.

use crate::error::Error;
use ahash::AHashMap;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Checks a key against the bounds: non-empty and at most `max` bytes.
#[inline]
pub(crate) fn validate_key(key: &str, max: usize) -> Result<(), Error> {
    if key.is_empty() {
        return Err(Error::EmptyKey);
    }
    if key.len() > max {
        return Err(Error::KeyTooLong { len: key.len(), max });
    }
    Ok(())
}

/// A key interned in one shard by [`Shard::intern`](crate::Shard::intern).
///
/// Only meaningful for the shard that issued it (and its restored snapshots, which keep
/// every issued id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub(crate) u32);

impl KeyId {
    /// Wraps a raw id received from a binding or a wire format. Using an id the shard did
    /// not issue is a typed error ([`Error::UnknownKeyId`]), never a panic.
    pub const fn from_raw(raw: u32) -> Self {
        KeyId(raw)
    }
    /// The raw id.
    pub const fn raw(self) -> u32 {
        self.0
    }
}

/// A used slot in a snapshot: `(id, key, pinned)`.
pub(crate) type SlotEntry = (u32, Arc<str>, bool);

/// One key's slot: the key, its pending delta at the shard's current generation, and flags.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) key: Arc<str>,
    pub(crate) delta: i64,
    /// The slot has a pending delta (listed in `KeyTable::dirty`).
    pub(crate) present: bool,
    /// Issued to the host by `intern`: never freed.
    pub(crate) pinned: bool,
    /// The slot is unused (on the free list).
    pub(crate) free: bool,
    /// The pending delta changed since the journal was last taken (listed in `KeyTable::pend_log`).
    pub(crate) logged: bool,
}

impl Slot {
    fn unused() -> Slot {
        Slot { key: Arc::from(""), delta: 0, present: false, pinned: false, free: true, logged: false }
    }
}

/// Interned keys and the pending deltas of the current generation.
///
/// Free slots are reused lowest id first, so the free list is the complement of the used
/// slots and needs no storage of its own (a journal stores used slots only).
#[derive(Debug, Default)]
pub(crate) struct KeyTable {
    pub(crate) index: AHashMap<Arc<str>, u32>,
    pub(crate) slots: Vec<Slot>,
    /// Free slot ids, sorted descending (`pop` gives the lowest).
    free: Vec<u32>,
    /// Journal: slots whose pending delta changed since the last take.
    pub(crate) pend_log: Vec<u32>,
    /// Journal: every pending delta was cleared (a batch was cut) since the last take.
    pub(crate) pend_cleared: bool,
    /// Journal: slots allocated, pinned or freed since the last take.
    pub(crate) slot_log: BTreeSet<u32>,
    /// Slots with a pending delta, in first-touch order.
    pub(crate) dirty: Vec<u32>,
    pinned: usize,
    /// Each used slot's position in key order; valid while `ranks_fresh` (no slot was
    /// allocated since they were computed). Lets a stable key set be sorted by integer.
    rank: Vec<u32>,
    ranks_fresh: bool,
    /// How many slots were ranked (ranks are `0..ranked`).
    ranked: usize,
}

impl KeyTable {
    /// The slot of `key`, if it has one.
    #[inline]
    pub(crate) fn lookup(&self, key: &str) -> Option<u32> {
        self.index.get(key).copied()
    }

    /// The slot of an issued id.
    #[inline]
    pub(crate) fn pinned_slot(&self, id: KeyId) -> Result<u32, Error> {
        match self.slots.get(id.0 as usize) {
            Some(s) if s.pinned => Ok(id.0),
            _ => Err(Error::UnknownKeyId { id: id.0 }),
        }
    }

    /// Number of keys issued by `intern`.
    pub(crate) fn pinned_count(&self) -> usize {
        self.pinned
    }

    /// The slot for `key`, allocating one (unpinned) if needed. The caller validated the key.
    pub(crate) fn slot_for(&mut self, key: &str) -> u32 {
        if let Some(id) = self.lookup(key) {
            return id;
        }
        self.allocate(Arc::from(key))
    }

    /// Allocates a slot for a key that has none.
    pub(crate) fn allocate(&mut self, key: Arc<str>) -> u32 {
        let slot = Slot { key: key.clone(), delta: 0, present: false, pinned: false, free: false, logged: false };
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = slot;
                id
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(key, id);
        self.ranks_fresh = false;
        self.slot_log.insert(id);
        id
    }

    /// Marks an existing slot as issued.
    pub(crate) fn pin(&mut self, id: u32) {
        let slot = &mut self.slots[id as usize];
        if !slot.pinned {
            slot.pinned = true;
            self.pinned += 1;
            self.slot_log.insert(id);
        }
    }

    /// Adds `delta` to a slot whose new value the caller already checked.
    #[inline]
    pub(crate) fn set(&mut self, id: u32, value: i64) {
        let slot = &mut self.slots[id as usize];
        if !slot.present {
            slot.present = true;
            self.dirty.push(id);
        }
        if !slot.logged {
            slot.logged = true;
            self.pend_log.push(id);
        }
        slot.delta = value;
    }

    /// Forgets which pending deltas changed since the last take; returns their keys.
    pub(crate) fn take_pend_log(&mut self) -> Vec<Arc<str>> {
        let mut keys = Vec::with_capacity(self.pend_log.len());
        for id in self.pend_log.drain(..) {
            let slot = &mut self.slots[id as usize];
            slot.logged = false;
            keys.push(slot.key.clone());
        }
        keys
    }

    /// Journal undo: slots logged after position `from` of `pend_log` are not changed after all.
    pub(crate) fn unlog_from(&mut self, from: usize) {
        for id in self.pend_log.drain(from..) {
            self.slots[id as usize].logged = false;
        }
    }

    /// Takes every pending `(key, delta)` of the current generation, sorted by key, clearing
    /// the slots, as `make(key, delta)` values. Unpinned slots are freed when the table holds
    /// more than `keep` of them.
    pub(crate) fn take_pending<T>(&mut self, keep: usize, make: impl Fn(Arc<str>, i64) -> T) -> Vec<T> {
        self.sort_dirty();
        let mut out = Vec::with_capacity(self.dirty.len());
        for id in self.dirty.drain(..) {
            let slot = &mut self.slots[id as usize];
            out.push(make(slot.key.clone(), slot.delta));
            slot.delta = 0;
            slot.present = false;
        }
        let unpinned = self.slots.len() - self.free.len() - self.pinned;
        if unpinned > keep {
            for (id, slot) in self.slots.iter_mut().enumerate() {
                if !slot.pinned && !slot.free && !slot.present {
                    self.index.remove(&slot.key);
                    *slot = Slot::unused();
                    self.free.push(id as u32);
                    self.slot_log.insert(id as u32);
                }
            }
            self.free.sort_unstable_by(|a, b| b.cmp(a));
        }
        out
    }

    /// Sorts the pending slots by key: by cached rank when the key set is unchanged, else by
    /// comparing keys (recomputing ranks when the pending set is a large part of the table).
    fn sort_dirty(&mut self) {
        let used = self.slots.len() - self.free.len();
        if !self.ranks_fresh && self.dirty.len() * 2 >= used {
            let mut ids: Vec<u32> = (0..self.slots.len() as u32).filter(|i| !self.slots[*i as usize].free).collect();
            ids.sort_unstable_by(|a, b| self.slots[*a as usize].key.cmp(&self.slots[*b as usize].key));
            self.rank.clear();
            self.rank.resize(self.slots.len(), 0);
            for (pos, id) in ids.iter().enumerate() {
                self.rank[*id as usize] = pos as u32;
            }
            self.ranked = ids.len();
            self.ranks_fresh = true;
        }
        if self.ranks_fresh && self.dirty.len() * 8 >= self.ranked {
            // Ranks are dense in 0..ranked: place each pending slot at its rank, then compact.
            let mut by_rank = vec![u32::MAX; self.ranked];
            for id in &self.dirty {
                by_rank[self.rank[*id as usize] as usize] = *id;
            }
            self.dirty.clear();
            self.dirty.extend(by_rank.into_iter().filter(|id| *id != u32::MAX));
        } else if self.ranks_fresh {
            let rank = &self.rank;
            self.dirty.sort_unstable_by_key(|id| rank[*id as usize]);
        } else {
            let slots = &self.slots;
            self.dirty.sort_unstable_by(|a, b| slots[*a as usize].key.cmp(&slots[*b as usize].key));
        }
    }

    /// Pending `(key, delta)` of the current generation without clearing them.
    pub(crate) fn pending(&self) -> impl Iterator<Item = (&Arc<str>, i64)> {
        self.dirty.iter().map(|id| {
            let s = &self.slots[*id as usize];
            (&s.key, s.delta)
        })
    }

    /// The pending delta of a key at the current generation (0 when none).
    pub(crate) fn pending_delta(&self, key: &str) -> i64 {
        self.lookup(key).map_or(0, |id| self.slots[id as usize].delta)
    }

    /// The exact slot layout, for snapshots: the number of slots, and the used slots
    /// `(id, key, pinned)` by id (the others are free).
    pub(crate) fn export(&self) -> (u32, Vec<SlotEntry>) {
        let used = self.slots.iter().enumerate().filter(|(_, s)| !s.free).map(|(i, s)| (i as u32, s.key.clone(), s.pinned)).collect();
        (self.slots.len() as u32, used)
    }

    /// The number of slots, used and free.
    pub(crate) fn export_len(&self) -> u32 {
        self.slots.len() as u32
    }

    /// The slot row of `id` for the journal: `Some((key, pinned))` when used, `None` when free.
    pub(crate) fn slot_row(&self, id: u32) -> Option<(Arc<str>, bool)> {
        self.slots.get(id as usize).filter(|s| !s.free).map(|s| (s.key.clone(), s.pinned))
    }

    /// Rebuilds a table from [`export`](Self::export)ed parts, validating them: ids unique
    /// and below `n`, keys unique and non-empty, `n <= bound`.
    pub(crate) fn import(n: u32, used: Vec<SlotEntry>, bound: usize) -> Result<KeyTable, &'static str> {
        let n = n as usize;
        if n > bound || used.len() > n {
            return Err("key table larger than its bound");
        }
        let slots = (0..n).map(|_| Slot::unused()).collect();
        let mut t = KeyTable { slots, ..KeyTable::default() };
        for (id, key, pinned) in used {
            let i = id as usize;
            if i >= n || !t.slots[i].free || key.is_empty() || t.index.contains_key(&key) {
                return Err("invalid key slot");
            }
            t.index.insert(key.clone(), id);
            t.slots[i] = Slot { key, delta: 0, present: false, pinned, free: false, logged: false };
            if pinned {
                t.pinned += 1;
            }
        }
        t.free = (0..n as u32).rev().filter(|i| t.slots[*i as usize].free).collect();
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert_eq!(validate_key("", 4), Err(Error::EmptyKey));
        assert_eq!(validate_key("abcde", 4), Err(Error::KeyTooLong { len: 5, max: 4 }));
        assert_eq!(validate_key("abcd", 4), Ok(()));
        // Bytes, not characters.
        assert_eq!(validate_key("éé€", 6), Err(Error::KeyTooLong { len: 7, max: 6 }));
    }

    #[test]
    fn unpinned_slots_are_recycled_pinned_are_kept() {
        let mut t = KeyTable::default();
        let a = t.slot_for("a");
        t.pin(a);
        let b = t.slot_for("b");
        t.set(a, 1);
        t.set(b, 2);
        let taken = t.take_pending(0, |k, d| (k, d));
        assert_eq!(taken, vec![(Arc::from("a"), 1), (Arc::from("b"), 2)]);
        assert_eq!(t.lookup("a"), Some(a));
        assert_eq!(t.lookup("b"), None);
        assert_eq!(t.slot_for("c"), b, "freed slot reused");
        assert_eq!(t.slot_for("d"), 2);
        t.set(2, 1);
        t.take_pending(0, |k, d| (k, d));
        // Lowest free id first.
        assert_eq!((t.slot_for("e"), t.slot_for("f")), (1, 2));
        assert!(t.pinned_slot(KeyId(a)).is_ok());
        assert_eq!(t.pinned_slot(KeyId(b)), Err(Error::UnknownKeyId { id: b }));
        assert_eq!(t.pinned_slot(KeyId(99)), Err(Error::UnknownKeyId { id: 99 }));
    }

    #[test]
    fn export_import_keeps_the_exact_layout() {
        let mut t = KeyTable::default();
        for k in ["a", "b", "c", "d"] {
            t.slot_for(k);
        }
        t.pin(2);
        t.set(0, 5);
        t.take_pending(0, |k, d| (k, d));
        let (n, used) = t.export();
        let mut back = KeyTable::import(n, used.clone(), 100).unwrap();
        assert_eq!(back.export(), (n, used.clone()));
        assert_eq!(back.slot_for("zz"), t.slot_for("zz"));
        assert!(KeyTable::import(n, used.clone(), 2).is_err());
        let mut dup = used.clone();
        dup.push((2, Arc::from("q"), false));
        assert!(KeyTable::import(n, dup, 100).is_err(), "two keys in one slot");
        let mut dup = used.clone();
        dup.push((0, Arc::from("c"), false));
        assert!(KeyTable::import(n, dup, 100).is_err(), "one key in two slots");
        let mut beyond = used.clone();
        beyond.push((n, Arc::from("q"), false));
        assert!(KeyTable::import(n, beyond, 100).is_err(), "a slot beyond the count");
    }
}
