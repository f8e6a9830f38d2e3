//! The key index of the shard's key table and the global's totals: key → dense id.
//!
//! A key is hashed once, into a 32-bit hash ([`hash_of`]: ahash with fixed seeds, so every
//! table of a process computes the same hash). Tables keep each key's hash next to it, and a
//! shard's batch carries its keys' hashes to the global in memory (see
//! [`Batch`](crate::Batch)), so merging a batch costs no string hashing.
//!
//! The index is an open-addressing table of words holding an id and its key's hash (or the
//! hash's top byte: 4-byte words while ids fit in 24 bits, 8-byte words beyond), with linear
//! probing, at most three quarters full. It is not a `HashMap<Arc<str>, u32>` because a
//! lookup should read one small word, then the id's slot (which holds the key and the count
//! side by side), then the key's bytes — the same three memory accesses as a
//! `HashMap<String, i64>` — and because 4 bytes a bucket is a sixth of a map bucket holding
//! the key. Growing re-places ids by the hashes their tables keep (no string is hashed
//! again). Keys are only removed in bulk (a shard freeing unused slots), by rebuilding.
//! Hashes and positions never leak into outputs.

use ahash::RandomState;
use std::hash::{BuildHasher, Hasher};

/// Fixed seeds: hashes are the same in every table of a process (hash values never leave it).
const SEEDS: RandomState =
    RandomState::with_seeds(0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344, 0xa409_3822_299f_31d0, 0x082e_fa98_ec4e_6c89);

/// The 32-bit hash of a key: its bytes alone (a key is hashed on its own, so it needs no
/// terminator to tell it from a prefix of a longer value), one `write`.
#[inline]
pub(crate) fn hash_of(key: &str) -> u32 {
    let mut hasher = SEEDS.build_hasher();
    hasher.write(key.as_bytes());
    (hasher.finish() >> 32) as u32
}

/// Whether two keys are equal; the same allocation (a key shared by a shard, its batches and
/// a global) is recognised without reading the bytes.
#[inline(always)]
pub(crate) fn same_key(a: &str, b: &str) -> bool {
    a.len() == b.len() && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || same_bytes(a.as_bytes(), b.as_bytes()))
}

/// Equal slices of the same length: short keys compared in place with a few overlapping
/// 8-byte (or 4-byte) words (a call to `memcmp` costs more than the comparison).
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n > 32 {
        return a == b;
    }
    if n >= 8 {
        let ends = (word(&a[..8]) ^ word(&b[..8])) | (word(&a[n - 8..]) ^ word(&b[n - 8..]));
        if n <= 16 {
            return ends == 0;
        }
        let middle = (word(&a[8..16]) ^ word(&b[8..16])) | (word(&a[n - 16..n - 8]) ^ word(&b[n - 16..n - 8]));
        return ends | middle == 0;
    }
    if n >= 4 {
        return (half(&a[..4]) ^ half(&b[..4])) | (half(&a[n - 4..]) ^ half(&b[n - 4..])) == 0;
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// 8 bytes as a word.
#[inline]
fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(bytes);
    u64::from_ne_bytes(w)
}

/// 4 bytes as a word.
#[inline]
fn half(bytes: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(bytes);
    u32::from_ne_bytes(w)
}

/// Ids below this fit a narrow word.
const NARROW_IDS: u32 = (1 << 24) - 1;

/// Buckets of words holding an id and (part of) its key's hash, `MAX` when empty.
#[derive(Debug)]
enum Buckets {
    /// `hash's top byte << 24 | id`, while every id is below [`NARROW_IDS`].
    Narrow(Vec<u32>),
    /// `hash << 32 | id`.
    Wide(Vec<u64>),
}

impl Default for Buckets {
    fn default() -> Self {
        Buckets::Narrow(Vec::new())
    }
}

/// A bucket word.
trait Word: Copy + Eq {
    const EMPTY: Self;
    fn new(hash: u32, id: u32) -> Self;
    fn id(self) -> u32;
    /// Whether the word may hold a key with this hash.
    fn matches(self, hash: u32) -> bool;
}

impl Word for u32 {
    const EMPTY: u32 = u32::MAX;
    #[inline]
    fn new(hash: u32, id: u32) -> u32 {
        (hash & 0xff00_0000) | id
    }
    #[inline]
    fn id(self) -> u32 {
        self & 0x00ff_ffff
    }
    #[inline]
    fn matches(self, hash: u32) -> bool {
        (self ^ hash) & 0xff00_0000 == 0
    }
}

