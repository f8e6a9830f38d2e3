//! Keys: validation, and the shard's key table (interning plus pending deltas).
//!
//! A key is a non-empty UTF-8 string of at most `max_key_bytes` bytes. The shard stores each
//! key once, in a slot next to its pending delta; [`KeyId`]s handed out by
//! [`Shard::intern`](crate::Shard::intern) are slot indices, so an increment by id is a
//! bounds check and an add, and a keyed increment is a lookup in the key index (see
//! `index`) and an add.

use crate::error::Error;
use crate::message::BatchEntry;
use std::sync::Arc;

mod index;

pub(crate) use index::{hash_of, KeyIndex};

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

/// A raw id as [`KeyId::from_raw`]: lets [`Shard::increment_ids`](crate::Shard::increment_ids)
/// read a binding's `u32` array in place.
impl From<u32> for KeyId {
    fn from(raw: u32) -> Self {
        KeyId(raw)
    }
}

/// A used slot in a snapshot: `(id, key, pinned)`.
pub(crate) type SlotEntry = (u32, Arc<str>, bool);

/// The slot has a pending delta (listed in `KeyTable::dirty`).
const PRESENT: u8 = 1;
/// Issued to the host by `intern`: never freed.
const PINNED: u8 = 2;
/// The slot is unused (on the free list).
const FREE: u8 = 4;
/// Journal: the pending delta changed since the last take (implies `PRESENT`).
const LOGGED: u8 = 8;
/// Journal: the slot (key, pinned, used or free) changed since the last take.
const SLOT_LOGGED: u8 = 16;

/// One key's slot: the key, its pending delta at the shard's current generation, its hash
/// and flags (32 bytes).
#[derive(Debug)]
pub(crate) struct Slot {
    key: Arc<str>,
    delta: i64,
    hash: u32,
    flags: u8,
}

impl Slot {
    /// The key (empty for a free slot).
    #[inline]
    pub(crate) fn key(&self) -> &Arc<str> {
        &self.key
    }
    /// The pending delta at the current generation (0 when none).
    #[inline]
    pub(crate) fn delta(&self) -> i64 {
        self.delta
    }
    /// Whether the slot has a pending delta.
    #[inline]
    pub(crate) fn is_present(&self) -> bool {
        self.flags & PRESENT != 0
    }
    /// Whether the slot was issued by `intern`.
    #[inline]
    pub(crate) fn is_pinned(&self) -> bool {
        self.flags & PINNED != 0
    }
    fn is_free(&self) -> bool {
        self.flags & FREE != 0
    }
}

/// Where the journal marks stood, to undo a rejected request exactly.
#[derive(Clone, Copy)]
pub(crate) struct Mark {
    dirty: usize,
    pend_old: usize,
}

/// Interned keys and the pending deltas of the current generation.
///
/// Free slots are reused lowest id first, so the free list is the complement of the used
/// slots and needs no storage of its own (a journal stores used slots only).
///
/// The journal's marks cost nothing per key in the common cases: every slot that became
/// pending since the last take is in `dirty[pend_mark..]`, and every slot created since the
/// last take has an id `>= slot_mark`; only older ones that change again are listed.
#[derive(Debug)]
pub(crate) struct KeyTable {
    index: KeyIndex,
    slots: Vec<Slot>,
    /// The key of free slots (one shared allocation).
    empty: Arc<str>,
    /// Free slot ids, sorted descending (`pop` gives the lowest).
    free: Vec<u32>,
    /// Slots with a pending delta, in first-touch order.
    dirty: Vec<u32>,
    /// Journal: `dirty[pend_mark..]` became pending since the last take.
    pend_mark: usize,
    /// Journal: slots in `dirty[..pend_mark]` whose pending delta changed since the last take.
    pend_old: Vec<u32>,
    /// Journal: every pending delta was cleared (a batch was cut) since the last take.
    pub(crate) pend_cleared: bool,
    /// Journal: slots with ids `>= slot_mark` were created since the last take.
    slot_mark: u32,
    /// Journal: slots below `slot_mark` allocated, pinned or freed since the last take.
    slot_old: Vec<u32>,
    pinned: usize,
    /// Each used slot's position in key order; valid while `ranks_fresh` (no slot was
    /// allocated since they were computed). Lets a stable key set be sorted by integer.
    rank: Vec<u32>,
    ranks_fresh: bool,
    /// How many slots were ranked (ranks are `0..ranked`).
    ranked: usize,
}

