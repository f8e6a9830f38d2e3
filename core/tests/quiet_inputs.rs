//! Inputs that change nothing leave the snapshot bytes as they were — not even the clock
//! moves — and report no change (a Durable Object pays for every write a report causes):
//! timeouts with nothing due, answers for batches or publishes not in flight, flushes with
//! nothing pending, resets of absent keys. And a timeout that fires something reports it.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shardtally::*;

/// `f` must leave `snapshot()` unchanged and report nothing.
fn quiet<M>(m: &mut M, snapshot: impl Fn(&M) -> Vec<u8>, take: impl Fn(&mut M) -> bool, f: impl FnOnce(&mut M)) {
    let before = snapshot(m);
    f(m);
    assert_eq!(snapshot(m), before, "the snapshot changed");
    assert!(!take(m), "a change was reported");
}

fn quiet_global(g: &mut Global, f: impl FnOnce(&mut Global)) {
    quiet(g, Global::snapshot, Global::take_state_changed, f);
    assert!(g.take_changes().is_empty());
}

fn quiet_shard(s: &mut Shard, f: impl FnOnce(&mut Shard)) {
    quiet(s, Shard::snapshot, Shard::take_state_changed, f);
    assert!(s.take_changes().is_empty());
}

#[test]
fn a_tiered_global_reports_nothing_for_inputs_that_change_nothing() {
    let up = Shard::new(ShardConfig::default(), ShardRef { shard: 100, incarnation: 1 });
    let mut g = Global::with_upstream(GlobalConfig::default(), up);
    let mut leaf = shard(ShardConfig::builder().flush_after_requests(1).build().unwrap(), 0);
    leaf.increment("x", 1, t(10)).unwrap();
    pump(&mut leaf, &mut g, t(10));
    g.take_state_changed();
    g.take_changes();
    let due = g.poll_timeout().unwrap();
    quiet_global(&mut g, |g| g.handle_timeout(t(due.as_millis() - 1)));
    quiet_global(&mut g, |g| assert!(!g.handle_upstream_failure(77, t(20)).unwrap()));
    quiet_global(&mut g, |g| assert!(!g.handle_publish_ack(42, t(20))));
    quiet_global(&mut g, |g| assert!(!g.handle_publish_failure(42, t(20))));
    quiet_global(&mut g, |g| assert_eq!(g.reset("absent", t(20)).unwrap(), ResetOutcome::NotDefined));
    // The upstream shard forwards; flushing again with nothing pending is quiet.
    g.flush_upstream(t(30)).unwrap();
    g.take_state_changed();
    g.take_changes();
    quiet_global(&mut g, |g| assert_eq!(g.flush_upstream(t(40)).unwrap(), FlushOutcome::NothingPending));
    // A timeout that fires reports the change, and the advanced clock is in the snapshot.
    let due = g.poll_timeout().unwrap();
    let before = g.snapshot();
    g.handle_timeout(due);
    assert!(g.take_state_changed());
    assert_ne!(g.snapshot(), before);
    assert!(!g.take_changes().is_empty());
}

#[test]
fn a_shard_reports_nothing_for_inputs_that_change_nothing() {
    let mut s = shard(spec_shard(), 0);
    assert_eq!(s.take_changes().len(), 1, "a new shard's first take is its meta row");
    quiet_shard(&mut s, |s| assert_eq!(s.flush(t(50)), FlushOutcome::NothingPending));
    s.increment("x", 1, t(60)).unwrap();
    s.take_state_changed();
    s.take_changes();
    quiet_shard(&mut s, |s| s.handle_timeout(t(61)));
    quiet_shard(&mut s, |s| assert!(!s.handle_failure(9, t(62))));
    quiet_shard(&mut s, |s| assert!(!s.handle_rejection(9, t(62))));
    s.flush(t(70));
    s.take_state_changed();
    s.take_changes();
    // A second flush while the batch is in flight is already deferred.
    quiet_shard(&mut s, |s| assert!(matches!(s.flush(t(71)), FlushOutcome::NothingPending)));
    s.increment("y", 1, t(72)).unwrap();
    s.flush(t(73));
    s.take_state_changed();
    s.take_changes();
    quiet_shard(&mut s, |s| assert!(matches!(s.flush(t(74)), FlushOutcome::Deferred { .. })));
    quiet_shard(&mut s, |s| s.handle_timeout(t(75)));
}

#[test]
fn a_due_timeout_persists_the_clock_it_acted_on() {
    // A host that persists only when told must not lose a timeout's effects on restart.
    let mut g = Global::new(GlobalConfig::builder().persist_after_writes(0).build().unwrap());
    let mut s = shard(ShardConfig::builder().flush_after_requests(1).build().unwrap(), 0);
    s.increment("x", 1, t(0)).unwrap();
    pump(&mut s, &mut g, t(0));
    g.take_state_changed();
    let mut persisted = g.snapshot();
    let due = g.poll_timeout().unwrap();
    for now in [due.as_millis() - 10, due.as_millis(), due.as_millis() + 5] {
        g.handle_timeout(t(now));
        if g.take_state_changed() {
            persisted = g.snapshot();
        }
        assert_eq!(persisted, g.snapshot(), "the persisted state is the live state");
    }
}
