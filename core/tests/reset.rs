//! SPEC §11 scenario 5: global `x = 10`, a shard holds pending `x = 5`, `reset(x)` → total 0;
//! the shard's pending 5 never counts; a publish reflects the reset.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shardtally::*;

#[test]
fn pending_deltas_accepted_before_a_reset_never_count() {
    let config = ShardConfig::builder().flush_after_requests(1).build().unwrap();
    let mut s = shard(config, 0);
    let mut g = Global::new(GlobalConfig::default());
    s.increment("x", 10, t(0)).unwrap();
    pump(&mut s, &mut g, t(0));
    publishes(&mut g);
    assert_eq!(g.total("x"), 10);

    // The shard holds x = 5 (in flight, not yet delivered) when the reset happens.
    s.increment("x", 5, t(1)).unwrap();
    let pending_batch = batches(&mut s).pop().unwrap();
    assert_eq!(g.reset("x", t(2)).unwrap(), ResetOutcome::Reset { previous: 10, generation: 1 });
    assert_eq!(g.total("x"), 0);
    let p = publishes(&mut g);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].reason, PublishReason::Reset);
    assert_eq!(p[0].entries, vec![("x".into(), 0)]);

    // More increments accepted before the shard hears of the reset.
    s.increment("x", 2, t(3)).unwrap();
    let ack = g.handle_batch(&pending_batch, t(4)).unwrap();
    assert_eq!(ack.stale_keys().collect::<Vec<_>>(), vec![("x", 1)]);
    assert_eq!(g.total("x"), 0, "the pending 5 never counts");
    s.handle_ack(&ack, t(4)).unwrap();
    // The shard dropped its own stale x = 2 once it learned of the reset.
    assert_eq!(s.generation(), 1);
    assert_eq!(s.pending_delta("x"), 0);
    assert_eq!(s.stats().stale_dropped, 1);

    // Increments after the shard learned count normally.
    s.increment("x", 3, t(5)).unwrap();
    pump(&mut s, &mut g, t(5));
    assert_eq!(g.total("x"), 3);
    let log: Vec<&WriteRecord> = g.write_log().collect();
    assert!(log.iter().any(|r| matches!(&r.kind, WriteKind::Reset { key, previous: 10, generation: 1 } if &**key == "x")));
}

#[test]
fn resetting_zero_or_absent_is_not_defined_and_changes_nothing() {
    let mut g = Global::new(GlobalConfig::default());
    assert_eq!(g.reset("nope", t(0)).unwrap(), ResetOutcome::NotDefined);
    let before = g.snapshot();
    assert_eq!(g.reset("nope", t(0)).unwrap(), ResetOutcome::NotDefined);
    assert_eq!(g.snapshot(), before);
    assert!(publishes(&mut g).is_empty());
    assert_eq!(g.reset("", t(0)), Err(Error::EmptyKey));
}

#[test]
fn a_new_shard_that_knows_the_generation_is_not_fenced() {
    let config = ShardConfig::builder().flush_after_requests(1).build().unwrap();
    let mut g = Global::new(GlobalConfig::default());
    let mut s = shard(config, 0);
    s.increment("x", 4, t(0)).unwrap();
    pump(&mut s, &mut g, t(0));
    g.reset("x", t(1)).unwrap();
    // A shard created later from the global's generation counts at once.
    let mut fresh = Shard::with_generation(config, ShardRef { shard: 1, incarnation: 9 }, g.generation());
    fresh.increment("x", 2, t(2)).unwrap();
    pump(&mut fresh, &mut g, t(2));
    assert_eq!(g.total("x"), 2);
}
