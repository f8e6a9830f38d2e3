//! `close` stops new offers and drains: what is held is still delivered (or given up), and
//! `Drained` is reported once when nothing is left.

#![allow(clippy::unwrap_used)]

use shardtally::outbox::{DropReason, OfferOutcome, Outbox, OutboxConfig, OutboxOutput};
use shardtally::Timestamp;

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn outputs(o: &mut Outbox) -> Vec<OutboxOutput> {
    std::iter::from_fn(|| o.poll_output()).collect()
}

#[test]
fn close_delivers_what_is_held_then_reports_drained_once() {
    let mut o = Outbox::new(OutboxConfig::default());
    o.offer(b"a".to_vec(), t(0));
    o.offer(b"b".to_vec(), t(0));
    let _ = outputs(&mut o);
    o.close(t(1));
    assert!(o.is_closed() && !o.is_drained());
    assert_eq!(o.offer(b"c".to_vec(), t(2)), OfferOutcome::Dropped(DropReason::Closed));
    assert!(o.sent(1, t(3)));
    assert!(matches!(outputs(&mut o)[..], [OutboxOutput::Send { id: 2, .. }]));
    assert!(o.sent(2, t(4)));
    assert_eq!(outputs(&mut o), vec![OutboxOutput::Drained]);
    assert!(o.is_drained());
    o.close(t(5));
    o.handle_timeout(t(100_000));
    assert!(outputs(&mut o).is_empty(), "drained is reported once");
}

#[test]
fn closing_an_empty_outbox_is_drained_at_once() {
    let mut o = Outbox::new(OutboxConfig::default());
    o.close(t(0));
    assert_eq!(outputs(&mut o), vec![OutboxOutput::Drained]);
    let snapshot = o.snapshot();
    assert!(o.take_state_changed());
    o.close(t(9));
    assert_eq!(o.snapshot(), snapshot, "closing twice changes nothing");
    assert!(!o.take_state_changed());
}

#[test]
fn a_drain_survives_failures_and_reconnects() {
    let mut o = Outbox::new(OutboxConfig::default());
    o.offer(b"a".to_vec(), t(0));
    o.offer(b"b".to_vec(), t(0));
    o.close(t(0));
    o.failed(1, t(10));
    let at = o.poll_timeout().unwrap();
    o.handle_timeout(at);
    o.failed(1, at); // given up
    let at = o.poll_timeout().unwrap();
    o.handle_timeout(at);
    assert!(o.sent(2, at));
    let outs = outputs(&mut o);
    assert_eq!(outs.last(), Some(&OutboxOutput::Drained));
    let s = o.stats();
    assert_eq!((s.delivered, s.gave_up), (1, 1));
}