impl Word for u64 {
    const EMPTY: u64 = u64::MAX;
    #[inline]
    fn new(hash: u32, id: u32) -> u64 {
        u64::from(hash) << 32 | u64::from(id)
    }
    #[inline]
    fn id(self) -> u32 {
        self as u32
    }
    #[inline]
    fn matches(self, hash: u32) -> bool {
        (self >> 32) as u32 == hash
    }
}

/// The id of `key` among `buckets`, probing from its hash's position.
#[inline(always)]
fn probe<'a, W: Word>(buckets: &[W], hash: u32, key: &str, key_of: impl Fn(u32) -> &'a str) -> Option<u32> {
    let mask = buckets.len().wrapping_sub(1);
    let mut i = hash as usize & mask;
    loop {
        let word = *buckets.get(i)?;
        if word == W::EMPTY {
            return None;
        }
        if word.matches(hash) && same_key(key_of(word.id()), key) {
            return Some(word.id());
        }
        i = (i + 1) & mask;
    }
}

/// [`probe`] in wide words, out of line: tables of more than 16 million ids are rare.
#[cold]
#[inline(never)]
fn find_wide<'a>(buckets: &[u64], hash: u32, key: &str, key_of: impl Fn(u32) -> &'a str) -> Option<u32> {
    probe(buckets, hash, key, key_of)
}

/// Stores a word in the first empty bucket from its hash's position.
fn put<W: Word>(buckets: &mut [W], hash: u32, id: u32) {
    let mask = buckets.len() - 1;
    let mut i = hash as usize & mask;
    while buckets[i] != W::EMPTY {
        i = (i + 1) & mask;
    }
    buckets[i] = W::new(hash, id);
}

/// Key → id.
#[derive(Debug, Default)]
pub(crate) struct KeyIndex {
    buckets: Buckets,
    len: usize,
}

