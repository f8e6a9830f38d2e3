//! Outbox invariants over random traces of offers, answers, timeouts, closes and restarts:
//! never more than `capacity` held; every offered message is, after every step, in exactly
//! one of delivered / one drop reason / still held; `take_state_changed` is exact; the same
//! trace gives the same outputs; snapshots round-trip; the change journal, applied to a
//! `(table, key) → value` store after every step, rebuilds the live outbox (`from_rows`), is
//! empty exactly when the snapshot did not change and names each row at most once.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use shardtally::journal::{OutboxRow, RowStore};
use shardtally::outbox::{DropReason, OfferOutcome, Outbox, OutboxConfig, OutboxOutput};
use shardtally::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug)]
enum Step {
    Offer(u8),
    /// Answer the in-flight message at this index (mod the window) as sent.
    Sent(u8),
    Failed(u8),
    /// An answer for an id that may not be in flight.
    Stray(u8, bool),
    Advance(u16),
    Timeout,
    Close,
    Restart,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0u8..12).prop_map(Step::Offer),
        4 => any::<u8>().prop_map(Step::Sent),
        3 => any::<u8>().prop_map(Step::Failed),
        1 => (any::<u8>(), any::<bool>()).prop_map(|(i, s)| Step::Stray(i, s)),
        2 => (0u16..6_000).prop_map(Step::Advance),
        3 => Just(Step::Timeout),
        1 => Just(Step::Close),
        1 => Just(Step::Restart),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Delivered,
    Dropped(DropReason),
}

fn config(seed: u64, window: usize) -> OutboxConfig {
    OutboxConfig::builder().capacity(4).max_message_bytes(8).max_in_flight(window).send_timeout_ms(3_000).seed(seed).build().unwrap()
}

