//! The outbox's methods, for the replayer.

use super::{ok, Args, Bad, CallResult};
use shardtally::outbox::Outbox;
use shardtally::Timestamp;
use shardtally_api::{views, Value};

pub(super) fn call(o: &mut Outbox, method: &str, a: &mut Args<'_>) -> Bad<CallResult> {
    Ok(match method {
        "offer" => {
            let (message, now) = (a.bytes("message")?, a.now()?);
            a.done()?;
            ok(views::offer_outcome(o.offer(message, now)))
        }
        "sent" | "failed" => {
            let (id, now) = (a.u64("id")?, a.now()?);
            a.done()?;
            ok(if method == "sent" { o.sent(id, now) } else { o.failed(id, now) })
        }
        "close" | "handle_timeout" => {
            let now = a.now()?;
            a.done()?;
            if method == "close" {
                o.close(now);
            } else {
                o.handle_timeout(now);
            }
            ok(Value::Null)
        }
        other => {
            a.done()?;
            let ids = |v: Vec<u64>| Value::List(v.into_iter().map(Value::from).collect());
            match other {
                "poll_output" => ok(o.poll_output().map(|out| views::outbox_output(&out))),
                "poll_timeout" => ok(o.poll_timeout().map(Timestamp::as_millis)),
                "next_deadline" => ok(o.next_deadline().map(views::deadline)),
                "take_state_changed" => ok(o.take_state_changed()),
                "len" => ok(o.len()),
                "is_empty" => ok(o.is_empty()),
                "queued_ids" => ok(ids(o.queued_ids())),
                "in_flight_ids" => ok(ids(o.in_flight_ids())),
                "is_reconnecting" => ok(o.is_reconnecting()),
                "is_closed" => ok(o.is_closed()),
                "is_drained" => ok(o.is_drained()),
                "stats" => ok(views::outbox_stats(o.stats())),
                "take_changes" => ok(views::outbox_row_ops(&o.take_changes())),
                "rows" => ok(views::outbox_row_ops(&o.rows())),
                _ => return Err(format!("Outbox has no method {other:?}")),
            }
        }
    })
}
