//! SPEC §1.8 "cost follows the change" for the outbox: an offer and a delivery (which sends
//! the next message) write the same few journal rows, bytes within 2× of each other, whether
//! it holds 10 messages or 1 000; a message's bytes are written once, when it is offered.

#![allow(clippy::unwrap_used)]

use shardtally::journal::OutboxRow;
use shardtally::outbox::{OfferOutcome, Outbox, OutboxConfig, OutboxOutput};
use shardtally::Timestamp;

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// `(offer, send answered)` rows and bytes on an outbox holding `n` messages.
fn outbox_cost(n: usize) -> [(usize, usize); 2] {
    let cost = |rows: &[OutboxRow]| (rows.len(), rows.iter().map(|r| r.op().key.len() + r.encode().len()).sum::<usize>());
    let mut o = Outbox::new(OutboxConfig::builder().capacity(4_096).build().unwrap());
    for i in 0..n {
        assert!(matches!(o.offer(format!("message {i}").into_bytes(), t(1)), OfferOutcome::Queued { .. }));
    }
    while o.poll_output().is_some() {}
    o.take_changes();
    o.offer(b"one more".to_vec(), t(2));
    let offer = cost(&o.take_changes());
    let id = o.in_flight_ids()[0];
    assert!(o.sent(id, t(3)));
    assert!(matches!(o.poll_output(), Some(OutboxOutput::Send { .. })), "the next message goes out");
    let rows = o.take_changes();
    assert!(!rows.iter().any(|r| matches!(r, OutboxRow::Message { .. })), "sending does not rewrite a message's bytes: {rows:?}");
    let sent = cost(&rows);
    [offer, sent]
}

#[test]
fn an_offer_and_a_delivery_cost_the_same_rows_at_ten_and_a_thousand_messages() {
    let (small, large) = (outbox_cost(10), outbox_cost(1_000));
    for (what, (s, l)) in ["offer", "delivery"].iter().zip(small.iter().zip(large.iter())) {
        eprintln!("outbox {what}: {} rows / {} bytes at 10 messages, {} rows / {} bytes at 1 000", s.0, s.1, l.0, l.1);
        // A delivery: meta, the message and its send deleted, the next message's send.
        assert!(s.0 <= 4 && l.0 <= 4, "{what}: O(1) rows ({} and {})", s.0, l.0);
        assert!(l.1 <= 2 * s.1 && s.1 <= 2 * l.1, "{what}: bytes within 2x ({} and {})", s.1, l.1);
    }
}