impl Default for KeyTable {
    fn default() -> Self {
        KeyTable {
            index: KeyIndex::default(),
            slots: Vec::new(),
            empty: Arc::from(""),
            free: Vec::new(),
            dirty: Vec::new(),
            pend_mark: 0,
            pend_old: Vec::new(),
            pend_cleared: false,
            slot_mark: 0,
            slot_old: Vec::new(),
            pinned: 0,
            rank: Vec::new(),
            ranks_fresh: false,
            ranked: 0,
        }
    }
}

impl KeyTable {
    /// The slot of `key` (whose hash is `hash`), if it has one.
    #[inline(always)]
    pub(crate) fn find(&self, key: &str, hash: u32) -> Option<u32> {
        let slots = &self.slots;
        self.index.find(hash, key, |id| &slots[id as usize].key)
    }

    /// The slot of `key`, if it has one.
    pub(crate) fn lookup(&self, key: &str) -> Option<u32> {
        self.find(key, hash_of(key))
    }

    /// A slot by id (the caller got the id from this table).
    #[inline]
    pub(crate) fn slot(&self, id: u32) -> &Slot {
        &self.slots[id as usize]
    }

    /// The slot of an issued id.
    #[inline]
    pub(crate) fn pinned_slot(&self, id: KeyId) -> Result<u32, Error> {
        match self.slots.get(id.0 as usize) {
            Some(s) if s.is_pinned() => Ok(id.0),
            _ => Err(Error::UnknownKeyId { id: id.0 }),
        }
    }

    /// Number of keys issued by `intern`.
    pub(crate) fn pinned_count(&self) -> usize {
        self.pinned
    }

    /// Number of slots with a pending delta.
    #[inline]
    pub(crate) fn pending_len(&self) -> usize {
        self.dirty.len()
    }

    /// The slot for `key`, allocating one (unpinned) if needed. The caller validated the key.
    pub(crate) fn slot_for(&mut self, key: &str, hash: u32) -> u32 {
        if let Some(id) = self.find(key, hash) {
            return id;
        }
        self.allocate(Arc::from(key), hash)
    }

    /// Allocates a slot for a key that has none.
    pub(crate) fn allocate(&mut self, key: Arc<str>, hash: u32) -> u32 {
        let id = match self.free.pop() {
            Some(id) => {
                let slot = &mut self.slots[id as usize];
                *slot = Slot { key, delta: 0, hash, flags: slot.flags & SLOT_LOGGED };
                id
            }
            None => {
                self.slots.push(Slot { key, delta: 0, hash, flags: 0 });
                (self.slots.len() - 1) as u32
            }
        };
        let slots = &self.slots;
        self.index.insert(hash, id, |id| slots[id as usize].hash);
        self.ranks_fresh = false;
        self.log_slot(id);
        id
    }

    /// Marks an existing slot as issued.
    pub(crate) fn pin(&mut self, id: u32) {
        let slot = &mut self.slots[id as usize];
        if !slot.is_pinned() {
            slot.flags |= PINNED;
            self.pinned += 1;
            self.log_slot(id);
        }
    }

    /// Journal: the slot row of `id` changed.
    fn log_slot(&mut self, id: u32) {
        let slot = &mut self.slots[id as usize];
        if id < self.slot_mark && slot.flags & SLOT_LOGGED == 0 {
            slot.flags |= SLOT_LOGGED;
            self.slot_old.push(id);
        }
    }

    /// Sets the pending delta of a slot to a value the caller checked.
    #[inline]
    pub(crate) fn set(&mut self, id: u32, value: i64) {
        let slot = &mut self.slots[id as usize];
        slot.delta = value;
        if slot.flags & (PRESENT | LOGGED) != PRESENT | LOGGED {
            self.mark_changed(id);
        }
    }

