//! Every output, outcome and view of the machines as a [`Value`]: the one place that says
//! which fields each has, in which order, under which names and tags.
//!
//! | class | tag (JS `type`) | fields |
//! |---|---|---|
//! | `ShardRef` | | `shard`, `incarnation` |
//! | `BatchEntry` (entries) | | `key`, `generation`, `delta` |
//! | `BatchOutput` | `batch` | `bytes`, `shard`, `incarnation`, `seq`, `reason`, `entries` |
//! | `ForwardOutput` | `forward` | as `BatchOutput` |
//! | `AckOutput` | `ack` | `bytes`, `shard`, `incarnation`, `seq`, `duplicate`, `generation`, `stale_keys` |
//! | `StaleKey` (entries) | | `key`, `generation` |
//! | `NoticeOutput` | `notice` | `bytes`, `shard`, `incarnation`, `generation`, `keys` |
//! | `PublishOutput` | `publish` | `version`, `mode`, `reason`, `entries` |
//! | `KeyTotal` (entries) | | `key`, `total` |
//! | `FlushOutcome` | `sent` / `deferred` / `nothing_pending` | `seq` (not for `nothing_pending`) |
//! | `PublishOutcome` | `sent` / `deferred` / `nothing_changed` | `version` (`sent` only) |
//! | `ResetOutcome` | `reset` / `not_defined` | `previous`, `generation` (`reset` only) |
//! | `Deadline` | | `at_ms`, `timer` |
//! | `ShardStats`, `GlobalStats` | | the counters of core's structs |
//! | `ShardWrites` | | `shard`, `writes`, `deltas` |
//! | `KeyDelta` (entries) | | `key`, `delta` |
//! | `BatchWrite` | `batch` | `at_ms`, `shard`, `incarnation`, `seq`, `keys`, `entries`, `omitted` |
//! | `ResetWrite` | `reset` | `at_ms`, `key`, `previous`, `generation` |
//! | `RowOp` | | `op` (`put` / `delete` / `clear` / `delete_below`), `table`, `key` (bytes), `value` (bytes, `put` only, else null) |
//! | `HashRange` | | `start`, `end` (inclusive) |
//! | `ShardSettings`, `GlobalSettings`, `GatewaySettings`, `MembershipSettings`, `BucketsSettings`, `OutboxSettings` | | every setting of the machine's configuration, in its `SETTINGS` order (`config()`, what `restore` takes besides the snapshot); a tiered global's then `upstream` (a `ShardSettings`) |
//! | **Gateway** | | |
//! | `Route` | `replica` / `pending` | `replica`, `reason` (`sticky` / `current` / `least_loaded`), `expires_at` (`replica`); `creation` (`pending`) |
//! | `Placement` | | `creation`, `replica`, `requests` |
//! | `ConnectOutcome` | `reserved` / `unreserved` / `already_open` | |
//! | `Delivery` | | `replica`, `audience` (an `Audience`) |
//! | `Audience` | `all` / `all_except` / `request` | `connection` (`all_except`); `request` (`request`) |
//! | `GossipPlan` | | `gossip`, `peers`, `deadline` |
//! | `CreateReplicaOutput` | `create_replica` | `creation` |
//! | `IntroduceOutput` | `introduce` | `replica`, `peers` |
//! | `CreationExpiredOutput` | `creation_expired` | `creation`, `requests` |
//! | `RetireOutput` | `retire` | `replica` |
//! | `GossipDoneOutput` | `gossip_done` | `gossip`, `origin`, `replies` (`GossipReply`s), `failed`, `missing` |
//! | `GossipReply` | | `peer`, `payload` (bytes) |
//! | `ReplicaView` | | `id`, `connections`, `reservations` |
//! | `ReservationView` | | `request`, `replica`, `expires_at` |
//! | `Connection` | | `connection`, `request` |
//! | `PendingCreation` | | `creation`, `requests` |
//! | `GatewayStats` | | the counters of core's struct |
//! | **Membership** | | |
//! | `ShardInfo` | | `cluster`, `holder`, `shard`, `num_shards`, `epoch` |
//! | `ShardChangedOutput` | `shard_changed` | as `ShardInfo` |
//! | `ShardLostOutput` | `shard_lost` | as `ShardInfo`, then `reason` (`expired` / `unregistered`) |
//! | `ClusterInfo` | | `epoch`, `num_shards`, `holders`, `assigned`, `last_reshard_at`, `next_reshard_at`, `stats` (a `MembershipStats`) |
//! | `MembershipStats` | | the counters of core's struct |
//! | **Buckets** | | |
//! | `RecordOutcome` | `recorded` / `too_old` | `day` |
//! | `RollupOutcome` | | `days`, `rows`, `events`, `dropped_days` |
//! | `ExpireOutcome` | | `days`, `events` |
//! | `DailyTotal` | | `day`, `key`, `total` |
//! | `KeyTotal` (entries) | | `key`, `total` (`period_totals`) |
//! | `BucketsStats` | | the counters of core's struct |
//! | `BucketsRawRow` | `raw` | `day`, `key`, `count` |
//! | `BucketsDailyRow` | `daily` | `day`, `key`, `total` |
//! | `BucketsMeta` | `meta` | `clock`, `stats` (a `BucketsStats`), `bytes` (the row for a blob column; `options::buckets_from_rows` takes it back) |
//! | `BucketsRawDayDeleted` | `raw_day_deleted` | `day` |
//! | `BucketsDailyDayDeleted` | `daily_day_deleted` | `day` |
//! | **Outbox** | | |
//! | `OfferOutcome` | `queued` / `dropped` | `id` (`queued`); `reason` (`dropped`: `full` / `closed` / `too_large`) |
//! | `SendOutput` | `send` | `id`, `attempt`, `message` (bytes) |
//! | `ReconnectOutput` | `reconnect` | |
//! | `GaveUpOutput` | `gave_up` | `id`, `message` (bytes) |
//! | `DrainedOutput` | `drained` | |
//! | `OutboxStats` | | the counters of core's struct |
//!
//! Times are integers of milliseconds (`at_ms`, `expires_at`, `deadline`, `clock`, ...),
//! days are `"YYYY-MM-DD"` strings, and ids issued by a machine (creations, gossips, outbox
//! messages) are integers; every other id is a string. A `Deadline`'s `timer` is the
//! machine's timer name: a gateway's `reservation_expiry`, `creation_timeout`,
//! `gossip_timeout`, `retire`; membership's `expiry`, `reshard`; buckets' `retention`; an
//! outbox's `reconnect`, `send_timeout`.

