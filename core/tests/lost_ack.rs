//! SPEC §11 scenario 3: a batch (seq 7) is applied but its acknowledgement is lost; the
//! shard re-sends seq 7, which is acknowledged as a duplicate; totals are unchanged.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shardtally::*;

#[test]
fn resent_batch_after_a_lost_ack_is_acknowledged_without_counting_twice() {
    let config = ShardConfig::builder().flush_after_requests(1).build().unwrap();
    let mut s = shard(config, 0);
    let mut g = Global::new(GlobalConfig::default());
    // Batches 1..=6 go through normally.
    for i in 0..6 {
        s.increment("x", 1, t(i)).unwrap();
        pump(&mut s, &mut g, t(i));
    }
    s.increment("x", 10, t(10)).unwrap();
    let b7 = batches(&mut s).pop().unwrap();
    assert_eq!(b7.seq(), 7);
    let lost = g.handle_batch(&b7, t(11)).unwrap();
    assert!(!lost.is_duplicate());
    assert_eq!(g.total("x"), 16);

    // The ack never arrives: the timeout turns into a re-send of the very same batch.
    let timeout = s.poll_timeout().unwrap();
    assert_eq!(s.next_deadline().unwrap().timer, ShardTimer::AckTimeout);
    s.handle_timeout(timeout);
    let retry_at = s.poll_timeout().unwrap();
    s.handle_timeout(retry_at);
    let resent = batches(&mut s).pop().unwrap();
    assert_eq!(resent.seq(), 7);
    assert_eq!(resent.reason(), FlushReason::Retry);
    assert_eq!(resent.entries(), b7.entries());

    let ack = g.handle_batch(&resent, retry_at).unwrap();
    assert!(ack.is_duplicate());
    assert!(s.handle_ack(&ack, retry_at).unwrap());
    assert_eq!(g.total("x"), 16);
    assert_eq!(g.stats().duplicates, 1);
    assert_eq!(g.stats().total_writes, 7);
    assert!(s.in_flight().is_none());
}

#[test]
fn a_late_duplicate_ack_is_harmless() {
    let config = ShardConfig::builder().flush_after_requests(1).build().unwrap();
    let mut s = shard(config, 0);
    let mut g = Global::new(GlobalConfig::default());
    s.increment("x", 1, t(0)).unwrap();
    let b = batches(&mut s).pop().unwrap();
    let ack = g.handle_batch(&b, t(0)).unwrap();
    assert!(s.handle_ack(&ack, t(0)).unwrap());
    assert!(!s.handle_ack(&ack, t(1)).unwrap());
    let other = Shard::new(config, ShardRef { shard: 0, incarnation: 2 });
    let mut other = other;
    assert_eq!(
        other.handle_ack(&ack, t(1)),
        Err(Error::WrongShard { expected: ShardRef { shard: 0, incarnation: 2 }, got: ShardRef { shard: 0, incarnation: 1 } })
    );
}

#[test]
fn a_new_incarnation_is_never_mistaken_for_a_duplicate() {
    let config = ShardConfig::builder().flush_after_requests(1).build().unwrap();
    let mut g = Global::new(GlobalConfig::default());
    let mut first = Shard::new(config, ShardRef { shard: 0, incarnation: 1 });
    first.increment("x", 1, t(0)).unwrap();
    pump(&mut first, &mut g, t(0));
    // The shard lost its state: same index, new incarnation, seq starts at 1 again.
    let mut second = Shard::new(config, ShardRef { shard: 0, incarnation: 2 });
    second.increment("x", 1, t(1)).unwrap();
    let b = batches(&mut second).pop().unwrap();
    assert_eq!(b.seq(), 1);
    assert!(!g.handle_batch(&b, t(1)).unwrap().is_duplicate());
    assert_eq!(g.total("x"), 2);
}
