//! The outbox never blocks: an offer it cannot take is dropped and counted by reason
//! (`full`, `too_large`, `closed`; `gave_up` after a failed re-send) — count only logged it.

#![allow(clippy::unwrap_used)]

use shardtally::outbox::{DropReason, OfferOutcome, Outbox, OutboxConfig, OutboxOutput};
use shardtally::Timestamp;

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

#[test]
fn a_full_outbox_drops_and_counts() {
    let mut o = Outbox::new(OutboxConfig::builder().capacity(2).build().unwrap());
    assert_eq!(o.offer(b"a".to_vec(), t(0)), OfferOutcome::Queued { id: 1 });
    assert_eq!(o.offer(b"b".to_vec(), t(0)), OfferOutcome::Queued { id: 2 });
    // The message in flight still counts against the capacity.
    assert_eq!(o.in_flight_ids(), vec![1]);
    assert_eq!(o.offer(b"c".to_vec(), t(1)), OfferOutcome::Dropped(DropReason::Full));
    assert_eq!(o.len(), 2);
    assert!(o.sent(1, t(2)));
    assert_eq!(o.offer(b"d".to_vec(), t(3)), OfferOutcome::Queued { id: 3 }, "room again after a delivery");
    let s = o.stats();
    assert_eq!((s.offered, s.queued, s.dropped(DropReason::Full), s.delivered), (4, 3, 1, 1));
}

#[test]
fn an_oversized_message_is_dropped_as_too_large() {
    let mut o = Outbox::new(OutboxConfig::builder().max_message_bytes(4).build().unwrap());
    assert_eq!(o.offer(vec![0; 5], t(0)), OfferOutcome::Dropped(DropReason::TooLarge));
    assert_eq!(o.offer(vec![0; 4], t(0)), OfferOutcome::Queued { id: 1 });
    assert_eq!(o.offer(Vec::new(), t(0)), OfferOutcome::Queued { id: 2 }, "an empty message is a message");
    assert_eq!(o.stats().dropped_too_large, 1);
}

#[test]
fn a_closed_outbox_drops_offers_as_closed_before_any_other_reason() {
    let mut o = Outbox::new(OutboxConfig::builder().capacity(1).max_message_bytes(1).build().unwrap());
    o.offer(b"a".to_vec(), t(0));
    o.close(t(1));
    assert_eq!(o.offer(b"b".to_vec(), t(2)), OfferOutcome::Dropped(DropReason::Closed));
    assert_eq!(o.offer(b"too big".to_vec(), t(2)), OfferOutcome::Dropped(DropReason::Closed));
    assert_eq!(o.stats().dropped(DropReason::Closed), 2);
}

#[test]
fn a_message_whose_resend_fails_is_given_up_and_handed_back() {
    let mut o = Outbox::new(OutboxConfig::default());
    o.offer(b"m".to_vec(), t(0));
    assert!(o.failed(1, t(0)));
    let reconnect = o.poll_timeout().unwrap();
    o.handle_timeout(reconnect);
    assert!(o.failed(1, reconnect));
    let outs: Vec<OutboxOutput> = std::iter::from_fn(|| o.poll_output()).collect();
    assert_eq!(outs.last(), Some(&OutboxOutput::GaveUp { id: 1, message: b"m".to_vec() }));
    assert_eq!(o.stats().dropped(DropReason::GaveUp), 1);
    assert!(o.is_empty());
    let names: Vec<&str> = DropReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(names, ["full", "closed", "too_large", "gave_up"]);
}