use crate::value::{Column, Entries, Record, Value};
use shardtally::buckets::BucketsTimer;
use shardtally::outbox::OutboxTimer;
use shardtally::settings::SettingValue;
use shardtally::{
    Ack, Batch, BatchEntry, Deadline, FlushOutcome, GatewayTimer, GenerationNotice, GlobalStats, GlobalTimer, MembershipTimer, Publish,
    PublishOutcome, ResetOutcome, ShardRef, ShardStats, ShardTimer, ShardWrites, WriteKind, WriteRecord,
};
use std::sync::Arc;

mod buckets;
mod gateway;
mod journal;
mod membership;
mod outbox;

pub use buckets::*;
pub use gateway::*;
pub use journal::*;
pub use membership::*;
pub use outbox::*;

/// A list of strings (ids, names).
pub fn strings<S: AsRef<str>>(items: &[S]) -> Value {
    Value::List(items.iter().map(|s| Value::from(s.as_ref())).collect())
}

/// The hashes a shard owns (`HashRange {start, end}`, inclusive), or null.
pub fn hash_range(r: Option<std::ops::RangeInclusive<u64>>) -> Value {
    r.map_or(Value::Null, |r| Value::Record(Record::new("HashRange", None).with("start", *r.start()).with("end", *r.end())))
}

/// `{shard, incarnation}`.
pub fn shard_ref(r: ShardRef) -> Record {
    Record::new("ShardRef", None).with("shard", r.shard).with("incarnation", r.incarnation)
}