    /// Adds `delta` to a slot that is already pending and logged (the common case), when it
    /// does not overflow; false, changing nothing, otherwise.
    #[inline(always)]
    pub(crate) fn add_hot(&mut self, id: u32, delta: i64) -> bool {
        let slot = &mut self.slots[id as usize];
        if slot.flags & (PRESENT | LOGGED) == PRESENT | LOGGED {
            if let Some(value) = slot.delta.checked_add(delta) {
                slot.delta = value;
                return true;
            }
        }
        false
    }

    /// Adds `deltas[i]` to the pending delta of `ids[i]` for every `i` (equal lengths), in
    /// order, stopping at the first [`Error::UnknownKeyId`] or [`Error::Overflow`]: returns
    /// how many were added, and the error if any (the failing one changed nothing).
    #[inline]
    pub(crate) fn add_pinned<I: Copy + Into<KeyId>>(&mut self, ids: &[I], deltas: &[i64]) -> (usize, Option<Error>) {
        let n = ids.len().min(deltas.len());
        let mut i = 0;
        while i < n {
            // Slots already pinned, pending and logged (and no other flag: a slot changed since
            // the journal was taken takes the slow path): a bounds check, a compare and an add.
            let slots = &mut self.slots[..];
            'pairs: for (id, delta) in ids[i..n].chunks_exact(2).zip(deltas[i..n].chunks_exact(2)) {
                for k in 0..2 {
                    let Some(slot) = slots.get_mut(id[k].into().0 as usize) else { break 'pairs };
                    if slot.flags != PINNED | PRESENT | LOGGED {
                        break 'pairs;
                    }
                    let Some(value) = slot.delta.checked_add(delta[k]) else { break 'pairs };
                    slot.delta = value;
                    i += 1;
                }
            }
            for (id, delta) in ids[i..n].iter().zip(&deltas[i..n]) {
                let Some(slot) = slots.get_mut((*id).into().0 as usize) else { break };
                if slot.flags != PINNED | PRESENT | LOGGED {
                    break;
                }
                let Some(value) = slot.delta.checked_add(*delta) else { break };
                slot.delta = value;
                i += 1;
            }
            if i == n {
                break;
            }
            let (id, delta) = (ids[i].into(), deltas[i]);
            let Some(slot) = self.slots.get_mut(id.0 as usize) else { return (i, Some(Error::UnknownKeyId { id: id.0 })) };
            let Some(value) = slot.delta.checked_add(delta).filter(|_| slot.flags & PINNED != 0) else {
                return (i, Some(Self::add_error(slot, id, delta)));
            };
            slot.delta = value;
            self.mark_changed(id.0);
            i += 1;
        }
        (i, None)
    }

    #[cold]
    fn add_error(slot: &Slot, id: KeyId, delta: i64) -> Error {
        if slot.is_pinned() {
            Error::Overflow { key: slot.key.to_string(), current: slot.delta, delta }
        } else {
            Error::UnknownKeyId { id: id.0 }
        }
    }

    /// The slot's pending delta changed: list it as pending and as changed for the journal.
    fn mark_changed(&mut self, id: u32) {
        let slot = &mut self.slots[id as usize];
        if slot.flags & PRESENT == 0 {
            slot.flags |= PRESENT | LOGGED;
            self.dirty.push(id);
        } else if slot.flags & LOGGED == 0 {
            slot.flags |= LOGGED;
            self.pend_old.push(id);
        }
    }

    /// Where the pending and journal lists stand, for [`undo_to`](Self::undo_to).
    #[inline]
    pub(crate) fn mark(&self) -> Mark {
        Mark { dirty: self.dirty.len(), pend_old: self.pend_old.len() }
    }

    /// Forgets that slots became pending or changed after `mark` (their deltas the caller
    /// restored): the lists and flags are as they were at the mark.
    pub(crate) fn undo_to(&mut self, mark: Mark) {
        for id in self.dirty.drain(mark.dirty..) {
            self.slots[id as usize].flags &= !(PRESENT | LOGGED);
        }
        for id in self.pend_old.drain(mark.pend_old..) {
            self.slots[id as usize].flags &= !LOGGED;
        }
    }

    /// Restores a slot's pending delta while undoing a rejected request.
    #[inline]
    pub(crate) fn restore_delta(&mut self, id: u32, value: i64) {
        self.slots[id as usize].delta = value;
    }

    /// Journal: the slots whose pending delta changed since the last take (forgetting them).
    pub(crate) fn take_pend_log(&mut self) -> Vec<u32> {
        let mut ids = Vec::with_capacity(self.dirty.len() - self.pend_mark + self.pend_old.len());
        ids.extend_from_slice(&self.dirty[self.pend_mark..]);
        ids.append(&mut self.pend_old);
        for id in &ids {
            self.slots[*id as usize].flags &= !LOGGED;
        }
        self.pend_mark = self.dirty.len();
        ids
    }

    /// Journal: the slots whose row changed since the last take, by id (forgetting them).
    pub(crate) fn take_slot_log(&mut self) -> Vec<u32> {
        let mut ids = std::mem::take(&mut self.slot_old);
        for id in &ids {
            self.slots[*id as usize].flags &= !SLOT_LOGGED;
        }
        ids.sort_unstable();
        let len = self.slots.len() as u32;
        ids.extend(self.slot_mark..len);
        self.slot_mark = len;
        ids
    }

    /// Takes every pending delta of the current generation, sorted by key, clearing the slots
    /// (and forgetting their journal marks: the caller records one clear), as batch entries
    /// tagged `generation` plus their keys' hashes. Unpinned slots are freed when the table
    /// holds more than `keep` of them.
    pub(crate) fn take_pending(&mut self, keep: usize, generation: u64) -> (Vec<BatchEntry>, Vec<u32>) {
        self.sort_dirty();
        let slots = &mut self.slots;
        let hashes: Vec<u32> = self.dirty.iter().map(|id| slots[*id as usize].hash).collect();
        let entries: Vec<BatchEntry> = (self.dirty.iter())
            .map(|id| {
                let slot = &mut slots[*id as usize];
                slot.flags &= !(PRESENT | LOGGED);
                BatchEntry { key: slot.key.clone(), generation, delta: std::mem::take(&mut slot.delta) }
            })
            .collect();
        self.dirty.clear();
        self.pend_mark = 0;
        self.pend_old.clear();
        let unpinned = self.slots.len() - self.free.len() - self.pinned;
        if unpinned > keep {
            for id in 0..self.slots.len() as u32 {
                let slot = &mut self.slots[id as usize];
                if slot.flags & (PINNED | FREE | PRESENT) == 0 {
                    slot.key = self.empty.clone();
                    slot.flags |= FREE;
                    self.free.push(id);
                    self.log_slot(id);
                }
            }
            let slots = &self.slots;
            self.index.retain(|id| !slots[id as usize].is_free(), |id| slots[id as usize].hash);
            self.free.sort_unstable_by(|a, b| b.cmp(a));
        }
        (entries, hashes)
    }

    /// Sorts the pending slots by key: by cached rank when the key set is unchanged, else by
    /// comparing keys (recomputing ranks when the pending set is a large part of the table).
    fn sort_dirty(&mut self) {
        let used = self.slots.len() - self.free.len();
        if !self.ranks_fresh && self.dirty.len() * 2 >= used {
            let mut ids: Vec<u32> = (0..self.slots.len() as u32).filter(|i| !self.slots[*i as usize].is_free()).collect();
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
        let used =
            self.slots.iter().enumerate().filter(|(_, s)| !s.is_free()).map(|(i, s)| (i as u32, s.key.clone(), s.is_pinned())).collect();
        (self.slots.len() as u32, used)
    }

    /// The number of slots, used and free.
    pub(crate) fn export_len(&self) -> u32 {
        self.slots.len() as u32
    }

    /// The slot row of `id` for the journal: `Some((key, pinned))` when used, `None` when free.
    pub(crate) fn slot_row(&self, id: u32) -> Option<(Arc<str>, bool)> {
        self.slots.get(id as usize).filter(|s| !s.is_free()).map(|s| (s.key.clone(), s.is_pinned()))
    }

    /// Rebuilds a table from [`export`](Self::export)ed parts, validating them as
    /// [`import_slot`](Self::import_slot) and [`import_finish`](Self::import_finish) do.
    #[cfg(test)]
    pub(crate) fn import(n: u32, used: Vec<SlotEntry>, bound: usize) -> Result<KeyTable, &'static str> {
        let mut t = KeyTable::default();
        t.index.reserve(used.len(), |_| 0);
        for (id, key, pinned) in used {
            t.import_slot(id, key, pinned, bound)?;
        }
        t.import_finish(n, bound)?;
        Ok(t)
    }

    /// Rebuilding a table, one used slot at a time in any order (ids not imported are free):
    /// the id below `bound`, its slot not imported yet, the key non-empty and in no other slot.
    pub(crate) fn import_slot(&mut self, id: u32, key: Arc<str>, pinned: bool, bound: usize) -> Result<(), &'static str> {
        let i = id as usize;
        if i >= bound {
            return Err("key table larger than its bound");
        }
        let hash = hash_of(&key);
        if self.slots.get(i).is_some_and(|s| !s.is_free()) || key.is_empty() || self.find(&key, hash).is_some() {
            return Err("invalid key slot");
        }
        if i >= self.slots.len() {
            let empty = &self.empty;
            self.slots.resize_with(i + 1, || Slot { key: empty.clone(), delta: 0, hash: 0, flags: FREE });
        }
        self.slots[i] = Slot { key, delta: 0, hash, flags: if pinned { PINNED } else { 0 } };
        let slots = &self.slots;
        self.index.insert(hash, id, |id| slots[id as usize].hash);
        if pinned {
            self.pinned += 1;
        }
        Ok(())
    }

