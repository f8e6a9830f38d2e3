//! The key index of the shard's key table and the global's totals: key → dense id.
//!
//! A key is hashed once, into a 32-bit hash ([`hash_of`]: ahash with fixed seeds, so every
//! table of a process computes the same hash). Tables keep each key's hash next to it, and a
//! shard's batch carries its keys' hashes to the global in memory (see
//! [`Batch`](crate::Batch)), so merging a batch costs no string hashing.
//!
//! The index is an open-addressing table of `(hash, id)` words with linear probing, at most
//! three quarters full. It is not a `HashMap<Arc<str>, u32>` because a lookup should read
//! one small word, then the id's slot (which holds the key and the count side by side), then
//! the key's bytes — the same three memory accesses as a `HashMap<String, i64>` — and because
//! 8 bytes a bucket is a third of a map bucket holding the key. Growing re-places words by
//! their hashes (no string is hashed again). Keys are only removed in bulk (a shard freeing
//! unused slots), by rebuilding. Hashes and positions never leak into outputs.

use ahash::RandomState;

/// Fixed seeds: hashes are the same in every table of a process (hash values never leave it).
const SEEDS: RandomState =
    RandomState::with_seeds(0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344, 0xa409_3822_299f_31d0, 0x082e_fa98_ec4e_6c89);

/// The 32-bit hash of a key.
#[inline]
pub(crate) fn hash_of(key: &str) -> u32 {
    (SEEDS.hash_one(key) >> 32) as u32
}

/// Whether two keys are equal; the same allocation (a key shared by a shard, its batches and
/// a global) is recognised without reading the bytes.
#[inline]
pub(crate) fn same_key(a: &str, b: &str) -> bool {
    a.len() == b.len() && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || same_bytes(a.as_bytes(), b.as_bytes()))
}

/// Equal slices of the same length: short keys compared in place, 8 bytes at a time (a call
/// to `memcmp` costs more than the comparison).
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n > 32 {
        return a == b;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    // Whole words, then the last 8 bytes (overlapping the last whole word).
    a.chunks_exact(8).zip(b.chunks_exact(8)).all(|(x, y)| word(x) == word(y)) && word(&a[n - 8..]) == word(&b[n - 8..])
}

/// 8 bytes as a word.
#[inline]
fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(bytes);
    u64::from_ne_bytes(w)
}

/// An empty bucket (no id reaches `u32::MAX`).
const EMPTY: u64 = u64::MAX;

/// Key → id: buckets of `hash << 32 | id`.
#[derive(Debug, Default)]
pub(crate) struct KeyIndex {
    buckets: Vec<u64>,
    len: usize,
}

impl KeyIndex {
    /// The id of `key` (whose hash is `hash`); `key_of(id)` gives the key stored under an id.
    #[inline(always)]
    pub(crate) fn find<'a>(&self, hash: u32, key: &str, key_of: impl Fn(u32) -> &'a str) -> Option<u32> {
        let mask = self.buckets.len().wrapping_sub(1);
        let mut i = hash as usize & mask;
        loop {
            let word = *self.buckets.get(i)?;
            if word == EMPTY {
                return None;
            }
            if (word >> 32) as u32 == hash && same_key(key_of(word as u32), key) {
                return Some(word as u32);
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds the id of a key the index does not hold.
    pub(crate) fn insert(&mut self, hash: u32, id: u32) {
        if (self.len + 1) * 4 > self.buckets.len() * 3 {
            self.grow_to(self.len + 1);
        }
        self.put(u64::from(hash) << 32 | u64::from(id));
        self.len += 1;
    }

    /// Room for `more` keys without growing.
    pub(crate) fn reserve(&mut self, more: usize) {
        if (self.len + more) * 4 > self.buckets.len() * 3 {
            self.grow_to(self.len + more);
        }
    }

    /// Keeps the ids for which `keep` is true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(u32) -> bool) {
        let words: Vec<u64> = self.buckets.iter().copied().filter(|w| *w != EMPTY && keep(*w as u32)).collect();
        self.buckets = Vec::new();
        self.len = words.len();
        self.grow_to(words.len());
        for w in words {
            self.put(w);
        }
    }

    /// Re-places every word into a table with room for `n` keys.
    fn grow_to(&mut self, n: usize) {
        let size = (n * 4 / 3 + 1).next_power_of_two().max(8);
        let old = std::mem::replace(&mut self.buckets, vec![EMPTY; size]);
        for w in old {
            if w != EMPTY {
                self.put(w);
            }
        }
    }

    /// Stores a word in the first empty bucket from its hash's position.
    fn put(&mut self, word: u64) {
        let mask = self.buckets.len() - 1;
        let mut i = (word >> 32) as usize & mask;
        while self.buckets[i] != EMPTY {
            i = (i + 1) & mask;
        }
        self.buckets[i] = word;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Keys stored by id, as the tables store them.
    struct Table {
        index: KeyIndex,
        keys: Vec<Arc<str>>,
    }

    impl Table {
        fn find(&self, hash: u32, key: &str) -> Option<u32> {
            self.index.find(hash, key, |id| &self.keys[id as usize])
        }
        fn add(&mut self, hash: u32, key: &str) -> u32 {
            let id = self.keys.len() as u32;
            self.keys.push(Arc::from(key));
            self.index.insert(hash, id);
            id
        }
    }

    #[test]
    fn keys_sharing_a_hash_are_told_apart() {
        let mut t = Table { index: KeyIndex::default(), keys: Vec::new() };
        assert_eq!(t.find(7, "a"), None, "an empty index");
        // Tag 7 for three keys (a forced collision), then enough keys to grow several times.
        let (a, b, c) = (t.add(7, "a"), t.add(7, "b"), t.add(7, "c"));
        let more: Vec<u32> = (0..100).map(|i| t.add(hash_of(&i.to_string()), &i.to_string())).collect();
        assert_eq!([t.find(7, "a"), t.find(7, "b"), t.find(7, "c")], [Some(a), Some(b), Some(c)]);
        assert!((0..100).all(|i| t.find(hash_of(&i.to_string()), &i.to_string()) == Some(more[i])));
        assert_eq!(t.find(7, "z"), None);
        assert_eq!(t.find(8, "a"), None, "a key is found under its own hash only");
        assert!(t.index.len * 4 <= t.index.buckets.len() * 3, "at most three quarters full");
        // Dropping ids in bulk keeps the others findable.
        t.index.retain(|id| id != b && id % 2 == 0);
        assert_eq!([t.find(7, "a"), t.find(7, "b"), t.find(7, "c")], [Some(a), None, Some(c)]);
        assert!((0..100).all(|i| t.find(hash_of(&i.to_string()), &i.to_string()) == (more[i] % 2 == 0).then_some(more[i])));
        assert_eq!(t.index.len, 2 + 50);
    }

    #[test]
    fn tags_and_equality() {
        assert_eq!(hash_of("/api/v1"), hash_of(&String::from("/api/v1")), "a function of the bytes");
        assert_ne!(hash_of("a"), hash_of("b"));
        let shared: Arc<str> = Arc::from("key");
        assert!(same_key(&shared, &shared.clone()));
        assert!(same_key(&shared, "key"));
        assert!(!same_key(&shared, "kez") && !same_key(&shared, "ke"));
    }
}