/// `[{key, generation, delta}]`.
pub fn batch_entries(entries: &[BatchEntry]) -> Entries {
    let keys = entries.iter().map(|e| Arc::from(e.key())).collect();
    let generations = entries.iter().map(BatchEntry::generation).collect();
    let deltas = entries.iter().map(BatchEntry::delta).collect();
    Entries { class: "BatchEntry", keys, columns: vec![("generation", Column::U64(generations)), ("delta", Column::I64(deltas))] }
}

/// A batch as the shard's output (`class` `BatchOutput`, tag `batch`) or a tiered global's
/// (`ForwardOutput`, `forward`), with its wire encoding in `bytes`.
pub fn batch(b: &Batch, forward: bool) -> Record {
    let (class, tag) = if forward { ("ForwardOutput", "forward") } else { ("BatchOutput", "batch") };
    Record::new(class, Some(tag))
        .with("bytes", b.encode())
        .with("shard", b.from().shard)
        .with("incarnation", b.from().incarnation)
        .with("seq", b.seq())
        .with("reason", b.reason().as_str())
        .with("entries", batch_entries(b.entries()))
}

/// The global's answer to a batch (`AckOutput`, tag `ack`).
pub fn ack(a: &Ack) -> Record {
    let (keys, generations): (Vec<Arc<str>>, Vec<u64>) = a.stale_keys().map(|(k, g)| (Arc::from(k), g)).unzip();
    Record::new("AckOutput", Some("ack"))
        .with("bytes", a.encode())
        .with("shard", a.to().shard)
        .with("incarnation", a.to().incarnation)
        .with("seq", a.seq())
        .with("duplicate", a.is_duplicate())
        .with("generation", a.generation())
        .with("stale_keys", Entries { class: "StaleKey", keys, columns: vec![("generation", Column::U64(generations))] })
}

/// A reset for a shard to learn at once (`NoticeOutput`, tag `notice`): deliver it to the
/// shard addressed by `shard` / `incarnation`.
pub fn notice(n: &GenerationNotice) -> Record {
    let (keys, generations): (Vec<Arc<str>>, Vec<u64>) = n.keys().map(|(k, g)| (Arc::from(k), g)).unzip();
    Record::new("NoticeOutput", Some("notice"))
        .with("bytes", n.encode())
        .with("shard", n.to().shard)
        .with("incarnation", n.to().incarnation)
        .with("generation", n.generation())
        .with("keys", Entries { class: "StaleKey", keys, columns: vec![("generation", Column::U64(generations))] })
}

/// `[{key, total}]`.
pub fn key_totals<'a>(items: impl IntoIterator<Item = (&'a str, i64)>) -> Entries {
    let (keys, totals): (Vec<Arc<str>>, Vec<i64>) = items.into_iter().map(|(k, t)| (Arc::from(k), t)).unzip();
    Entries { class: "KeyTotal", keys, columns: vec![("total", Column::I64(totals))] }
}

/// Totals to persist (`PublishOutput`, tag `publish`).
pub fn publish(p: &Publish) -> Record {
    Record::new("PublishOutput", Some("publish"))
        .with("version", p.version)
        .with("mode", p.mode.as_str())
        .with("reason", p.reason.as_str())
        .with("entries", Entries::pairs("KeyTotal", "total", p.entries.iter().map(|(k, t)| (k, *t))))
}

/// What `flush` / `drain` did.
pub fn flush_outcome(o: FlushOutcome) -> Record {
    match o {
        FlushOutcome::Sent { seq } => Record::new("FlushOutcome", Some("sent")).with("seq", seq),
        FlushOutcome::Deferred { seq } => Record::new("FlushOutcome", Some("deferred")).with("seq", seq),
        FlushOutcome::NothingPending => Record::new("FlushOutcome", Some("nothing_pending")),
    }
}

