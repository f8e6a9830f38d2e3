//! Every rejected input returns a typed error and leaves the machine exactly as it was.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shardtally::*;

fn small() -> ShardConfig {
    ShardConfig::builder().max_key_bytes(4).max_pending_keys(3).max_interned_keys(2).flush_after_requests(0).build().unwrap()
}

/// Applies `f`, which must fail with `err`, and checks the snapshot did not change.
fn rejected(s: &mut Shard, err: Error, f: impl FnOnce(&mut Shard) -> Result<(), Error>) {
    let before = s.snapshot();
    assert_eq!(f(s), Err(err));
    assert_eq!(s.snapshot(), before, "a rejected input changed the state");
    assert!(s.poll_output().is_none());
}

#[test]
fn shard_rejects_bad_keys_overflow_and_full_tables_atomically() {
    let mut s = shard(small(), 0);
    s.increment("a", i64::MAX - 1, t(5)).unwrap();
    let id = s.intern("b").unwrap();
    rejected(&mut s, Error::EmptyKey, |s| s.increment("", 1, t(6)));
    rejected(&mut s, Error::KeyTooLong { len: 5, max: 4 }, |s| s.increment("abcde", 1, t(6)));
    rejected(&mut s, Error::Overflow { key: "a".into(), current: i64::MAX - 1, delta: 2 }, |s| s.increment("a", 2, t(6)));
    // Multi-key: the bad entry is last, nothing before it is applied.
    rejected(&mut s, Error::Overflow { key: "a".into(), current: i64::MAX - 1, delta: 2 }, |s| {
        s.increments(&[("c", 1), ("a", 1), ("a", 1)], t(6))
    });
    rejected(&mut s, Error::KeyTooLong { len: 6, max: 4 }, |s| s.increments(&[("c", 1), ("toolon", 1)], t(6)));
    rejected(&mut s, Error::TableFull { table: "pending keys", limit: 3 }, |s| s.increments(&[("c", 1), ("d", 1), ("e", 1)], t(6)));
    rejected(&mut s, Error::UnknownKeyId { id: 77 }, |s| s.increment_id(KeyId::from_raw(77), 1, t(6)));
    rejected(&mut s, Error::LengthMismatch { what: "ids and deltas", left: 1, right: 2 }, |s| s.increment_ids(&[id], &[1, 2], t(6)));
    rejected(&mut s, Error::Overflow { key: "b".into(), current: i64::MAX, delta: 1 }, |s| {
        s.increment_ids(&[id, id], &[i64::MAX, 1], t(6))
    });
    let c = s.intern("c").unwrap();
    // Three pending entries would exceed max_pending_keys (3) only with a fourth key.
    s.increment("d", 1, t(7)).unwrap();
    rejected(&mut s, Error::TableFull { table: "pending keys", limit: 3 }, |s| s.increment_ids(&[id, c], &[1, 1], t(8)));
    let before = s.snapshot();
    assert_eq!(s.intern("d"), Err(Error::TableFull { table: "interned keys", limit: 2 }));
    assert_eq!(s.snapshot(), before);
    // The failures did not count as requests either.
    assert_eq!(s.pending_requests(), 2);
}

#[test]
fn unknown_ids_from_other_shards_are_rejected() {
    let mut a = shard(small(), 0);
    let mut b = shard(small(), 1);
    let id = a.intern("k").unwrap();
    assert_eq!(b.increment_id(id, 1, t(0)), Err(Error::UnknownKeyId { id: id.raw() }));
    // An auto-allocated slot is not an issued id.
    b.increment("q", 1, t(0)).unwrap();
    assert_eq!(b.increment_id(KeyId::from_raw(0), 1, t(0)), Err(Error::UnknownKeyId { id: 0 }));
}

#[test]
fn global_rejects_overflowing_batches_atomically() {
    let config = ShardConfig::builder().flush_after_requests(1).build().unwrap();
    let mut g = Global::new(GlobalConfig::builder().max_keys(2).build().unwrap());
    let mut s = shard(config, 0);
    s.increment("a", i64::MAX, t(0)).unwrap();
    pump(&mut s, &mut g, t(0));
    let mut s2 = shard(config, 1);
    s2.increments(&[("a", 1), ("b", 1)], t(1)).unwrap();
    let b = batches(&mut s2).pop().unwrap();
    let before = g.snapshot();
    assert_eq!(g.handle_batch(&b, t(2)), Err(Error::Overflow { key: "a".into(), current: i64::MAX, delta: 1 }));
    assert_eq!(g.snapshot(), before);
    let mut s3 = shard(config, 2);
    s3.increments(&[("b", 1), ("c", 1)], t(3)).unwrap();
    let b = batches(&mut s3).pop().unwrap();
    assert_eq!(g.handle_batch(&b, t(4)), Err(Error::TableFull { table: "totals", limit: 2 }));
    assert_eq!(g.snapshot(), before);
    // The shard keeps the batch in flight and retries later: nothing is lost.
    assert!(s3.handle_failure(b.seq(), t(4)));
    assert_eq!(s3.in_flight().unwrap().entries().len(), 2);
}

#[test]
fn global_rejects_keys_longer_than_its_bound() {
    let mut s = shard(ShardConfig::builder().flush_after_requests(1).build().unwrap(), 0);
    let mut g = Global::new(GlobalConfig::builder().max_key_bytes(3).build().unwrap());
    s.increment("long", 1, t(0)).unwrap();
    let b = batches(&mut s).pop().unwrap();
    assert_eq!(g.handle_batch(&b, t(0)), Err(Error::KeyTooLong { len: 4, max: 3 }));
}

#[test]
fn garbage_bytes_are_decode_errors() {
    for bytes in [&b""[..], b"sht", b"sht\x01\x01", b"sht\x01\x02\x00", b"xyz\x01\x01\x00\x00", &[0xff; 64]] {
        assert!(Shard::restore(bytes, ShardConfig::default()).is_err());
        assert!(Global::restore(bytes, GlobalConfig::default()).is_err());
        assert!(Router::restore(bytes).is_err());
        assert!(Batch::decode(bytes).is_err());
        assert!(Ack::decode(bytes).is_err());
    }
    let err = Shard::restore(b"sht\x01\x09", ShardConfig::default()).unwrap_err();
    assert_eq!(err, DecodeError::UnsupportedVersion { found: 9, supported: snapshot::FORMAT_VERSION });
    assert_eq!(err.code(), "DECODE_UNSUPPORTED_VERSION");
}

#[test]
fn every_error_has_a_stable_code() {
    assert_eq!(Error::EmptyKey.code(), "EMPTY_KEY");
    assert_eq!(Error::KeyTooLong { len: 1, max: 0 }.to_string(), "key is 1 bytes, at most 0 are allowed");
    assert_eq!(ConfigError::Zero { field: "max_keys" }.code(), "CONFIG_ZERO");
    assert_eq!(ConfigError::Zero { field: "max_keys" }.to_string(), "max_keys must be greater than zero");
}
