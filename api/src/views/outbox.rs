//! The outbox's outcomes and outputs.

use crate::value::Record;
use shardtally::outbox::{OfferOutcome, OutboxOutput, OutboxStats};

/// What `offer` did (`OfferOutcome`, tag `queued` with `id`, or `dropped` with `reason`:
/// `full`, `closed`, `too_large`).
pub fn offer_outcome(o: OfferOutcome) -> Record {
    match o {
        OfferOutcome::Queued { id } => Record::new("OfferOutcome", Some("queued")).with("id", id),
        OfferOutcome::Dropped(reason) => Record::new("OfferOutcome", Some("dropped")).with("reason", reason.as_str()),
    }
}

/// An outbox output: `SendOutput` (`send`: `id`, `attempt`, `message`), `ReconnectOutput`
/// (`reconnect`), `GaveUpOutput` (`gave_up`: `id`, `message`), `DrainedOutput` (`drained`).
pub fn outbox_output(o: &OutboxOutput) -> Record {
    match o {
        OutboxOutput::Send { id, attempt, message } => {
            Record::new("SendOutput", Some("send")).with("id", *id).with("attempt", *attempt).with("message", message.clone())
        }
        OutboxOutput::Reconnect => Record::new("ReconnectOutput", Some("reconnect")),
        OutboxOutput::GaveUp { id, message } => {
            Record::new("GaveUpOutput", Some("gave_up")).with("id", *id).with("message", message.clone())
        }
        OutboxOutput::Drained => Record::new("DrainedOutput", Some("drained")),
        // `OutboxOutput` is non-exhaustive; every kind it has today is listed above.
        _ => Record::new("OutboxOutput", None),
    }
}

/// The outbox's activity counters.
pub fn outbox_stats(s: OutboxStats) -> Record {
    Record::new("OutboxStats", None)
        .with("offered", s.offered)
        .with("queued", s.queued)
        .with("delivered", s.delivered)
        .with("dropped_full", s.dropped_full)
        .with("dropped_closed", s.dropped_closed)
        .with("dropped_too_large", s.dropped_too_large)
        .with("gave_up", s.gave_up)
        .with("failures", s.failures)
        .with("timeouts", s.timeouts)
        .with("resends", s.resends)
        .with("reconnects", s.reconnects)
}
