//! SPEC §11 scenario 4: a batch fails; 2 more increments arrive; the retry re-sends the same
//! batch; after its acknowledgement the 2 new increments go in the next batch. Totals exact.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shardtally::*;

#[test]
fn failed_batch_is_resent_unchanged_and_new_increments_follow_it() {
    let mut s = shard(spec_shard(), 0);
    let mut g = Global::new(GlobalConfig::default());
    for i in 0..100 {
        s.increment("x", 1, t(i)).unwrap();
    }
    let first = batches(&mut s).pop().unwrap();
    assert!(s.handle_failure(first.seq(), t(100)));
    assert!(!s.handle_failure(first.seq(), t(100)), "a second report changes nothing");

    s.increment("x", 1, t(200)).unwrap();
    s.increment("y", 1, t(300)).unwrap();
    let retry = s.next_deadline().unwrap();
    assert_eq!(retry.timer, ShardTimer::Retry);
    assert!(retry.at >= t(100 + 800) && retry.at <= t(100 + 1_000), "first backoff is 1000 ms minus up to 20% jitter");
    s.handle_timeout(retry.at);
    let resent = batches(&mut s).pop().unwrap();
    assert_eq!((resent.seq(), resent.reason()), (first.seq(), FlushReason::Retry));
    assert_eq!(entries(&resent), vec![("x".into(), 100)], "the new increments are not merged into the retry");

    let ack = g.handle_batch(&resent, retry.at).unwrap();
    s.handle_ack(&ack, retry.at).unwrap();
    // The two new increments flush at their idle deadline in the next batch.
    let idle = s.poll_timeout().unwrap();
    assert_eq!(idle, t(5_300));
    s.handle_timeout(idle);
    let next = batches(&mut s).pop().unwrap();
    assert_eq!(next.seq(), first.seq() + 1);
    assert_eq!(entries(&next), vec![("x".into(), 1), ("y".into(), 1)]);
    pump_one(&mut s, &mut g, &next, idle);
    assert_eq!((g.total("x"), g.total("y")), (101, 1));
}

fn pump_one(s: &mut Shard, g: &mut Global, b: &Batch, now: Timestamp) {
    let ack = g.handle_batch(b, now).unwrap();
    s.handle_ack(&ack, now).unwrap();
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let config = ShardConfig::builder().flush_after_requests(1).retry_jitter_percent(0).build().unwrap();
    let mut s = shard(config, 0);
    s.increment("x", 1, t(0)).unwrap();
    let b = batches(&mut s).pop().unwrap();
    let mut now = t(0);
    let mut delays = Vec::new();
    for _ in 0..7 {
        assert!(s.handle_failure(b.seq(), now));
        let at = s.poll_timeout().unwrap();
        delays.push(at.as_millis() - now.as_millis());
        s.handle_timeout(at);
        assert_eq!(batches(&mut s).len(), 1);
        now = at;
    }
    assert_eq!(delays, vec![1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
}

#[test]
fn handle_timeout_twice_resends_once() {
    let config = ShardConfig::builder().flush_after_requests(1).build().unwrap();
    let mut s = shard(config, 0);
    s.increment("x", 1, t(0)).unwrap();
    let b = batches(&mut s).pop().unwrap();
    s.handle_failure(b.seq(), t(0));
    let at = s.poll_timeout().unwrap();
    s.handle_timeout(at);
    s.handle_timeout(at);
    assert_eq!(batches(&mut s).len(), 1);
    assert_eq!(s.stats().retries, 1);
}