/// What `publish` did.
pub fn publish_outcome(o: PublishOutcome) -> Record {
    match o {
        PublishOutcome::Sent { version } => Record::new("PublishOutcome", Some("sent")).with("version", version),
        PublishOutcome::Deferred => Record::new("PublishOutcome", Some("deferred")),
        PublishOutcome::NothingChanged => Record::new("PublishOutcome", Some("nothing_changed")),
    }
}

/// What `reset` did.
pub fn reset_outcome(o: ResetOutcome) -> Record {
    match o {
        ResetOutcome::Reset { previous, generation } => {
            Record::new("ResetOutcome", Some("reset")).with("previous", previous).with("generation", generation)
        }
        ResetOutcome::NotDefined => Record::new("ResetOutcome", Some("not_defined")),
    }
}

/// A timer a deadline can belong to.
pub trait Timer: Copy {
    /// Its stable name.
    fn name(self) -> &'static str;
}

macro_rules! timers {
    ($($t:ty),*) => {$(
        impl Timer for $t {
            fn name(self) -> &'static str {
                self.as_str()
            }
        }
    )*};
}
timers!(ShardTimer, GlobalTimer, GatewayTimer, MembershipTimer, BucketsTimer, OutboxTimer);

/// A configuration's settings (`ShardConfig::settings()`, ...) as a record of class `class`
/// (`"ShardSettings"`), one field per setting in its order. Integers, strings (choices),
/// booleans and nulls are what settings hold.
pub fn settings(class: &'static str, settings: Vec<(&'static str, SettingValue)>) -> Record {
    let mut record = Record::new(class, None);
    for (name, value) in settings {
        let value = match value {
            SettingValue::Null => Value::Null,
            SettingValue::Bool(b) => Value::Bool(b),
            SettingValue::Int(i) => u64::try_from(i).map(Value::U64).or_else(|_| i64::try_from(i).map(Value::I64)).unwrap_or(Value::Null),
            SettingValue::Str(s) => Value::Str(Arc::from(s)),
            // Not held by any configuration (they only come in from callers).
            SettingValue::Float(_) | SettingValue::Other(_) => Value::Null,
        };
        record.fields.push((name, value));
    }
    record
}

/// `{at_ms, timer}`.
pub fn deadline<T: Timer>(d: Deadline<T>) -> Record {
    Record::new("Deadline", None).with("at_ms", d.at.as_millis()).with("timer", d.timer.name())
}

/// A shard's activity counters.
pub fn shard_stats(s: ShardStats) -> Record {
    Record::new("ShardStats", None)
        .with("requests", s.requests)
        .with("batches", s.batches)
        .with("retries", s.retries)
        .with("acks", s.acks)
        .with("duplicate_acks", s.duplicate_acks)
        .with("failures", s.failures)
        .with("stale_dropped", s.stale_dropped)
        .with("rejected_batches", s.rejected_batches)
        .with("rejected_entries", s.rejected_entries)
}

/// A global's activity counters.
pub fn global_stats(s: GlobalStats) -> Record {
    Record::new("GlobalStats", None)
        .with("total_writes", s.total_writes)
        .with("distinct_shards", s.distinct_shards)
        .with("duplicates", s.duplicates)
        .with("stale_dropped", s.stale_dropped)
        .with("resets", s.resets)
        .with("publishes", s.publishes)
        .with("publish_failures", s.publish_failures)
        .with("dedup_evictions", s.dedup_evictions)
        .with("untracked_shard_writes", s.untracked_shard_writes)
}

/// Per-shard write statistics, by shard index.
pub fn shard_writes(all: &[(u32, ShardWrites)]) -> Value {
    Value::List(
        all.iter()
            .map(|(shard, w)| {
                Value::Record(
                    Record::new("ShardWrites", None)
                        .with("shard", *shard)
                        .with("writes", w.writes)
                        .with("deltas", Entries::pairs("KeyDelta", "delta", w.deltas.iter().map(|(k, d)| (k, *d)))),
                )
            })
            .collect(),
    )
}

