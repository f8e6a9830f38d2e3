//! The global's publish policy: by writes, idle and max age; full or changed keys; failures
//! never lose a change; versions and acknowledgements.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shardtally::*;

fn one_shot() -> ShardConfig {
    ShardConfig::builder().flush_after_requests(1).build().unwrap()
}

#[test]
fn publishes_after_writes_then_idle_then_max_age() {
    let mut s = shard(one_shot(), 0);
    let mut g =
        Global::new(GlobalConfig::builder().persist_after_writes(10).persist_after_idle_ms(100).persist_max_age_ms(250).build().unwrap());
    for i in 0..10 {
        assert!(publishes(&mut g).is_empty());
        s.increment("x", 1, t(i)).unwrap();
        pump(&mut s, &mut g, t(i));
    }
    let p = publishes(&mut g);
    assert_eq!((p.len(), p[0].reason, p[0].version), (1, PublishReason::Writes, 1));
    assert!(g.handle_publish_ack(1, t(10)));
    assert_eq!(g.published_version(), 1);

    s.increment("x", 1, t(10)).unwrap();
    pump(&mut s, &mut g, t(10));
    assert_eq!(g.next_deadline(), Some(Deadline { at: t(110), timer: GlobalTimer::Idle }));
    g.handle_timeout(t(110));
    let p = publishes(&mut g);
    assert_eq!(p[0].reason, PublishReason::Idle);
    g.handle_publish_ack(p[0].version, t(110));

    // Steady traffic every 90 ms keeps idle from firing (and stays under 10 writes); max age
    // publishes 250 ms after the first unpublished change at 200.
    let mut at = 200;
    let reason = loop {
        s.increment("x", 1, t(at)).unwrap();
        pump(&mut s, &mut g, t(at));
        at += 90;
        g.handle_timeout(t(at));
        if let Some(p) = publishes(&mut g).pop() {
            break (p.reason, at);
        }
    };
    assert_eq!(reason, (PublishReason::MaxAge, 470));
}

#[test]
fn a_failed_publish_keeps_its_changes_and_retries_with_a_new_version() {
    let mut s = shard(one_shot(), 0);
    let mut g = Global::new(GlobalConfig::builder().persist_after_writes(1).publish_mode(PublishMode::Changes).build().unwrap());
    s.increment("a", 1, t(0)).unwrap();
    pump(&mut s, &mut g, t(0));
    let first = publishes(&mut g).pop().unwrap();
    assert_eq!(first.entries, vec![("a".into(), 1)]);
    // While it is in flight, b changes.
    s.increment("b", 2, t(1)).unwrap();
    pump(&mut s, &mut g, t(1));
    assert!(publishes(&mut g).is_empty(), "one publish in flight at a time");
    assert!(g.handle_publish_failure(first.version, t(2)));
    assert_eq!(g.next_deadline().unwrap().timer, GlobalTimer::PublishRetry);
    let at = g.poll_timeout().unwrap();
    g.handle_timeout(at);
    let retry = publishes(&mut g).pop().unwrap();
    assert_eq!(retry.reason, PublishReason::Retry);
    assert!(retry.version > first.version);
    assert_eq!(retry.entries, vec![("a".into(), 1), ("b".into(), 2)]);
    assert!(!g.handle_publish_ack(first.version, at), "a superseded version is not acknowledged");
    assert!(g.handle_publish_ack(retry.version, at));
    assert_eq!(g.published_version(), retry.version);
    assert_eq!(g.publish(at), PublishOutcome::NothingChanged);
}

#[test]
fn an_unanswered_publish_times_out_and_is_retried() {
    let mut s = shard(one_shot(), 0);
    let mut g = Global::new(GlobalConfig::builder().persist_after_writes(1).build().unwrap());
    s.increment("a", 1, t(0)).unwrap();
    pump(&mut s, &mut g, t(0));
    let p = publishes(&mut g).pop().unwrap();
    assert_eq!(g.next_deadline(), Some(Deadline { at: t(10_000), timer: GlobalTimer::PublishTimeout }));
    g.handle_timeout(t(10_000));
    g.handle_timeout(t(10_000));
    assert_eq!(g.stats().publish_failures, 1);
    let at = g.poll_timeout().unwrap();
    g.handle_timeout(at);
    let again = publishes(&mut g).pop().unwrap();
    assert_eq!(again.version, p.version + 1);
    assert_eq!(again.mode, PublishMode::Full);
}

#[test]
fn full_mode_publishes_every_key_changes_mode_only_changed_ones() {
    for (mode, expect) in [(PublishMode::Full, vec![("a", 1), ("b", 1)]), (PublishMode::Changes, vec![("b", 1)])] {
        let mut s = shard(one_shot(), 0);
        let mut g = Global::new(GlobalConfig::builder().persist_after_writes(1).publish_mode(mode).build().unwrap());
        s.increment("a", 1, t(0)).unwrap();
        pump(&mut s, &mut g, t(0));
        let p = publishes(&mut g).pop().unwrap();
        g.handle_publish_ack(p.version, t(0));
        s.increment("b", 1, t(1)).unwrap();
        pump(&mut s, &mut g, t(1));
        let p = publishes(&mut g).pop().unwrap();
        let got: Vec<(&str, i64)> = p.entries.iter().map(|(k, v)| (&**k, *v)).collect();
        assert_eq!(got, expect, "{mode:?}");
    }
}

#[test]
fn manual_publish_is_deferred_while_one_is_in_flight() {
    let mut s = shard(one_shot(), 0);
    let mut g = Global::new(GlobalConfig::builder().persist_after_writes(0).build().unwrap());
    assert_eq!(g.publish(t(0)), PublishOutcome::NothingChanged);
    s.increment("a", 1, t(0)).unwrap();
    pump(&mut s, &mut g, t(0));
    assert_eq!(g.publish(t(0)), PublishOutcome::Sent { version: 1 });
    s.increment("a", 1, t(1)).unwrap();
    pump(&mut s, &mut g, t(1));
    assert_eq!(g.publish(t(1)), PublishOutcome::Deferred);
    publishes(&mut g);
    g.handle_publish_ack(1, t(2));
    let p = publishes(&mut g).pop().unwrap();
    assert_eq!((p.version, p.reason), (2, PublishReason::Manual));
}
