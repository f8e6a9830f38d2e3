//! The time buckets' methods, for the replayer. Days and periods are strings, parsed as a
//! binding parses them (a malformed one is the engine's `INVALID_ARGUMENT`).

use super::{ok, Args, Bad, CallResult};
use shardtally::buckets::{Buckets, Day, Period};
use shardtally::Timestamp;
use shardtally_api::{views, AnyError, Value};

fn day(a: &mut Args<'_>, what: &str) -> Bad<Result<Day, AnyError>> {
    Ok(Day::parse(&a.string(what)?).map_err(AnyError::from))
}

fn period(a: &mut Args<'_>) -> Bad<Result<Period, AnyError>> {
    Ok(Period::parse(&a.string("period")?).map_err(AnyError::from))
}

pub(super) fn call(b: &mut Buckets, method: &str, a: &mut Args<'_>) -> Bad<CallResult> {
    let err = AnyError::from;
    Ok(match method {
        "record" => {
            let (key, at, now) = (a.key()?, a.time("at")?, a.now()?);
            a.done()?;
            b.record(&key, at, now).map_err(err).and_then(|o| ok(views::record_outcome(o)))
        }
        "record_count" => {
            let (key, count, at, now) = (a.key()?, a.i64("count")?, a.time("at")?, a.now()?);
            a.done()?;
            b.record_count(&key, count, at, now).map_err(err).and_then(|o| ok(views::record_outcome(o)))
        }
        "record_many" => {
            let (entries, at, now) = (a.entries()?, a.time("at")?, a.now()?);
            a.done()?;
            b.record_many(&entries, at, now).map_err(err).and_then(|o| ok(views::record_outcome(o)))
        }
        "record_batch" => {
            let (batch, at, now) = (a.batch()?, a.time("at")?, a.now()?);
            a.done()?;
            batch.and_then(|batch| b.record_batch(&batch, at, now).map_err(err)).and_then(|o| ok(views::record_outcome(o)))
        }
        "rollup" => {
            let (period, now) = (period(a)?, a.now()?);
            a.done()?;
            period.and_then(|p| b.rollup(p, now).map_err(err)).and_then(|o| ok(views::rollup_outcome(o)))
        }
        "expire" | "handle_timeout" => {
            let now = a.now()?;
            a.done()?;
            if method == "expire" {
                ok(views::expire_outcome(b.expire(now)))
            } else {
                b.handle_timeout(now);
                ok(Value::Null)
            }
        }
        "day_of" => {
            let at = a.time("at")?;
            a.done()?;
            b.day_of(at).map_err(err).and_then(|d| ok(d.to_string().as_str()))
        }
        "day_start" => {
            let d = day(a, "day")?;
            a.done()?;
            d.and_then(|d| ok(b.day_start(d).map(Timestamp::as_millis)))
        }
        "daily_totals" => {
            let (from, to) = (day(a, "from")?, day(a, "to")?);
            a.done()?;
            from.and_then(|f| to.map(|t| (f, t)))
                .and_then(|(f, t)| b.daily_totals(f, t).map_err(err))
                .and_then(|all| ok(views::daily_totals(&all)))
        }
        "period_totals" => {
            let p = period(a)?;
            a.done()?;
            p.and_then(|p| b.period_totals(p).map_err(err)).and_then(|all| ok(views::period_totals(&all)))
        }
        "daily_total" | "raw_count" => {
            let (d, key) = (day(a, "day")?, a.key()?);
            a.done()?;
            d.and_then(|d| ok(if method == "daily_total" { b.daily_total(d, &key) } else { b.raw_count(d, &key) }))
        }
        other => {
            a.done()?;
            match other {
                "poll_timeout" => ok(b.poll_timeout().map(Timestamp::as_millis)),
                "next_deadline" => ok(b.next_deadline().map(views::deadline)),
                "take_state_changed" => ok(b.take_state_changed()),
                "take_changes" => ok(views::buckets_changes(&b.take_changes())),
                "rows" => ok(views::buckets_rows(&b.rows())),
                "raw_days" => ok(views::days(&b.raw_days())),
                "raw_events" => ok(b.raw_events()),
                "key_count" => ok(b.key_count()),
                "daily_days" => ok(b.daily_days()),
                "stats" => ok(views::buckets_stats(b.stats())),
                _ => return Err(format!("Buckets has no method {other:?}")),
            }
        }
    })
}