/// One write-log record (`BatchWrite` or `ResetWrite`).
pub fn write_record(w: &WriteRecord) -> Record {
    let at = w.at.as_millis();
    match &w.kind {
        WriteKind::Reset { key, previous, generation } => Record::new("ResetWrite", Some("reset"))
            .with("at_ms", at)
            .with("key", key.clone())
            .with("previous", *previous)
            .with("generation", *generation),
        WriteKind::Batch { from, seq, keys, entries, omitted } => Record::new("BatchWrite", Some("batch"))
            .with("at_ms", at)
            .with("shard", from.shard)
            .with("incarnation", from.incarnation)
            .with("seq", *seq)
            .with("keys", *keys)
            .with("entries", Entries::pairs("KeyDelta", "delta", entries.iter().map(|(k, d)| (k, *d))))
            .with("omitted", *omitted),
        // `WriteKind` is non-exhaustive; a kind this layer does not know yet shows its time.
        _ => Record::new("WriteRecord", None).with("at_ms", at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shardtally::{Global, GlobalConfig, Shard, ShardConfig, ShardOutput, Timestamp};

    #[test]
    fn views_have_the_documented_fields() {
        let config = ShardConfig::builder().flush_after_requests(1).build().unwrap();
        let mut s = Shard::new(config, ShardRef { shard: 2, incarnation: 9 });
        let mut g = Global::new(GlobalConfig::default());
        let t = Timestamp::from_millis(5);
        s.increment("k", -3, t).unwrap();
        let Some(ShardOutput::SendBatch(b)) = s.poll_output() else { panic!("no batch") };
        let out = Value::Record(batch(&b, false)).to_json();
        let bytes: String = b.encode().iter().map(|x| format!("{x:02x}")).collect();
        assert_eq!(
            out,
            format!(
                r#"{{"type":"batch","bytes":"{bytes}","shard":2,"incarnation":9,"seq":1,"reason":"requests","entries":[{{"key":"k","generation":0,"delta":-3}}]}}"#
            )
        );
        let a = g.handle_batch(&b, t).unwrap();
        let ack_json = Value::Record(ack(&a)).to_json();
        assert!(ack_json.starts_with(r#"{"type":"ack","bytes":""#));
        assert!(ack_json.ends_with(r#","shard":2,"incarnation":9,"seq":1,"duplicate":false,"generation":0,"stale_keys":[]}"#));
        assert_eq!(Value::Record(flush_outcome(s.flush(t))).to_json(), r#"{"type":"nothing_pending"}"#);
        s.increment("k", 1, t).unwrap_or_default();
        assert_eq!(Value::Record(flush_outcome(s.flush(t))).to_json(), r#"{"type":"deferred","seq":1}"#);
        assert_eq!(
            Value::Record(shard_stats(s.stats())).to_json(),
            r#"{"requests":2,"batches":1,"retries":0,"acks":0,"duplicate_acks":0,"failures":0,"stale_dropped":0,"rejected_batches":0,"rejected_entries":0}"#
        );
        assert_eq!(Value::Record(deadline(s.next_deadline().unwrap())).to_json(), r#"{"at_ms":10005,"timer":"ack_timeout"}"#);
        assert_eq!(Value::Entries(key_totals(g.totals())).to_json(), r#"[{"key":"k","total":-3}]"#);
        assert_eq!(
            Value::Record(write_record(g.write_log().next().unwrap())).to_json(),
            r#"{"type":"batch","at_ms":5,"shard":2,"incarnation":9,"seq":1,"keys":1,"entries":[{"key":"k","delta":-3}],"omitted":0}"#
        );
        assert_eq!(shard_writes(&g.shard_writes()).to_json(), r#"[{"shard":2,"writes":1,"deltas":[{"key":"k","delta":-3}]}]"#);
        assert_eq!(Value::Record(reset_outcome(g.reset("k", t).unwrap())).to_json(), r#"{"type":"reset","previous":-3,"generation":1}"#);
        assert_eq!(Value::Record(publish_outcome(g.publish(t))).to_json(), r#"{"type":"nothing_changed"}"#, "the reset took the changes");
        let Some(shardtally::GlobalOutput::Publish(p)) = g.poll_output() else { panic!("no publish") };
        assert_eq!(
            Value::Record(publish(&p)).to_json(),
            r#"{"type":"publish","version":1,"mode":"full","reason":"reset","entries":[{"key":"k","total":0}]}"#
        );
    }

    fn json(r: Record) -> String {
        Value::Record(r).to_json()
    }

    #[test]
    fn gateway_views_have_the_documented_fields() {
        use shardtally::{Gateway, GatewayConfig, GatewayOutput, Route};
        let mut gw = Gateway::new(GatewayConfig::builder().limit(1).build().unwrap(), "g").unwrap();
        let t = Timestamp::from_millis(5);
        let Route::Pending { creation } = gw.route("a", t).unwrap() else { panic!("no replica yet") };
        assert_eq!(json(route(&Route::Pending { creation })), r#"{"type":"pending","creation":0}"#);
        assert_eq!(json(gateway_output(&gw.poll_output().unwrap())), r#"{"type":"create_replica","creation":0}"#);
        assert_eq!(
            json(placement(&gw.handle_replica_created(creation, "r1", t).unwrap())),
            r#"{"creation":0,"replica":"r1","requests":["a"]}"#
        );
        assert_eq!(json(connect_outcome(gw.handle_connect("g", "r1", "c1", "a", t).unwrap())), r#"{"type":"reserved"}"#);
        assert_eq!(
            json(route(&gw.route("a", t).unwrap_or(Route::Pending { creation }))),
            r#"{"type":"pending","creation":1}"#,
            "r1 is full: a second connection of a waits for a new replica"
        );
        gw.handle_replica_created(shardtally::CreationId::from_raw(1), "r2", t).unwrap();
        assert_eq!(json(gateway_output(&gw.poll_output().unwrap())), r#"{"type":"create_replica","creation":1}"#);
        assert_eq!(json(gateway_output(&gw.poll_output().unwrap())), r#"{"type":"introduce","replica":"r2","peers":["r1"]}"#);
        assert_eq!(
            deliveries(&gw.broadcast("g", "r1", "c1", false).unwrap()).to_json(),
            r#"[{"replica":"r1","audience":{"type":"all_except","connection":"c1"}},{"replica":"r2","audience":{"type":"all"}}]"#
        );
        assert_eq!(json(replica_view(&gw.replica("r1").unwrap())), r#"{"id":"r1","connections":1,"reservations":0}"#);
        assert_eq!(reservation_views(&gw.reservations()).to_json(), r#"[{"request":"a","replica":"r2","expires_at":10005}]"#);
        assert_eq!(connections(&gw.connections("r1").unwrap()).to_json(), r#"[{"connection":"c1","request":"a"}]"#);
        let plan = gw.gossip("g", "r1", t).unwrap();
        assert_eq!(json(gossip_plan(&plan)), r#"{"gossip":0,"peers":["r2"],"deadline":5005}"#);
        gw.handle_gossip_reply("g", plan.gossip, "r2", b"hi", t).unwrap();
        assert_eq!(
            json(gateway_output(&gw.poll_output().unwrap())),
            r#"{"type":"gossip_done","gossip":0,"origin":"r1","replies":[{"peer":"r2","payload":"6869"}],"failed":[],"missing":[]}"#
        );
        let expired = GatewayOutput::CreationExpired { creation: shardtally::CreationId::from_raw(4), requests: vec!["q".into()] };
        assert_eq!(json(gateway_output(&expired)), r#"{"type":"creation_expired","creation":4,"requests":["q"]}"#);
        assert_eq!(json(gateway_output(&GatewayOutput::Retire { replica: "r9".into() })), r#"{"type":"retire","replica":"r9"}"#);
        assert_eq!(json(deadline(gw.next_deadline().unwrap())), r#"{"at_ms":10005,"timer":"reservation_expiry"}"#);
    }

    #[test]
    fn membership_buckets_outbox_and_journal_views_have_the_documented_fields() {
        use shardtally::buckets::{Buckets, BucketsConfig, Day, Period};
        use shardtally::outbox::{Outbox, OutboxConfig};
        use shardtally::{Membership, MembershipConfig};
        let t = Timestamp::from_millis(1_000);
        let mut m = Membership::new(MembershipConfig::default());
        m.register("c", "h", t).unwrap();
        assert_eq!(
            json(membership_output(&m.poll_output().unwrap())),
            r#"{"type":"shard_changed","cluster":"c","holder":"h","shard":0,"num_shards":1,"epoch":1}"#
        );
        assert_eq!(
            json(shard_info(&m.shard_info("c", "h", t).unwrap())),
            r#"{"cluster":"c","holder":"h","shard":0,"num_shards":1,"epoch":1}"#
        );
        m.unregister("c", "h", t).unwrap();
        assert_eq!(
            json(membership_output(&m.poll_output().unwrap())),
            r#"{"type":"shard_lost","cluster":"c","holder":"h","shard":0,"num_shards":1,"epoch":1,"reason":"unregistered"}"#
        );
        assert_eq!(
            json(cluster_info(&m.cluster_info("c").unwrap())),
            concat!(
                r#"{"epoch":1,"num_shards":0,"holders":0,"assigned":0,"last_reshard_at":null,"next_reshard_at":null,"#,
                r#""stats":{"registrations":1,"heartbeats":0,"unregistrations":1,"expirations":0,"reshards":1,"moves":0}}"#
            )
        );

        let mut b = Buckets::new(BucketsConfig::default());
        let day = Day::parse("1970-01-01").unwrap();
        assert_eq!(json(record_outcome(b.record("k", t, t).unwrap())), r#"{"type":"recorded","day":"1970-01-01"}"#);
        assert_eq!(json(rollup_outcome(b.rollup(Period::Day(day), t).unwrap())), r#"{"days":1,"rows":1,"events":1,"dropped_days":0}"#);
        assert_eq!(daily_totals(&b.daily_totals(day, day).unwrap()).to_json(), r#"[{"day":"1970-01-01","key":"k","total":1}]"#);
        assert_eq!(Value::Entries(period_totals(&b.period_totals(Period::Year(1970)).unwrap())).to_json(), r#"[{"key":"k","total":1}]"#);
        let changes = buckets_changes(&b.take_changes()).to_json();
        assert!(changes.starts_with(r#"[{"type":"raw_day_deleted","day":"1970-01-01"},{"type":"daily","day":"1970-01-01","key":"k","total":1},{"type":"meta","clock":1000,"stats":{"records":1,"#), "{changes}");
        assert_eq!(json(expire_outcome(b.expire(t))), r#"{"days":0,"events":0}"#);

        let mut o = Outbox::new(OutboxConfig::builder().capacity(1).build().unwrap());
        assert_eq!(json(offer_outcome(o.offer(b"a".to_vec(), t))), r#"{"type":"queued","id":1}"#);
        assert_eq!(json(offer_outcome(o.offer(b"b".to_vec(), t))), r#"{"type":"dropped","reason":"full"}"#);
        assert_eq!(json(outbox_output(&o.poll_output().unwrap())), r#"{"type":"send","id":1,"attempt":1,"message":"61"}"#);
        o.close(t);
        o.sent(1, t);
        assert_eq!(json(outbox_output(&o.poll_output().unwrap())), r#"{"type":"drained"}"#);

        let mut s = Shard::new(ShardConfig::default(), ShardRef { shard: 0, incarnation: 1 });
        s.increment("x", 1, t).unwrap();
        let ops = shard_row_ops(&s.take_changes()).to_json();
        assert!(ops.starts_with(r#"[{"op":"put","table":"meta","key":"","value":""#), "{ops}");
        assert!(ops.contains(r#"{"op":"put","table":"pending","key":"0000000178"#), "{ops}");
        assert_eq!(
            hash_range(shardtally::partition::shard_range(1, 2)).to_json(),
            r#"{"start":"9223372036854775808","end":"18446744073709551615"}"#
        );
        assert_eq!(hash_range(None).to_json(), "null");
    }
}