/// Runs a trace, checking the invariants after every step; returns the outputs.
fn run(seed: u64, window: usize, steps: &[Step]) -> Vec<OutboxOutput> {
    let config = config(seed, window);
    let mut o = Outbox::new(config);
    let mut now = 0u64;
    let mut trace = Vec::new();
    // Fates of messages that left the outbox, by id; drops at offer time by reason.
    let mut fates: BTreeMap<u64, Fate> = BTreeMap::new();
    let mut offer_drops: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut offered = 0u64;
    let mut accepted: BTreeSet<u64> = BTreeSet::new();
    let mut before = o.snapshot();
    let mut store = RowStore::new();
    store.apply_outbox(&o.take_changes());
    for st in steps {
        let t = Timestamp::from_millis(now);
        let was_reconnecting = o.is_reconnecting();
        match st {
            Step::Offer(len) => {
                offered += 1;
                match o.offer(vec![*len; usize::from(*len)], t) {
                    OfferOutcome::Queued { id } => assert!(accepted.insert(id), "ids are unique"),
                    OfferOutcome::Dropped(r) => *offer_drops.entry(r.as_str()).or_default() += 1,
                }
            }
            Step::Sent(i) | Step::Failed(i) => {
                let ids = o.in_flight_ids();
                if !ids.is_empty() {
                    let id = ids[usize::from(*i) % ids.len()];
                    if matches!(st, Step::Sent(_)) {
                        assert!(o.sent(id, t));
                        assert!(fates.insert(id, Fate::Delivered).is_none(), "delivered once");
                    } else {
                        assert!(o.failed(id, t));
                    }
                }
            }
            Step::Stray(i, sent) => {
                let id = u64::from(*i % 16);
                if !o.in_flight_ids().contains(&id) {
                    let snap = o.snapshot();
                    assert!(!if *sent { o.sent(id, t) } else { o.failed(id, t) });
                    assert_eq!(o.snapshot(), snap, "a stray answer changes nothing");
                }
            }
            Step::Advance(ms) => now += u64::from(*ms),
            Step::Timeout => {
                if let Some(at) = o.poll_timeout() {
                    now = now.max(at.as_millis());
                    o.handle_timeout(Timestamp::from_millis(now));
                }
            }
            Step::Close => o.close(t),
            Step::Restart => {
                let bytes = o.snapshot();
                let _ = o.take_state_changed();
                let rebuilt = Outbox::from_rows(store.outbox_rows().unwrap(), config).unwrap();
                assert_eq!(rebuilt.snapshot(), bytes, "rebuilt from the stored rows");
                o = if now % 2 == 0 { Outbox::restore(&bytes, config).unwrap() } else { rebuilt };
                assert_eq!(o.snapshot(), bytes, "snapshot round trip");
            }
        }
        let outs: Vec<OutboxOutput> = std::iter::from_fn(|| o.poll_output()).collect();
        for out in &outs {
            match out {
                OutboxOutput::GaveUp { id, .. } => {
                    assert!(fates.insert(*id, Fate::Dropped(DropReason::GaveUp)).is_none(), "given up once");
                }
                OutboxOutput::Send { id, attempt, message } => {
                    assert!(o.in_flight_ids().contains(id) && (1..=2).contains(attempt));
                    assert!(message.len() <= 8);
                }
                OutboxOutput::Drained => assert!(o.is_drained()),
                _ => {}
            }
        }
        if !was_reconnecting && o.is_reconnecting() {
            let delay = o.next_deadline().filter(|d| d.timer.as_str() == "reconnect").map(|d| d.at.as_millis() - now);
            if let Some(delay) = delay {
                assert!((200..5_000).contains(&delay), "reconnect delay {delay}");
            }
        }
        trace.extend(outs);

        // Bounds.
        assert!(o.len() <= 4, "capacity");
        assert!(o.in_flight_ids().len() <= window);
        // Every accepted message is in exactly one place.
        let held: Vec<u64> = o.queued_ids().into_iter().chain(o.in_flight_ids()).collect();
        let held_set: BTreeSet<u64> = held.iter().copied().collect();
        assert_eq!(held_set.len(), held.len(), "held once");
        assert!(held_set.iter().all(|id| !fates.contains_key(id)), "a held message has no fate yet");
        let placed: BTreeSet<u64> = held_set.union(&fates.keys().copied().collect()).copied().collect();
        assert_eq!(placed, accepted, "every accepted message is held, delivered or given up");
        // The counters agree with what we saw.
        let s = o.stats();
        let gave_up = fates.values().filter(|f| **f == Fate::Dropped(DropReason::GaveUp)).count() as u64;
        let delivered = fates.values().filter(|f| **f == Fate::Delivered).count() as u64;
        assert_eq!((s.offered, s.queued, s.delivered, s.gave_up), (offered, accepted.len() as u64, delivered, gave_up));
        for r in [DropReason::Full, DropReason::Closed, DropReason::TooLarge] {
            assert_eq!(s.dropped(r), offer_drops.get(r.as_str()).copied().unwrap_or(0), "{r:?}");
        }
        let dropped: u64 = DropReason::ALL.iter().map(|r| s.dropped(*r)).sum();
        assert_eq!(s.offered, s.delivered + dropped + o.len() as u64, "conservation");

        let snap = o.snapshot();
        assert_eq!(o.take_state_changed(), snap != before, "take_state_changed after {st:?}");
        // The journal: exact, each row once, and what the store holds rebuilds the outbox.
        let rows = o.take_changes();
        assert_eq!(rows.is_empty(), snap == before, "journal after {st:?}: {rows:?}");
        let named: BTreeSet<(&str, Vec<u8>)> = rows.iter().map(|r| (r.table(), r.op().key)).collect();
        assert_eq!(named.len(), rows.len(), "a row named twice in one take: {rows:?}");
        store.apply_outbox(&rows);
        let rebuilt = Outbox::from_rows(store.outbox_rows().unwrap(), config).unwrap();
        assert_eq!(rebuilt.snapshot(), snap, "rebuilt from the store after {st:?}");
        let mut all = RowStore::new();
        all.apply_outbox(&o.rows());
        assert_eq!(all.pairs().collect::<Vec<_>>(), store.pairs().collect::<Vec<_>>(), "rows() is what the store holds");
        assert!(rows.iter().all(|r| !matches!(r, OutboxRow::Cleared(_))), "taken after every step: never a rewrite");
        before = snap;
    }
    trace
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_message_is_accounted_for_after_every_step(
        seed in any::<u64>(),
        window in 1usize..4,
        steps in proptest::collection::vec(step(), 0..80),
    ) {
        run(seed, window, &steps);
    }

    #[test]
    fn the_same_trace_gives_the_same_outputs(seed in any::<u64>(), steps in proptest::collection::vec(step(), 0..60)) {
        prop_assert_eq!(run(seed, 2, &steps), run(seed, 2, &steps));
    }
}

#[test]
fn bad_snapshots_are_decode_errors() {
    let config = config(1, 1);
    let mut o = Outbox::new(config);
    o.offer(b"abc".to_vec(), Timestamp::ZERO);
    o.offer(b"de".to_vec(), Timestamp::ZERO);
    let bytes = o.snapshot();
    for cut in 0..bytes.len() {
        assert!(Outbox::restore(&bytes[..cut], config).is_err(), "truncated at {cut}");
    }
    let mut garbage = bytes.clone();
    for i in 5..garbage.len() {
        garbage[i] ^= 0xA5;
        let _ = Outbox::restore(&garbage, config); // never panics
        garbage[i] ^= 0xA5;
    }
    let small = OutboxConfig::builder().capacity(1).build().unwrap();
    assert_eq!(Outbox::restore(&bytes, small).err().map(|e| e.code()), Some("DECODE_CORRUPT"));
    // The restored outbox offers its in-flight message again.
    let mut r = Outbox::restore(&bytes, config).unwrap();
    assert!(matches!(r.poll_output(), Some(OutboxOutput::Send { id: 1, attempt: 1, .. })));
}