    /// Ends an import: the table has `n` slots (`n <= bound`, none imported at or beyond
    /// it), the others free. The journal starts empty.
    pub(crate) fn import_finish(&mut self, n: u32, bound: usize) -> Result<(), &'static str> {
        let n = n as usize;
        if n > bound {
            return Err("key table larger than its bound");
        }
        if self.slots.len() > n {
            return Err("invalid key slot");
        }
        let empty = &self.empty;
        self.slots.resize_with(n, || Slot { key: empty.clone(), delta: 0, hash: 0, flags: FREE });
        self.free = (0..n as u32).rev().filter(|i| self.slots[*i as usize].is_free()).collect();
        self.slot_mark = n as u32;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(t: &mut KeyTable, key: &str) -> u32 {
        t.slot_for(key, hash_of(key))
    }

    fn taken(t: &mut KeyTable, keep: usize) -> Vec<(Arc<str>, i64)> {
        let (entries, hashes) = t.take_pending(keep, 0);
        assert!(entries.iter().zip(&hashes).all(|(e, hash)| hash_of(&e.key) == *hash), "each entry carries its key's hash");
        entries.into_iter().map(|e| (e.key, e.delta)).collect()
    }

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
        let a = slot(&mut t, "a");
        t.pin(a);
        let b = slot(&mut t, "b");
        t.set(a, 1);
        t.set(b, 2);
        assert_eq!(taken(&mut t, 0), vec![(Arc::from("a"), 1), (Arc::from("b"), 2)]);
        assert_eq!(t.lookup("a"), Some(a));
        assert_eq!(t.lookup("b"), None);
        assert_eq!(slot(&mut t, "c"), b, "freed slot reused");
        assert_eq!(slot(&mut t, "d"), 2);
        t.set(2, 1);
        taken(&mut t, 0);
        // Lowest free id first.
        assert_eq!((slot(&mut t, "e"), slot(&mut t, "f")), (1, 2));
        assert!(t.pinned_slot(KeyId(a)).is_ok());
        assert_eq!(t.pinned_slot(KeyId(b)), Err(Error::UnknownKeyId { id: b }));
        assert_eq!(t.pinned_slot(KeyId(99)), Err(Error::UnknownKeyId { id: 99 }));
    }

    #[test]
    fn export_import_keeps_the_exact_layout() {
        let mut t = KeyTable::default();
        for k in ["a", "b", "c", "d"] {
            slot(&mut t, k);
        }
        t.pin(2);
        t.set(0, 5);
        taken(&mut t, 0);
        let (n, used) = t.export();
        let mut back = KeyTable::import(n, used.clone(), 100).unwrap();
        assert_eq!(back.export(), (n, used.clone()));
        assert_eq!(slot(&mut back, "zz"), slot(&mut t, "zz"));
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

    #[test]
    fn the_journal_lists_each_change_once_and_undo_forgets_it() {
        let mut t = KeyTable::default();
        let (a, b, c) = (slot(&mut t, "a"), slot(&mut t, "b"), slot(&mut t, "c"));
        assert_eq!(t.take_slot_log(), vec![a, b, c], "new slots");
        assert_eq!(t.take_slot_log(), Vec::<u32>::new());
        t.set(a, 1);
        t.set(b, 1);
        t.set(a, 2);
        assert_eq!(t.take_pend_log(), vec![a, b]);
        assert_eq!(t.take_pend_log(), Vec::<u32>::new());
        // b changes again (an old pending slot), c becomes pending.
        t.set(b, 3);
        t.set(c, 1);
        t.set(b, 4);
        let mut log = t.take_pend_log();
        log.sort_unstable();
        assert_eq!(log, vec![b, c]);
        // A rejected request: a changes again and d becomes pending, then both are undone.
        let d = slot(&mut t, "d");
        let mark = t.mark();
        t.set(a, 5);
        t.set(d, 1);
        t.restore_delta(a, 2);
        t.restore_delta(d, 0);
        t.undo_to(mark);
        assert_eq!(t.take_pend_log(), Vec::<u32>::new(), "undone changes are not logged");
        assert_eq!((t.pending_len(), t.slot(d).is_present()), (3, false));
        // Pinning an old slot and freeing slots are slot changes, listed by id.
        t.pin(b);
        assert_eq!(t.take_slot_log(), vec![b, d]);
        taken(&mut t, 0);
        assert_eq!(t.take_slot_log(), vec![a, c, d], "unpinned slots freed");
        assert_eq!(t.slot_row(a), None);
        assert_eq!(t.slot_row(b), Some((Arc::from("b"), true)));
    }

    #[test]
    fn adding_by_id_stops_at_the_first_failure_wherever_it_is() {
        let mut t = KeyTable::default();
        let (a, b) = (slot(&mut t, "a"), slot(&mut t, "b"));
        t.pin(a);
        t.pin(b);
        let (ka, kb) = (KeyId(a), KeyId(b));
        for failing in 0..5 {
            // Both slots pending and logged (the fast path), then a run failing at `failing`.
            t.set(a, 0);
            t.set(b, 0);
            let ids = [ka, kb, ka, kb, kb];
            let mut deltas = [1i64; 5];
            deltas[failing] = i64::MAX;
            let (added, err) = t.add_pinned(&ids, &deltas);
            // A model: add in order, stop at the first overflow.
            let mut model = [0i64; 2];
            let mut stop = 5;
            for (j, (id, d)) in ids.iter().zip(&deltas).enumerate() {
                let cell = &mut model[usize::from(*id == kb)];
                match cell.checked_add(*d) {
                    Some(v) => *cell = v,
                    None => {
                        stop = j;
                        break;
                    }
                }
            }
            assert_eq!((added, err.is_some()), (stop, stop < 5), "failing at {failing}");
            assert_eq!([t.slot(a).delta(), t.slot(b).delta()], model, "failing at {failing}");
        }
        t.set(a, 0);
        t.set(b, 0);
        for at in 0..4 {
            let mut ids = [ka, kb, ka, kb];
            ids[at] = KeyId(99);
            let (added, err) = t.add_pinned(&ids, &[1; 4]);
            assert_eq!((added, err), (at, Some(Error::UnknownKeyId { id: 99 })));
        }
    }
}
