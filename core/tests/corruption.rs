//! Corrupted bytes are typed errors: of 1 000 single-byte mutations of an encoded batch, an
//! ack, a generation notice, journal rows and shard and global snapshots, none is accepted.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shardtally::*;

/// A small deterministic generator for mutation positions and values.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// Applies 1 000 single-byte mutations (a position, and a different value) to `bytes` and
/// returns how many `decode` accepted, and how many failed the checksum.
fn mutate(bytes: &[u8], seed: u64, decode: impl Fn(&[u8]) -> Result<(), DecodeError>) -> (usize, usize) {
    assert!(decode(bytes).is_ok(), "the unmutated bytes decode");
    let mut rng = Lcg(seed);
    let (mut accepted, mut checksum) = (0, 0);
    for _ in 0..1_000 {
        let mut m = bytes.to_vec();
        let i = rng.next() as usize % m.len();
        let flip = 1 + (rng.next() % 255) as u8;
        m[i] ^= flip;
        match decode(&m) {
            Ok(()) => accepted += 1,
            Err(e @ DecodeError::Checksum { .. }) => {
                assert_eq!(e.code(), "DECODE_CHECKSUM");
                checksum += 1;
            }
            Err(_) => {}
        }
    }
    (accepted, checksum)
}

fn busy_pair() -> (Shard, Global, Batch) {
    let config = ShardConfig::builder().flush_after_requests(3).build().unwrap();
    let mut s = shard(config, 4);
    let mut g = Global::new(GlobalConfig::default());
    for (i, k) in ["alpha", "beta", "gamma", "alpha", "delta", "epsilon"].iter().enumerate() {
        s.increment(k, i as i64 * 7 - 3, t(i as u64)).unwrap();
        pump(&mut s, &mut g, t(i as u64));
    }
    s.increments(&[("zeta", 1), ("alpha", 40_000)], t(9)).unwrap();
    s.increment("theta", -2, t(10)).unwrap();
    s.flush(t(10));
    let batch = batches(&mut s).pop().unwrap();
    (s, g, batch)
}

#[test]
fn no_single_byte_mutation_of_a_batch_is_accepted() {
    let (_, _, batch) = busy_pair();
    let (accepted, checksum) = mutate(&batch.encode(), 1, |b| Batch::decode(b).map(|_| ()));
    assert_eq!(accepted, 0);
    assert!(checksum > 800, "most mutations reach the checksum ({checksum})");
}

#[test]
fn no_single_byte_mutation_of_an_ack_is_accepted() {
    let (_, mut g, batch) = busy_pair();
    g.reset("alpha", t(11)).unwrap();
    let ack = g.handle_batch(&batch, t(12)).unwrap();
    assert!(ack.stale_keys().count() > 0);
    let (accepted, _) = mutate(&ack.encode(), 2, |b| Ack::decode(b).map(|_| ()));
    assert_eq!(accepted, 0);
}

#[test]
fn no_single_byte_mutation_of_a_snapshot_is_accepted() {
    let (s, g, _) = busy_pair();
    let (accepted, _) = mutate(&s.snapshot(), 3, |b| Shard::restore(b, ShardConfig::default()).map(|_| ()));
    assert_eq!(accepted, 0);
    let (accepted, _) = mutate(&g.snapshot(), 4, |b| Global::restore(b, GlobalConfig::default()).map(|_| ()));
    assert_eq!(accepted, 0);
}

#[test]
fn no_single_byte_mutation_of_a_notice_or_a_journal_row_is_accepted() {
    let (mut s, mut g, batch) = busy_pair();
    g.handle_batch(&batch, t(11)).unwrap();
    g.reset("alpha", t(12)).unwrap();
    let notice = std::iter::from_fn(|| g.poll_output()).find_map(|o| if let GlobalOutput::Notice(n) = o { Some(n) } else { None }).unwrap();
    let (accepted, _) = mutate(&notice.encode(), 5, |b| GenerationNotice::decode(b).map(|_| ()));
    assert_eq!(accepted, 0);
    for (i, row) in g.rows().iter().enumerate().take(6) {
        let (accepted, _) = mutate(&row.encode(), 6 + i as u64, |b| journal::GlobalRow::decode(b).map(|_| ()));
        assert_eq!(accepted, 0, "global row {row:?}");
    }
    for (i, row) in s.take_changes().iter().enumerate() {
        let (accepted, _) = mutate(&row.encode(), 20 + i as u64, |b| journal::ShardRow::decode(b).map(|_| ()));
        assert_eq!(accepted, 0, "shard row {row:?}");
    }
}