impl KeyIndex {
    /// The id of `key` (whose hash is `hash`); `key_of(id)` gives the key stored under an id.
    #[inline(always)]
    pub(crate) fn find<'a>(&self, hash: u32, key: &str, key_of: impl Fn(u32) -> &'a str) -> Option<u32> {
        match &self.buckets {
            Buckets::Narrow(b) => probe(b, hash, key, key_of),
            Buckets::Wide(b) => find_wide(b, hash, key, key_of),
        }
    }

    fn capacity(&self) -> usize {
        match &self.buckets {
            Buckets::Narrow(b) => b.len(),
            Buckets::Wide(b) => b.len(),
        }
    }

    /// Adds the id of a key the index does not hold; `hash_of(id)` gives the hash of the
    /// key of any id the index holds (to re-place them when it grows).
    pub(crate) fn insert(&mut self, hash: u32, id: u32, hash_of: impl Fn(u32) -> u32) {
        let wide = id >= NARROW_IDS;
        if (self.len + 1) * 4 > self.capacity() * 3 || (wide && matches!(self.buckets, Buckets::Narrow(_))) {
            self.rebuild(self.len + 1, wide, hash_of, |_| true);
        }
        match &mut self.buckets {
            Buckets::Narrow(b) => put(b, hash, id),
            Buckets::Wide(b) => put(b, hash, id),
        }
        self.len += 1;
    }

    /// Room for `more` keys without growing.
    pub(crate) fn reserve(&mut self, more: usize, hash_of: impl Fn(u32) -> u32) {
        if (self.len + more) * 4 > self.capacity() * 3 {
            self.rebuild(self.len + more, false, hash_of, |_| true);
        }
    }

    /// Keeps the ids for which `keep` is true.
    pub(crate) fn retain(&mut self, keep: impl FnMut(u32) -> bool, hash_of: impl Fn(u32) -> u32) {
        self.rebuild(0, false, hash_of, keep);
    }

    /// Re-places the kept ids into buckets with room for `room` keys (and at least those),
    /// wide when `wide` or when any id needs it.
    fn rebuild(&mut self, room: usize, wide: bool, hash_of: impl Fn(u32) -> u32, mut keep: impl FnMut(u32) -> bool) {
        let ids: Vec<u32> = match &self.buckets {
            Buckets::Narrow(b) => b.iter().filter(|w| **w != u32::EMPTY).map(|w| w.id()).filter(|id| keep(*id)).collect(),
            Buckets::Wide(b) => b.iter().filter(|w| **w != u64::EMPTY).map(|w| w.id()).filter(|id| keep(*id)).collect(),
        };
        let size = (room.max(ids.len()) * 4 / 3 + 1).next_power_of_two().max(8);
        self.len = ids.len();
        if wide || matches!(self.buckets, Buckets::Wide(_)) || ids.iter().any(|id| *id >= NARROW_IDS) {
            let mut b = vec![u64::EMPTY; size];
            for id in ids {
                put(&mut b, hash_of(id), id);
            }
            self.buckets = Buckets::Wide(b);
        } else {
            let mut b = vec![u32::EMPTY; size];
            for id in ids {
                put(&mut b, hash_of(id), id);
            }
            self.buckets = Buckets::Narrow(b);
        }
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
        hashes: Vec<u32>,
    }

    impl Table {
        fn find(&self, hash: u32, key: &str) -> Option<u32> {
            self.index.find(hash, key, |id| &self.keys[id as usize])
        }
        fn add(&mut self, hash: u32, key: &str) -> u32 {
            let id = self.keys.len() as u32;
            self.keys.push(Arc::from(key));
            self.hashes.push(hash);
            let hashes = &self.hashes;
            self.index.insert(hash, id, |id| hashes[id as usize]);
            id
        }
    }

    #[test]
    fn keys_sharing_a_hash_are_told_apart() {
        let mut t = Table { index: KeyIndex::default(), keys: Vec::new(), hashes: Vec::new() };
        assert_eq!(t.find(7, "a"), None, "an empty index");
        // Hash 7 for three keys (a forced collision), then enough keys to grow several times.
        let (a, b, c) = (t.add(7, "a"), t.add(7, "b"), t.add(7, "c"));
        let more: Vec<u32> = (0..100).map(|i| t.add(hash_of(&i.to_string()), &i.to_string())).collect();
        assert_eq!([t.find(7, "a"), t.find(7, "b"), t.find(7, "c")], [Some(a), Some(b), Some(c)]);
        assert!((0..100).all(|i| t.find(hash_of(&i.to_string()), &i.to_string()) == Some(more[i])));
        assert_eq!(t.find(7, "z"), None);
        assert_eq!(t.find(0x0800_0000, "a"), None, "nor under another hash");
        assert!(t.index.len * 4 <= t.index.capacity() * 3, "at most three quarters full");
        assert!(matches!(t.index.buckets, Buckets::Narrow(_)));
        // Dropping ids in bulk keeps the others findable.
        let hashes = t.hashes.clone();
        t.index.retain(|id| id != b && id % 2 == 0, |id| hashes[id as usize]);
        assert_eq!([t.find(7, "a"), t.find(7, "b"), t.find(7, "c")], [Some(a), None, Some(c)]);
        assert!((0..100).all(|i| t.find(hash_of(&i.to_string()), &i.to_string()) == (more[i] % 2 == 0).then_some(more[i])));
        assert_eq!(t.index.len, 2 + 50);
    }

    #[test]
    fn ids_beyond_24_bits_widen_the_words() {
        let mut t = Table { index: KeyIndex::default(), keys: Vec::new(), hashes: Vec::new() };
        let a = t.add(0x0100_0001, "a");
        // A far id (as a table with 16 777 215 slots would hand out), with the same top byte.
        let far = NARROW_IDS;
        let hashes = t.hashes.clone();
        let hash_of = |id: u32| if id == far { 0x0100_0002 } else { hashes[id as usize] };
        t.index.insert(0x0100_0002, far, hash_of);
        assert!(matches!(t.index.buckets, Buckets::Wide(_)));
        assert_eq!(t.index.find(0x0100_0001, "a", |id| if id == far { "far" } else { &t.keys[id as usize] }), Some(a));
        assert_eq!(t.index.find(0x0100_0002, "far", |id| if id == far { "far" } else { &t.keys[id as usize] }), Some(far));
        assert_eq!(t.index.find(0x0100_0003, "far", |id| if id == far { "far" } else { &t.keys[id as usize] }), None);
    }

    #[test]
    fn keys_of_every_short_length_compare_exactly() {
        let base: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for n in 0..=40 {
            let a = &base[..n];
            let copy = a.to_vec();
            assert!(same_bytes(a, &copy), "{n} bytes");
            for at in 0..n {
                let mut b = a.to_vec();
                b[at] ^= 1;
                assert!(!same_bytes(a, &b), "{n} bytes, differing at {at}");
            }
        }
    }

    #[test]
    fn hashes_and_equality() {
        assert_eq!(hash_of("/api/v1"), hash_of(&String::from("/api/v1")), "a function of the bytes");
        assert_ne!(hash_of("a"), hash_of("b"));
        let shared: Arc<str> = Arc::from("key");
        assert!(same_key(&shared, &shared.clone()));
        assert!(same_key(&shared, "key"));
        assert!(!same_key(&shared, "kez") && !same_key(&shared, "ke"));
    }
}
