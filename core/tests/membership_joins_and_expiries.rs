//! SPEC §11 scenario 9 (heartbeat 1000 ms, grace 3000 ms, reshard 5000 ms): r1 joins → `{0,1}`;
//! r2 joins → `{0,2}` and `{1,2}` within 5 s; r1 stops → r2 `{0,1}` after r1 expires; r1
//! rejoins → r2 keeps 0, r1 gets 1; r3 joins → `{2,3}`. Running holders heartbeat every
//! second; the clock jumps from one beat or deadline to the next.

#![allow(clippy::unwrap_used)]

mod membership_support;
use membership_support::*;
use shardtally::*;

const C: &str = "workers";

#[test]
fn scenario_9() {
    let mut h = Host::new(spec_config());

    // t=0: r1 joins an empty cluster and gets an index at once.
    h.join(C, "r1");
    assert_eq!(h.at(0), vec![changed("r1", 0, 1, 1)]);
    assert_eq!(info(&h.m, C, "r1", 0), Ok((0, 1)));

    // t=1000: r2 joins; r1 holds an index, so the reshard waits for the rate limit (5000).
    h.run_until(1_000);
    h.join(C, "r2");
    assert_eq!(info(&h.m, C, "r2", 1_000), Err("NOT_ASSIGNED"));
    assert_eq!(h.m.next_deadline(), Some(Deadline { at: t(5_000), timer: MembershipTimer::Reshard }));
    h.run_until(4_999);
    assert_eq!(info(&h.m, C, "r1", 4_999), Ok((0, 1)), "the count does not change before the reshard");
    assert_eq!(info(&h.m, C, "r2", 4_999), Err("NOT_ASSIGNED"));

    // t=5000 (4 s after r2 joined): {0,2} and {1,2}.
    h.run_until(5_000);
    assert_eq!(h.at(5_000), vec![changed("r1", 0, 2, 2), changed("r2", 1, 2, 2)]);

    // r1 stops after its beat at 6000: alive until 6000 + 1000 + 3000 = 10000.
    h.run_until(6_000);
    h.stop(C, "r1");
    h.run_until(9_999);
    assert_eq!(view(&h.m, C, 9_999), vec![("r1".into(), 0, 2), ("r2".into(), 1, 2)]);
    assert!(h.log.iter().all(|(at, _)| *at <= 5_000), "nothing happens until r1 expires");
    // t=10000: r1 expires and the reshard is allowed again: r2 {0,1}.
    h.run_until(10_000);
    assert_eq!(h.at(10_000), vec![lost("r1", 0, 2, LostReason::Expired), changed("r2", 0, 1, 3)]);
    assert_eq!(info(&h.m, C, "r1", 10_000), Err("UNKNOWN_HOLDER"), "the reshard removed r1");

    // t=12000: r1 rejoins; at 15000 r2 keeps 0 and r1 gets 1.
    h.run_until(12_000);
    h.join(C, "r1");
    assert_eq!(info(&h.m, C, "r1", 12_000), Err("NOT_ASSIGNED"));
    h.run_until(15_000);
    assert_eq!(h.at(15_000), vec![changed("r2", 0, 2, 4), changed("r1", 1, 2, 4)]);

    // t=16000: r3 joins; at 20000 it gets {2,3}.
    h.run_until(16_000);
    h.join(C, "r3");
    h.run_until(20_000);
    assert_eq!(h.at(20_000), vec![changed("r2", 0, 3, 5), changed("r1", 1, 3, 5), changed("r3", 2, 3, 5)]);
    assert_eq!(view(&h.m, C, 20_000), vec![("r2".into(), 0, 3), ("r1".into(), 1, 3), ("r3".into(), 2, 3)]);

    // Nothing else happened, and the steady state has no reshard pending.
    assert_eq!(h.log.len(), 10);
    h.run_until(60_000);
    assert_eq!(h.log.len(), 10);
    let s = h.m.stats();
    assert_eq!((s.registrations, s.expirations, s.reshards, s.moves), (4, 1, 5, 1));
    assert_eq!(h.m.next_deadline().map(|d| d.timer), Some(MembershipTimer::Expiry));
}

#[test]
fn an_expiry_is_noticed_at_its_deadline() {
    let mut h = Host::new(spec_config());
    h.join(C, "r1");
    h.join(C, "r2");
    h.run_until(5_000);
    h.run_until(5_500);
    // r2 crashes after its beat at 5000; r1 keeps beating at 6000, 7000, ...
    h.stop(C, "r2");
    // Its deadline, 5000 + 4000, is the next thing the host must wake up for after r1's beats.
    h.run_until(8_999);
    assert_eq!(h.m.next_deadline(), Some(Deadline { at: t(9_000), timer: MembershipTimer::Expiry }));
    h.run_until(9_000);
    assert_eq!(h.at(9_000), vec![lost("r2", 1, 2, LostReason::Expired)]);
    // The reshard that removes r2 waits for the rate limit: 5000 + 5000.
    assert_eq!(h.m.next_deadline(), Some(Deadline { at: t(10_000), timer: MembershipTimer::Reshard }));
    h.run_until(10_000);
    assert_eq!(h.at(10_000), vec![changed("r1", 0, 1, 3)]);
}

#[test]
fn handle_timeout_early_or_twice_does_nothing() {
    let mut m = Membership::new(spec_config());
    m.register(C, "r1", t(0)).unwrap();
    m.register(C, "r2", t(100)).unwrap();
    drain(&mut m);
    assert!(m.take_state_changed());
    let before = m.snapshot();
    m.handle_timeout(t(3_000));
    m.handle_timeout(t(3_999));
    assert!(!m.take_state_changed() && drain(&mut m).is_empty() && m.snapshot() == before, "early");
    assert_eq!(m.poll_timeout(), Some(t(4_000)), "r1 expires at 0 + 4000");
    // r1 expires; nobody holds an index any more, so r2 need not wait for the rate limit.
    m.handle_timeout(t(4_001));
    assert_eq!(drain(&mut m), vec![lost("r1", 0, 1, LostReason::Expired), changed("r2", 0, 1, 2)]);
    assert!(m.take_state_changed());
    let after = m.snapshot();
    m.handle_timeout(t(4_001));
    m.handle_timeout(t(2_000));
    assert!(!m.take_state_changed() && drain(&mut m).is_empty() && m.snapshot() == after, "twice");
}
