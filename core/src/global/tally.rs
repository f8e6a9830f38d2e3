//! What one shard index has written to the global: applied batches and summed deltas per key
//! id, for [`Global::shard_writes`](crate::Global::shard_writes) and the `shard_writes` /
//! `shard_deltas` journal tables.
//!
//! A shard's sums are kept in one of two forms. While it has written few of the global's
//! keys, a map by key id; once it has written a quarter of them (and at least
//! [`DENSE_MIN`]), a column indexed by key id: 9 bytes a key id up to the highest it wrote,
//! and an add is an index and an add. A column that would grow to more than eight times the
//! keys it holds turns back into a map. Each sum carries a journal flag, and the ids of sums
//! changed since the last take are listed once.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The sum is present (the shard wrote the key).
const PRESENT: u8 = 1;
/// Journal: the sum changed since the last take (listed in `ShardTally::changed`).
const LOGGED: u8 = 2;

/// Fewest sums kept as a column.
const DENSE_MIN: usize = 64;

/// Hashes a key id (dense, sequential) for the map with one multiplication.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    #[inline]
    fn write_u32(&mut self, id: u32) {
        self.0 = u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A sum and its flags.
#[derive(Clone, Copy, Debug, Default)]
struct Cell {
    sum: i64,
    flags: u8,
}

#[derive(Clone, Debug)]
enum Sums {
    Map(HashMap<u32, Cell, BuildHasherDefault<IdHasher>>),
    Column { sums: Vec<i64>, flags: Vec<u8> },
}

/// What one shard index has written, by key id.
#[derive(Clone, Debug)]
pub(crate) struct ShardTally {
    pub(crate) writes: u64,
    sums: Sums,
    /// How many sums are present.
    len: usize,
    /// Journal: ids whose sum changed since the last take.
    changed: Vec<u32>,
}

impl Default for ShardTally {
    fn default() -> Self {
        ShardTally { writes: 0, sums: Sums::Map(HashMap::default()), len: 0, changed: Vec::new() }
    }
}

impl ShardTally {
    /// Before applying a batch to a global of `keys` keys: turns the map into a column once
    /// the shard has written a quarter of them.
    pub(crate) fn prepare(&mut self, keys: usize) {
        if let Sums::Map(map) = &mut self.sums {
            if map.len() >= DENSE_MIN && map.len() * 4 >= keys {
                let top = map.keys().max().map_or(0, |id| *id as usize + 1);
                let (mut sums, mut flags) = (vec![0; top], vec![0; top]);
                for (id, c) in map.drain() {
                    sums[id as usize] = c.sum;
                    flags[id as usize] = c.flags;
                }
                self.sums = Sums::Column { sums, flags };
            }
        }
    }

    /// Adds an applied delta to a key's sum (saturating at the `i64` bounds).
    #[inline]
    pub(crate) fn add(&mut self, id: u32, delta: i64) {
        let i = id as usize;
        let (sum, flags) = match &mut self.sums {
            Sums::Column { sums, flags } if i < sums.len() => (&mut sums[i], &mut flags[i]),
            _ => return self.add_slow(id, delta),
        };
        *sum = sum.saturating_add(delta);
        if *flags != PRESENT | LOGGED {
            if *flags & PRESENT == 0 {
                self.len += 1;
            }
            if *flags & LOGGED == 0 {
                self.changed.push(id);
            }
            *flags = PRESENT | LOGGED;
        }
    }

    /// [`add`](Self::add) to a map, or to a column that must grow (turning it back into a
    /// map when it would be mostly empty).
    fn add_slow(&mut self, id: u32, delta: i64) {
        if let Sums::Column { sums, flags } = &mut self.sums {
            let top = id as usize + 1;
            if self.len * 8 >= top {
                // Grow by a quarter at least, to exactly that (a column is 9 bytes a key id).
                let size = top.max(sums.len() * 5 / 4);
                sums.reserve_exact(size - sums.len());
                flags.reserve_exact(size - flags.len());
                sums.resize(size, 0);
                flags.resize(size, 0);
                return self.add(id, delta);
            }
            let map = sums.iter().zip(flags.iter()).enumerate().filter(|(_, (_, f))| **f & PRESENT != 0);
            let map = map.map(|(id, (sum, flags))| (id as u32, Cell { sum: *sum, flags: *flags })).collect();
            self.sums = Sums::Map(map);
        }
        if let Sums::Map(map) = &mut self.sums {
            let cell = map.entry(id).or_default();
            cell.sum = cell.sum.saturating_add(delta);
            if cell.flags & PRESENT == 0 {
                self.len += 1;
            }
            if cell.flags & LOGGED == 0 {
                self.changed.push(id);
            }
            cell.flags = PRESENT | LOGGED;
        }
    }

    /// The sum of a key, if the shard wrote it.
    pub(crate) fn get(&self, id: u32) -> Option<i64> {
        let cell = match &self.sums {
            Sums::Map(map) => map.get(&id).copied(),
            Sums::Column { sums, flags } => sums.get(id as usize).map(|sum| Cell { sum: *sum, flags: flags[id as usize] }),
        };
        cell.filter(|c| c.flags & PRESENT != 0).map(|c| c.sum)
    }

    /// Every `(key id, sum)`, in no particular order.
    pub(crate) fn sums(&self) -> Vec<(u32, i64)> {
        match &self.sums {
            Sums::Map(map) => map.iter().map(|(id, c)| (*id, c.sum)).collect(),
            Sums::Column { sums, flags } => {
                let present = sums.iter().zip(flags).enumerate().filter(|(_, (_, f))| **f & PRESENT != 0);
                present.map(|(id, (sum, _))| (id as u32, *sum)).collect()
            }
        }
    }

    /// Journal: the `(key id, sum)` changed since the last take, in no particular order.
    pub(crate) fn take_changed(&mut self) -> Vec<(u32, i64)> {
        let ids = std::mem::take(&mut self.changed);
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            match &mut self.sums {
                Sums::Map(map) => {
                    if let Some(c) = map.get_mut(&id) {
                        c.flags &= !LOGGED;
                        out.push((id, c.sum));
                    }
                }
                Sums::Column { sums, flags } => {
                    if let Some(f) = flags.get_mut(id as usize) {
                        *f &= !LOGGED;
                        out.push((id, sums[id as usize]));
                    }
                }
            }
        }
        out
    }

    /// Restores a key's sum; false when it was already there.
    pub(crate) fn restore(&mut self, id: u32, sum: i64) -> bool {
        if self.get(id).is_some() {
            return false;
        }
        self.add(id, sum);
        true
    }

    /// Journal: forgets what changed (the store holds the state).
    pub(crate) fn clear_changed(&mut self) {
        self.take_changed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut v: Vec<(u32, i64)>) -> Vec<(u32, i64)> {
        v.sort_unstable();
        v
    }

    #[test]
    fn sums_and_changes_are_the_same_in_a_map_and_a_column() {
        let mut t = ShardTally::default();
        for id in 0..100 {
            t.add(id, 1);
        }
        t.add(7, i64::MAX);
        assert!(matches!(t.sums, Sums::Map(_)));
        assert_eq!(t.take_changed().len(), 100);
        t.add(7, -5);
        t.prepare(300);
        assert!(matches!(t.sums, Sums::Column { .. }), "a third of the keys");
        t.add(3, 0);
        t.add(150, 2);
        t.add(7, -5);
        assert_eq!(sorted(t.take_changed()), vec![(3, 1), (7, i64::MAX - 10), (150, 2)], "each once, saturated");
        assert_eq!(t.take_changed(), vec![]);
        assert_eq!((t.get(150), t.get(149), t.get(100_000)), (Some(2), None, None));
        assert_eq!(t.sums().len(), 101);
        // A key far beyond what the column holds turns it back into a map.
        t.add(100_000, 4);
        assert!(matches!(t.sums, Sums::Map(_)));
        assert_eq!((t.get(150), t.get(100_000), t.len), (Some(2), Some(4), 102));
        assert_eq!(sorted(t.take_changed()), vec![(100_000, 4)]);
        assert!(!t.restore(150, 9) && t.restore(151, 9));
        assert_eq!(t.get(151), Some(9));
    }
}
