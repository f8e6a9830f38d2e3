//! Pinned values of the partition helpers. Routing that several processes (Python, Node,
//! WebAssembly, a PostgreSQL registrar) must agree on can never change between releases, so
//! every expected value here was computed independently of the code under test:
//! `key_hash` and `knuth_hash` with Python's arbitrary-precision integers, `owner_mod` and
//! `owner_range` by hand (`h % n`, `h * n >> 64`), and `jump_hash` from the vectors published
//! with the reference implementations (Lamping & Veach's C++, dgryski/go-jump), re-derived with
//! a Python port of the paper's code.

use shardtally::partition::{jump_hash, key_hash, knuth_hash, owner_mod, owner_range, shard_range};

#[test]
fn key_hash_is_fnv1a_then_splitmix64() {
    // (key, FNV-1a 64 of its UTF-8 bytes, after the SplitMix64 finaliser)
    let vectors: [(&str, u64); 6] = [
        ("", 17_665_956_581_633_026_203),
        ("a", 198_367_012_849_983_736),
        ("x", 3_204_358_148_266_727_566),
        ("page:/home", 542_363_001_900_232_550),
        ("héllo", 1_793_390_062_926_416_830),
        ("shardtally", 3_573_407_204_853_300_913),
    ];
    for (key, expected) in vectors {
        assert_eq!(key_hash(key), expected, "key_hash({key:?})");
    }
}

#[test]
fn knuth_hash_multiplies_by_2654435761_mod_2_pow_32() {
    // 2 * 2654435761 = 5308871522 = 2^32 + 1013904226; (2^32 - 1) * 2654435761 ≡ -2654435761.
    let vectors: [(u32, u32); 7] = [
        (0, 0),
        (1, 2_654_435_761),
        (2, 1_013_904_226),
        (3, 3_668_339_987),
        (1_000, 145_972_072),
        (123_456_789, 2_146_089_093),
        (u32::MAX, 1_640_531_535),
    ];
    for (x, expected) in vectors {
        assert_eq!(knuth_hash(x), expected, "knuth_hash({x})");
    }
}

#[test]
fn owner_mod_and_owner_range_by_hand() {
    // (hash, shards, hash % shards, hash * shards >> 64)
    let vectors: [(u64, u32, u32, u32); 7] = [
        (0, 7, 0, 0),
        (u64::MAX, 7, 1, 6),
        (1 << 63, 2, 0, 1),
        ((1 << 63) - 1, 2, 1, 0),
        (u64::MAX, 1, 0, 0),
        (12_345_678_901_234_567_890, 10, 0, 6),
        (12_345_678_901_234_567_890, u32::MAX, 2_524_165_215, 2_874_452_364),
    ];
    for (h, n, by_mod, by_range) in vectors {
        assert_eq!(owner_mod(h, n), by_mod, "owner_mod({h}, {n})");
        assert_eq!(owner_range(h, n), by_range, "owner_range({h}, {n})");
    }
    // Zero shards is treated as one.
    assert_eq!((owner_mod(99, 0), owner_range(u64::MAX, 0)), (0, 0));
    // Shard 1 of 3 starts at ceil(2^64 / 3) = 6148914691236517206.
    assert_eq!(shard_range(1, 3), Some(6_148_914_691_236_517_206..=12_297_829_382_473_034_410));
}

#[test]
fn jump_hash_matches_the_published_vectors() {
    let vectors: [(u64, u32, u32); 13] = [
        (1, 1, 0),
        (42, 57, 43),
        (0xDEAD_10CC, 1, 0),
        (0xDEAD_10CC, 666, 361),
        (256, 1_024, 520),
        (0, 2, 0),
        (4, 2, 1),
        (7, 2, 0),
        (1, 128, 55),
        (129, 128, 120),
        (128, 100_000_000, 38_172_097),
        (128, 2_147_483_648, 1_644_467_860),
        (u64::MAX, 128, 92),
    ];
    for (key, buckets, expected) in vectors {
        assert_eq!(jump_hash(key, buckets), expected, "jump_hash({key}, {buckets})");
    }
    // Zero buckets is treated as one.
    assert_eq!(jump_hash(0xDEAD_10CC, 0), 0);
}
