//! Partitioning helpers: which shard owns a key.
//!
//! Every function here gives exactly one owner in `0..num_shards` for every input and every
//! shard count `>= 1`, and is stable across platforms and versions (routing in a Python
//! worker, a Node server and a Durable Object agrees).

/// A stable 64-bit hash of a key: FNV-1a over the UTF-8 bytes, then a 64-bit mixer.
///
/// Unlike `std`'s or ahash's hashers, the value never changes between runs, platforms or
/// releases, so it can be used for routing that several processes must agree on.
pub fn key_hash(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    crate::rng::mix64(h)
}

/// Jump consistent hash (Lamping & Veach): the bucket in `0..num_buckets` for `key`.
///
/// Growing from `n` to `n + 1` buckets moves only about `1 / (n + 1)` of the keys.
/// `num_buckets == 0` is treated as 1.
pub fn jump_hash(mut key: u64, num_buckets: u32) -> u32 {
    let n = i64::from(num_buckets.max(1));
    let mut b: i64 = -1;
    let mut j: i64 = 0;
    while j < n {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = (((b + 1) as f64) * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    b as u32
}

/// Owner by modulo: `hash % num_shards` (`0` shards is treated as 1).
pub fn owner_mod(hash: u64, num_shards: u32) -> u32 {
    (hash % u64::from(num_shards.max(1))) as u32
}

/// Owner by range: the hash space `0..=u64::MAX` is cut into `num_shards` contiguous ranges
/// whose sizes differ by at most one (`0` shards is treated as 1). Shard `s` owns exactly
/// the hashes of [`shard_range`]`(s, num_shards)`.
pub fn owner_range(hash: u64, num_shards: u32) -> u32 {
    ((u128::from(hash) * u128::from(num_shards.max(1))) >> 64) as u32
}

/// The hashes shard `shard` of `num_shards` owns under [`owner_range`], or `None` when
/// `shard >= num_shards`. The ranges of `0..num_shards` are contiguous, ascending and cover
/// `0..=u64::MAX`, so a holder told `(shard, num_shards)` can test keys itself: a hash is in
/// exactly one shard's range. `0` shards is treated as 1.
pub fn shard_range(shard: u32, num_shards: u32) -> Option<std::ops::RangeInclusive<u64>> {
    let n = u128::from(num_shards.max(1));
    if u128::from(shard) >= n {
        return None;
    }
    // Shard s owns h exactly when s * 2^64 <= h * n < (s + 1) * 2^64, i.e. from
    // ceil(s * 2^64 / n) up to ceil((s + 1) * 2^64 / n) - 1.
    let start = |s: u128| (s << 64).div_ceil(n);
    let lo = start(u128::from(shard));
    let hi = start(u128::from(shard) + 1) - 1;
    // Both fit: lo <= hi <= 2^64 - 1 because every range holds at least 2^32 hashes.
    Some(lo as u64..=hi as u64)
}

/// Knuth's multiplicative hash: `x * 2654435761 mod 2^32`.
pub fn knuth_hash(x: u32) -> u32 {
    x.wrapping_mul(2_654_435_761)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hash_is_pinned() {
        // Routing must never change between releases or runtimes. The values were computed
        // outside this crate (FNV-1a 64 then the SplitMix64 finaliser, in a Python script
        // checked against both algorithms' published vectors); traces/partition.json pins
        // them in every binding too.
        assert_eq!(key_hash(""), 17_665_956_581_633_026_203);
        assert_eq!(key_hash("x"), 3_204_358_148_266_727_566);
        assert_eq!(key_hash("y"), 7_779_883_333_109_205_999);
        assert_eq!(key_hash("page:/home"), 542_363_001_900_232_550);
        assert_eq!(key_hash("é🔑"), 13_647_268_886_631_313_232, "the UTF-8 bytes are hashed");
    }

    #[test]
    fn jump_hash_matches_published_vectors() {
        assert_eq!(jump_hash(123_456, 1000), 984);
        assert_eq!(jump_hash(256, 1024), 520);
        assert_eq!(jump_hash(3_204_358_148_266_727_566, 4), 2, "where a 4-shard hash router sends \"x\"");
    }

    #[test]
    fn ranges_tile_the_hash_space() {
        for n in [1u32, 2, 3, 7, 10, 1_000] {
            let mut next = 0u64;
            for s in 0..n {
                let r = shard_range(s, n).unwrap();
                assert_eq!(*r.start(), next, "shard {s} of {n} starts where the previous ended");
                assert_eq!(owner_range(*r.start(), n), s);
                assert_eq!(owner_range(*r.end(), n), s);
                next = r.end().wrapping_add(1);
            }
            assert_eq!(next, 0, "the last range of {n} ends at u64::MAX");
            assert_eq!(shard_range(n, n), None);
        }
        assert_eq!(shard_range(0, 0), Some(0..=u64::MAX));
        assert_eq!(shard_range(1, 2), Some(1 << 63..=u64::MAX));
        assert_eq!(shard_range(u32::MAX - 1, u32::MAX).map(|r| *r.end()), Some(u64::MAX));
    }
}
