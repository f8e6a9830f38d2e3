//! Replays every golden trace in `traces/` (format 2, described in `traces/README.md`) and
//! checks each step's `expect` against the canonical JSON of what the engine returned
//! (`shardtally_api::Value::to_json`). The Python, Node and WebAssembly bindings replay the
//! same files, so the four runtimes are proven to agree.
//!
//! The replayer is generic: machines come from `options::new_shard` / `new_global` /
//! `new_router` / `new_gateway` / `new_membership` / `new_buckets` / `new_outbox` (snake_case
//! names), calls dispatch on `(kind, method)` to the core method (the gateway's, membership's,
//! buckets' and outbox's in `traces/<machine>.rs`),
//! results become [`Value`]s through `shardtally_api::views`, and errors become
//! `{"error": CODE}` with the code of `AnyError::view`.
//!
//! Author a trace by writing its steps, then fill in the expectations with
//! `SHARDTALLY_BLESS=1 cargo test -p shardtally-api --test traces` and review every blessed
//! value against SPEC.md: the engine is the reference, but a scenario asserts what the SPEC says.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Map, Value as Json};
use shardtally::buckets::Buckets;
use shardtally::outbox::Outbox;
use shardtally::settings::SettingValue;
use shardtally::{
    partition, Ack, Batch, Error, Gateway, GenerationNotice, Global, GlobalOutput, KeyId, Membership, Router, Shard, ShardOutput, ShardRef,
    Timestamp,
};
use shardtally_api::options::{self, OptionList, OptionValue};
use shardtally_api::{views, AnyError, Naming, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

#[path = "traces/buckets.rs"]
mod buckets;
#[path = "traces/gateway.rs"]
mod gateway;
#[path = "traces/membership.rs"]
mod membership;
#[path = "traces/outbox.rs"]
mod outbox;

/// One test per trace file; `every_trace_file_is_replayed` checks this list is the directory.
macro_rules! traces {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check($file);
            }
        )*
        const FILES: &[&str] = &[$($file),*];
    };
}

traces! {
    golden => "golden.json",
    scenario_1_request_threshold => "scenario-1-request-threshold.json",
    scenario_2_idle_flush => "scenario-2-idle-flush.json",
    scenario_3_lost_ack => "scenario-3-lost-ack.json",
    scenario_4_retry => "scenario-4-retry.json",
    scenario_5_reset => "scenario-5-reset.json",
    scenario_6_shard_stats => "scenario-6-shard-stats.json",
    scenario_7_draining => "scenario-7-draining.json",
    router => "router.json",
    rejection => "rejection.json",
    wire => "wire.json",
    stats => "stats.json",
    settings => "settings.json",
    tiered => "tiered.json",
    partition => "partition.json",
    gateway => "gateway.json",
    membership => "membership.json",
    buckets => "buckets.json",
    outbox => "outbox.json",
    journal => "journal.json",
    coalesced => "coalesced.json",
    routes => "routes.json",
}

fn traces_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("traces")
}

/// A trace that cannot be replayed as written (not a behaviour mismatch).
type Bad<T> = Result<T, String>;

// ----- machines, saved results, call results -----

enum Machine {
    Shard(Box<Shard>),
    Global(Box<Global>),
    Router(Router),
    Gateway(Box<Gateway>),
    Membership(Box<Membership>),
    Buckets(Box<Buckets>),
    Outbox(Box<Outbox>),
}

/// A result kept by `save`: messages stay core values (a batch or an ack is passed on as
/// that message), anything else is its canonical JSON.
#[derive(Clone)]
enum Saved {
    Batch(Batch),
    Ack(Ack),
    Notice(GenerationNotice),
    Json(Json),
}

/// What a call returned: its value and, for a batch or an ack, the message itself.
struct Returned {
    value: Value,
    message: Option<Saved>,
}

type CallResult = Result<Returned, AnyError>;

fn ok(value: impl Into<Value>) -> CallResult {
    Ok(Returned { value: value.into(), message: None })
}

fn unit(r: Result<(), Error>) -> CallResult {
    r.map_err(AnyError::from).and_then(|()| ok(Value::Null))
}

fn with_batch(b: Option<&Batch>, forward: bool) -> CallResult {
    Ok(match b {
        Some(b) => Returned { value: Value::Record(views::batch(b, forward)), message: Some(Saved::Batch(b.clone())) },
        None => Returned { value: Value::Null, message: None },
    })
}

fn canonical(v: &Value) -> Json {
    serde_json::from_str(&v.to_json()).expect("Value::to_json is valid JSON")
}

fn error_json(e: &AnyError) -> Json {
    let mut m = Map::new();
    m.insert("error".into(), Json::from(e.view(Naming::Snake).code));
    Json::Object(m)
}

// ----- arguments -----

/// Positional arguments of a call, read in order; `{"ref": name}` resolves to a saved result.
struct Args<'a> {
    items: &'a [Json],
    next: usize,
    saved: &'a HashMap<String, Saved>,
}

impl<'a> Args<'a> {
    fn raw(&mut self, what: &str) -> Bad<&'a Json> {
        let item = self.items.get(self.next).ok_or_else(|| format!("missing argument {} ({what})", self.next + 1))?;
        self.next += 1;
        Ok(item)
    }

    fn saved(&self, item: &Json) -> Bad<Option<&'a Saved>> {
        let Some(name) = single(item, "ref") else { return Ok(None) };
        let name = name.as_str().ok_or("a ref names a saved result with a string")?;
        self.saved.get(name).map(Some).ok_or_else(|| format!("nothing was saved as {name:?}"))
    }

    /// The next argument as plain JSON (a saved plain result substituted).
    fn value(&mut self, what: &str) -> Bad<Json> {
        let item = self.raw(what)?;
        match self.saved(item)? {
            None => Ok(item.clone()),
            Some(Saved::Json(j)) => Ok(j.clone()),
            Some(_) => Err(format!("{what}: a saved message where a plain value is expected")),
        }
    }

    fn int(&mut self, what: &str) -> Bad<i128> {
        int_of(&self.value(what)?).map_err(|e| format!("{what}: {e}"))
    }

    fn u64(&mut self, what: &str) -> Bad<u64> {
        let v = self.int(what)?;
        u64::try_from(v).map_err(|_| format!("{what}: {v} is not a u64"))
    }

    fn u32(&mut self, what: &str) -> Bad<u32> {
        let v = self.int(what)?;
        u32::try_from(v).map_err(|_| format!("{what}: {v} is not a u32"))
    }

    fn i64(&mut self, what: &str) -> Bad<i64> {
        let v = self.int(what)?;
        i64::try_from(v).map_err(|_| format!("{what}: {v} is not an i64"))
    }

    fn now(&mut self) -> Bad<Timestamp> {
        self.u64("now").map(Timestamp::from_millis)
    }

    fn key(&mut self) -> Bad<String> {
        self.string("key")
    }

    /// A string argument (an id, a day, a period).
    fn string(&mut self, what: &str) -> Bad<String> {
        match self.value(what)? {
            Json::String(s) => Ok(s),
            other => Err(format!("{what}: {other} is not a string")),
        }
    }

    fn bool(&mut self, what: &str) -> Bad<bool> {
        self.value(what)?.as_bool().ok_or_else(|| format!("{what}: not a boolean"))
    }

    /// A time other than `now` (an event time).
    fn time(&mut self, what: &str) -> Bad<Timestamp> {
        self.u64(what).map(Timestamp::from_millis)
    }

    /// Bytes given as `{"bytes": "lowercase hex"}`.
    fn bytes(&mut self, what: &str) -> Bad<Vec<u8>> {
        let item = self.raw(what)?;
        bytes_of(item)?.ok_or_else(|| format!("{what}: {item} is not {{\"bytes\": ...}}"))
    }

    /// `[[a, b], ...]` of strings (a replica's report of `[connection, request]`).
    fn string_pairs(&mut self, what: &str) -> Bad<Vec<(String, String)>> {
        let list = self.value(what)?;
        let pairs = list.as_array().ok_or_else(|| format!("{what}: not a list of pairs"))?;
        pairs
            .iter()
            .map(|p| match p.as_array().map(Vec::as_slice) {
                Some([Json::String(a), Json::String(b)]) => Ok((a.clone(), b.clone())),
                _ => Err(format!("{what}: {p} is not a pair of strings")),
            })
            .collect()
    }

    /// A batch: a saved batch output, or `{"bytes": hex}` decoded as a binding would.
    fn batch(&mut self) -> Bad<Result<Batch, AnyError>> {
        let item = self.raw("batch")?;
        if let Some(bytes) = bytes_of(item)? {
            return Ok(Batch::decode(&bytes).map_err(AnyError::from));
        }
        match self.saved(item)? {
            Some(Saved::Batch(b)) => Ok(Ok(b.clone())),
            _ => Err(format!("batch: {item} is neither a ref to a saved batch nor {{\"bytes\": ...}}")),
        }
    }

    /// An ack: a saved ack output, or `{"bytes": hex}` decoded as a binding would.
    fn ack(&mut self) -> Bad<Result<Ack, AnyError>> {
        let item = self.raw("ack")?;
        if let Some(bytes) = bytes_of(item)? {
            return Ok(Ack::decode(&bytes).map_err(AnyError::from));
        }
        match self.saved(item)? {
            Some(Saved::Ack(a)) => Ok(Ok(a.clone())),
            _ => Err(format!("ack: {item} is neither a ref to a saved ack nor {{\"bytes\": ...}}")),
        }
    }

    /// A generation notice: a saved notice output, or `{"bytes": hex}` decoded as a binding would.
    fn notice(&mut self) -> Bad<Result<GenerationNotice, AnyError>> {
        let item = self.raw("notice")?;
        if let Some(bytes) = bytes_of(item)? {
            return Ok(GenerationNotice::decode(&bytes).map_err(AnyError::from));
        }
        match self.saved(item)? {
            Some(Saved::Notice(n)) => Ok(Ok(n.clone())),
            _ => Err(format!("notice: {item} is neither a ref to a saved notice nor {{\"bytes\": ...}}")),
        }
    }

    /// `[[key, delta], ...]`.
    fn entries(&mut self) -> Bad<Vec<(String, i64)>> {
        let list = self.value("entries")?;
        let pairs = list.as_array().ok_or("entries: not a list of [key, delta] pairs")?;
        pairs
            .iter()
            .map(|p| match p.as_array().map(Vec::as_slice) {
                Some([Json::String(k), d]) => Ok((k.clone(), i64::try_from(int_of(d)?).map_err(|_| format!("delta {d} is not an i64"))?)),
                _ => Err(format!("entries: {p} is not a [key, delta] pair")),
            })
            .collect()
    }

    /// A list, or a typed array `{"u32": [...]}`.
    fn ids(&mut self) -> Bad<Vec<KeyId>> {
        let v = self.value("ids")?;
        let items = typed(&v, &["u32"])?;
        items.iter().map(|x| u32::try_from(int_of(x)?).map(KeyId::from_raw).map_err(|_| format!("id {x} is not a u32"))).collect()
    }

    /// A list, or a typed array `{"i64": [...]}` / `{"f64": [...]}` (of integers).
    fn deltas(&mut self) -> Bad<Vec<i64>> {
        let v = self.value("deltas")?;
        let items = typed(&v, &["i64", "f64"])?;
        items.iter().map(|x| i64::try_from(int_of(x)?).map_err(|_| format!("delta {x} is not an i64"))).collect()
    }

    /// Whether an optional argument was given.
    fn has_more(&self) -> bool {
        self.next < self.items.len()
    }

    fn done(&self) -> Bad<()> {
        if self.next == self.items.len() {
            Ok(())
        } else {
            Err(format!("{} arguments given, {} expected", self.items.len(), self.next))
        }
    }
}

/// The value of a one-key object `{name: value}`.
fn single<'j>(j: &'j Json, name: &str) -> Option<&'j Json> {
    match j {
        Json::Object(m) if m.len() == 1 => m.get(name),
        _ => None,
    }
}

/// The bytes of `{"bytes": "lowercase hex"}`, if `j` is that form.
fn bytes_of(j: &Json) -> Bad<Option<Vec<u8>>> {
    let Some(hex) = single(j, "bytes") else { return Ok(None) };
    let hex = hex.as_str().ok_or("{\"bytes\": ...} holds a hex string")?;
    if hex.len() % 2 != 0 || !hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(format!("{hex:?} is not lowercase hex"));
    }
    let bytes: Result<Vec<u8>, _> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16)).collect();
    bytes.map(Some).map_err(|e| e.to_string())
}

/// An exact integer: a JSON integer or `{"int": "decimal"}`.
fn int_of(j: &Json) -> Bad<i128> {
    if let Some(s) = single(j, "int") {
        let s = s.as_str().ok_or("{\"int\": ...} holds a decimal string")?;
        return s.parse::<i128>().map_err(|e| format!("{s:?}: {e}"));
    }
    match j {
        Json::Number(n) => {
            n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from)).ok_or_else(|| format!("{n} is not an integer"))
        }
        other => Err(format!("{other} is not an integer")),
    }
}

/// The items of a plain list or of a typed array whose type is one of `forms`.
fn typed<'j>(j: &'j Json, forms: &[&str]) -> Bad<&'j Vec<Json>> {
    if let Json::Array(items) = j {
        return Ok(items);
    }
    forms
        .iter()
        .find_map(|f| single(j, f))
        .and_then(Json::as_array)
        .ok_or_else(|| format!("{j} is neither a list nor a typed array of {forms:?}"))
}

// ----- options -----

fn option_value(j: &Json) -> Bad<OptionValue> {
    if single(j, "int").is_some() {
        return Ok(OptionValue::Value(SettingValue::Int(int_of(j)?)));
    }
    Ok(OptionValue::Value(match j {
        Json::Null => SettingValue::Null,
        Json::Bool(b) => SettingValue::Bool(*b),
        Json::Number(n) => match n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from)) {
            Some(i) => SettingValue::Int(i),
            None => SettingValue::Float(n.as_f64().ok_or("a number")?),
        },
        Json::String(s) => SettingValue::Str(s.clone()),
        Json::Array(_) => SettingValue::Other("list".into()),
        Json::Object(_) => return Ok(OptionValue::Object(option_list(Some(j))?)),
    }))
}

fn option_list(j: Option<&Json>) -> Bad<OptionList> {
    match j {
        None => Ok(Vec::new()),
        Some(Json::Object(m)) => m.iter().map(|(k, v)| Ok((k.clone(), option_value(v)?))).collect(),
        Some(other) => Err(format!("options must be an object, got {other}")),
    }
}

// ----- dispatch -----

fn call_shard(s: &mut Shard, method: &str, a: &mut Args<'_>) -> Bad<CallResult> {
    Ok(match method {
        "increment" => {
            let (key, delta, now) = (a.key()?, a.i64("delta")?, a.now()?);
            a.done()?;
            unit(s.increment(&key, delta, now))
        }
        "increments" => {
            let (entries, now) = (a.entries()?, a.now()?);
            a.done()?;
            unit(s.increments(&entries, now))
        }
        "increments_coalesced" => {
            let (entries, requests, now) = (a.entries()?, a.u64("requests")?, a.now()?);
            a.done()?;
            unit(s.increments_coalesced(&entries, requests, now))
        }
        "intern" => {
            let key = a.key()?;
            a.done()?;
            s.intern(&key).map_err(AnyError::from).and_then(|id| ok(u64::from(id.raw())))
        }
        "increment_id" => {
            let (id, delta, now) = (a.u32("id")?, a.i64("delta")?, a.now()?);
            a.done()?;
            unit(s.increment_id(KeyId::from_raw(id), delta, now))
        }
        "increment_ids" => {
            let (ids, deltas, now) = (a.ids()?, a.deltas()?, a.now()?);
            a.done()?;
            unit(s.increment_ids(&ids, &deltas, now))
        }
        "flush" | "drain" => {
            let now = a.now()?;
            a.done()?;
            let outcome = if method == "flush" { s.flush(now) } else { s.drain(now) };
            ok(views::flush_outcome(outcome))
        }
        "handle_ack" => {
            let (ack, now) = (a.ack()?, a.now()?);
            a.done()?;
            ack.and_then(|ack| s.handle_ack(&ack, now).map_err(AnyError::from)).and_then(ok)
        }
        "handle_generation_notice" => {
            let (notice, now) = (a.notice()?, a.now()?);
            a.done()?;
            notice.and_then(|n| ok(s.handle_generation_notice(&n, now)))
        }
        "handle_failure" | "handle_rejection" => {
            let (seq, now) = (a.u64("seq")?, a.now()?);
            a.done()?;
            ok(if method == "handle_failure" { s.handle_failure(seq, now) } else { s.handle_rejection(seq, now) })
        }
        "handle_timeout" => {
            let now = a.now()?;
            a.done()?;
            s.handle_timeout(now);
            ok(Value::Null)
        }
        "pending_delta" => {
            let key = a.key()?;
            a.done()?;
            ok(s.pending_delta(&key))
        }
        "key_of" => {
            let id = a.u32("id")?;
            a.done()?;
            ok(s.key_of(KeyId::from_raw(id)))
        }
        other => {
            a.done()?;
            match other {
                "poll_output" => match s.poll_output() {
                    Some(ShardOutput::SendBatch(b)) => with_batch(Some(&b), false),
                    None => with_batch(None, false),
                    Some(o) => return Err(format!("an output the replayer does not know: {o:?}")),
                },
                "poll_timeout" => ok(s.poll_timeout().map(Timestamp::as_millis)),
                "next_deadline" => ok(s.next_deadline().map(views::deadline)),
                "take_state_changed" => ok(s.take_state_changed()),
                "pending" => ok(views::batch_entries(&s.pending())),
                "pending_requests" => ok(s.pending_requests()),
                "pending_keys" => ok(s.pending_keys()),
                "in_flight" => with_batch(s.in_flight(), false),
                "generation" => ok(s.generation()),
                "is_draining" => ok(s.is_draining()),
                "is_drained" => ok(s.is_drained()),
                "stats" => ok(views::shard_stats(s.stats())),
                "shard_ref" => ok(views::shard_ref(s.shard_ref())),
                "take_changes" => ok(views::shard_row_ops(&s.take_changes())),
                "rows" => ok(views::shard_row_ops(&s.rows())),
                _ => return Err(format!("Shard has no method {other:?}")),
            }
        }
    })
}

fn call_global(g: &mut Global, method: &str, a: &mut Args<'_>) -> Bad<CallResult> {
    let result = match method {
        "handle_batch" => {
            let (batch, now) = (a.batch()?, a.now()?);
            a.done()?;
            batch
                .and_then(|batch| g.handle_batch(&batch, now).map_err(AnyError::from))
                .map(|ack| Returned { value: Value::Record(views::ack(&ack)), message: Some(Saved::Ack(ack)) })
        }
        "reset" => {
            let (key, now) = (a.key()?, a.now()?);
            a.done()?;
            g.reset(&key, now).map_err(AnyError::from).and_then(|o| ok(views::reset_outcome(o)))
        }
        "publish" => {
            let now = a.now()?;
            a.done()?;
            ok(views::publish_outcome(g.publish(now)))
        }
        "handle_publish_ack" | "handle_publish_failure" => {
            let (version, now) = (a.u64("version")?, a.now()?);
            a.done()?;
            ok(if method == "handle_publish_ack" { g.handle_publish_ack(version, now) } else { g.handle_publish_failure(version, now) })
        }
        "handle_upstream_ack" => {
            let (ack, now) = (a.ack()?, a.now()?);
            a.done()?;
            ack.and_then(|ack| g.handle_upstream_ack(&ack, now).map_err(AnyError::from)).and_then(ok)
        }
        "handle_generation_notice" => {
            let (notice, now) = (a.notice()?, a.now()?);
            a.done()?;
            notice.and_then(|n| g.handle_generation_notice(&n, now).map_err(AnyError::from)).and_then(ok)
        }
        "generation_notice" => {
            let (key, shard, incarnation) = (a.key()?, a.u32("shard")?, a.u64("incarnation")?);
            a.done()?;
            let n = g.generation_notice(&key, ShardRef { shard, incarnation });
            Ok(Returned { value: Value::Record(views::notice(&n)), message: Some(Saved::Notice(n)) })
        }
        "handle_upstream_rejection" => {
            let (seq, now) = (a.u64("seq")?, a.now()?);
            a.done()?;
            g.handle_upstream_rejection(seq, now).map_err(AnyError::from).and_then(ok)
        }
        "handle_upstream_failure" => {
            let (seq, now) = (a.u64("seq")?, a.now()?);
            a.done()?;
            g.handle_upstream_failure(seq, now).map_err(AnyError::from).and_then(ok)
        }
        "flush_upstream" => {
            let now = a.now()?;
            a.done()?;
            g.flush_upstream(now).map_err(AnyError::from).and_then(|o| ok(views::flush_outcome(o)))
        }
        "handle_timeout" => {
            let now = a.now()?;
            a.done()?;
            g.handle_timeout(now);
            ok(Value::Null)
        }
        "total" | "key_generation" => {
            let key = a.key()?;
            a.done()?;
            if method == "total" {
                ok(g.total(&key))
            } else {
                ok(g.key_generation(&key))
            }
        }
        "last_seq" => {
            let (shard, incarnation) = (a.u32("shard")?, a.u64("incarnation")?);
            a.done()?;
            ok(g.last_seq(ShardRef { shard, incarnation }))
        }
        other => {
            a.done()?;
            match other {
                "poll_output" => match g.poll_output() {
                    Some(GlobalOutput::Publish(p)) => ok(views::publish(&p)),
                    Some(GlobalOutput::Forward(b)) => with_batch(Some(&b), true),
                    Some(GlobalOutput::Notice(n)) => {
                        Ok(Returned { value: Value::Record(views::notice(&n)), message: Some(Saved::Notice(n)) })
                    }
                    None => ok(Value::Null),
                    Some(o) => return Err(format!("an output the replayer does not know: {o:?}")),
                },
                "poll_timeout" => ok(g.poll_timeout().map(Timestamp::as_millis)),
                "next_deadline" => ok(g.next_deadline().map(views::deadline)),
                "take_state_changed" => ok(g.take_state_changed()),
                "totals" => ok(views::key_totals(g.totals())),
                "generation" => ok(g.generation()),
                "write_log" => ok(Value::List(g.write_log().map(|w| Value::Record(views::write_record(w))).collect())),
                "shard_writes" => ok(views::shard_writes(&g.shard_writes())),
                "stats" => ok(views::global_stats(g.stats())),
                "published_version" => ok(g.published_version()),
                "in_flight_publish" => ok(g.in_flight_publish().map(views::publish)),
                "has_upstream" => ok(g.upstream().is_some()),
                "take_changes" => ok(views::global_row_ops(&g.take_changes())),
                "rows" => ok(views::global_row_ops(&g.rows())),
                _ => return Err(format!("Global has no method {other:?}")),
            }
        }
    };
    Ok(result)
}

fn call_router(r: &mut Router, method: &str, a: &mut Args<'_>) -> Bad<CallResult> {
    let list = |v: Vec<u32>| Value::List(v.into_iter().map(Value::from).collect());
    let result = match method {
        "route" => {
            let key = a.key()?;
            a.done()?;
            ok(r.route(&key))
        }
        "set_shard_count" => {
            let count = a.u32("count")?;
            a.done()?;
            r.set_shard_count(count).map_err(AnyError::from).and_then(|v| ok(list(v)))
        }
        "mark_drained" => {
            let shard = a.u32("shard")?;
            a.done()?;
            ok(r.mark_drained(shard))
        }
        other => {
            a.done()?;
            match other {
                "draining" => ok(list(r.draining())),
                "shard_count" => ok(r.shard_count()),
                "strategy" => ok(r.strategy().as_str()),
                "pinned_shard" => ok(r.pinned_shard()),
                _ => return Err(format!("Router has no method {other:?}")),
            }
        }
    };
    Ok(result)
}

/// Module-level functions, called without a machine prefix.
fn call_function(name: &str, a: &mut Args<'_>) -> Bad<CallResult> {
    let result = match name {
        "key_hash" => {
            let key = a.key()?;
            a.done()?;
            ok(partition::key_hash(&key))
        }
        "jump_hash" => {
            let (hash, buckets) = (a.u64("key_hash")?, a.u32("num_buckets")?);
            a.done()?;
            ok(partition::jump_hash(hash, buckets))
        }
        "knuth_hash" => {
            let x = a.u32("x")?;
            a.done()?;
            ok(partition::knuth_hash(x))
        }
        "owner_mod" | "owner_range" => {
            let (hash, shards) = (a.u64("hash")?, a.u32("num_shards")?);
            a.done()?;
            ok(if name == "owner_mod" { partition::owner_mod(hash, shards) } else { partition::owner_range(hash, shards) })
        }
        "shard_range" => {
            let (shard, shards) = (a.u32("shard")?, a.u32("num_shards")?);
            a.done()?;
            ok(views::hash_range(partition::shard_range(shard, shards)))
        }
        "default_route" => {
            let path = a.string("path")?;
            a.done()?;
            ok(shardtally::buckets::default_route(&path).as_str())
        }
        "request_key" => {
            let (method, route) = (a.string("method")?, a.string("route")?);
            // `max_key_bytes` is optional in every binding: 256, Buckets' default bound.
            let max_key_bytes = if a.has_more() { a.u32("max_key_bytes")? } else { 256 };
            a.done()?;
            ok(shardtally::buckets::request_key(&method, &route, max_key_bytes as usize).as_str())
        }
        _ => return Err(format!("no module-level function {name:?}")),
    };
    Ok(result)
}

/// What a host reads back after applying `RowOp`s (`SELECT tbl, v FROM rows`): here, the
/// `(table, value)` of every op of `rows()` (all puts), as a binding's replayer takes them.
fn stored(ops: &Value) -> Bad<Vec<(String, Vec<u8>)>> {
    let Value::List(ops) = ops else { return Err("row ops are a list".into()) };
    ops.iter()
        .map(|op| match op {
            Value::Record(r) => match (r.get("table"), r.get("value")) {
                (Some(Value::Str(t)), Some(Value::Bytes(v))) => Ok((t.to_string(), v.clone())),
                _ => Err(format!("not a stored row: {r:?}")),
            },
            other => Err(format!("not a row op: {other:?}")),
        })
        .collect()
}

// ----- replay -----

/// The step's kind and the keys it may have.
fn step_kind(step: &Map<String, Json>) -> Bad<&'static str> {
    let kinds: Vec<&'static str> = ["new", "call", "restore"].into_iter().filter(|k| step.contains_key(*k)).collect();
    let [kind] = kinds[..] else { return Err("a step has exactly one of \"new\", \"call\", \"restore\"".into()) };
    let allowed: &[&str] = match kind {
        "new" => &["new", "kind", "options", "expect", "note"],
        "call" => &["call", "args", "expect", "save", "note"],
        _ => &["restore", "via", "options", "expect", "note"],
    };
    if let Some(k) = step.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("a {kind:?} step has no field {k:?}"));
    }
    if step.get("note").is_some_and(|n| !n.is_string()) {
        return Err("a note is a string".into());
    }
    Ok(kind)
}

#[derive(Default)]
struct Session {
    machines: HashMap<String, Machine>,
    saved: HashMap<String, Saved>,
}

impl Session {
    /// Runs one step: `Ok(Ok(value))` on success, `Ok(Err(e))` when the engine rejected it.
    fn step(&mut self, step: &Map<String, Json>) -> Bad<Result<Json, AnyError>> {
        let name = |field: &str| step[field].as_str().map(str::to_owned).ok_or_else(|| format!("{field:?} names a machine with a string"));
        match step_kind(step)? {
            "new" => {
                let options = option_list(step.get("options"))?;
                let kind = step.get("kind").and_then(Json::as_str).ok_or("a new step has a \"kind\"")?;
                let built = match kind {
                    "Shard" => options::new_shard(Naming::Snake, &options).map(|s| Machine::Shard(Box::new(s))).map_err(AnyError::from),
                    "Global" => options::new_global(Naming::Snake, &options).map(|g| Machine::Global(Box::new(g))).map_err(AnyError::from),
                    "Router" => options::new_router(Naming::Snake, &options).map(Machine::Router).map_err(AnyError::from),
                    "Gateway" => options::new_gateway(Naming::Snake, &options).map(|g| Machine::Gateway(Box::new(g))),
                    "Membership" => {
                        options::new_membership(Naming::Snake, &options).map(|m| Machine::Membership(Box::new(m))).map_err(AnyError::from)
                    }
                    "Buckets" => {
                        options::new_buckets(Naming::Snake, &options).map(|b| Machine::Buckets(Box::new(b))).map_err(AnyError::from)
                    }
                    "Outbox" => options::new_outbox(Naming::Snake, &options).map(|o| Machine::Outbox(Box::new(o))).map_err(AnyError::from),
                    other => return Err(format!("no machine kind {other:?}")),
                };
                let target = name("new")?;
                Ok(built.map(|m| {
                    self.machines.insert(target, m);
                    Json::Null
                }))
            }
            "restore" => {
                let target = name("restore")?;
                let options = option_list(step.get("options"))?;
                let machine = self.machines.get(&target).ok_or_else(|| format!("no machine {target:?}"))?;
                let via = match step.get("via") {
                    None => None,
                    Some(Json::String(v)) => Some(v.as_str()),
                    Some(other) => return Err(format!("via names a way to restore with a string, got {other}")),
                };
                let restored = match (machine, via) {
                    (Machine::Shard(s), None) => {
                        options::restore_shard(Naming::Snake, &s.snapshot(), &options).map(|s| Machine::Shard(Box::new(s)))
                    }
                    (Machine::Shard(s), Some("rows")) => {
                        options::shard_from_rows(Naming::Snake, stored(&views::shard_row_ops(&s.rows()))?, &options)
                            .map(|s| Machine::Shard(Box::new(s)))
                    }
                    (Machine::Global(g), None) => {
                        options::restore_global(Naming::Snake, &g.snapshot(), &options).map(|g| Machine::Global(Box::new(g)))
                    }
                    (Machine::Global(g), Some("rows")) => {
                        options::global_from_rows(Naming::Snake, stored(&views::global_row_ops(&g.rows()))?, &options)
                            .map(|g| Machine::Global(Box::new(g)))
                    }
                    (Machine::Router(r), None) => {
                        if !options.is_empty() {
                            return Err("a router's restore takes no options".into());
                        }
                        Router::restore(&r.snapshot()).map(Machine::Router).map_err(AnyError::from)
                    }
                    (Machine::Gateway(g), None) => {
                        options::restore_gateway(Naming::Snake, &g.snapshot(), &options).map(|g| Machine::Gateway(Box::new(g)))
                    }
                    (Machine::Gateway(g), Some("rows")) => {
                        options::gateway_from_rows(Naming::Snake, stored(&views::gateway_row_ops(&g.rows()))?, &options)
                            .map(|g| Machine::Gateway(Box::new(g)))
                    }
                    (Machine::Membership(m), None) => {
                        options::restore_membership(Naming::Snake, &m.snapshot(), &options).map(|m| Machine::Membership(Box::new(m)))
                    }
                    (Machine::Membership(m), Some("clusters")) => {
                        let rows: Vec<Vec<u8>> = m.clusters().iter().filter_map(|c| m.snapshot_cluster(c)).collect();
                        options::restore_membership_clusters(Naming::Snake, rows, &options).map(|m| Machine::Membership(Box::new(m)))
                    }
                    (Machine::Buckets(b), None) => {
                        options::restore_buckets(Naming::Snake, &b.snapshot(), &options).map(|b| Machine::Buckets(Box::new(b)))
                    }
                    (Machine::Outbox(o), None) => {
                        options::restore_outbox(Naming::Snake, &o.snapshot(), &options).map(|o| Machine::Outbox(Box::new(o)))
                    }
                    (Machine::Outbox(o), Some("rows")) => {
                        options::outbox_from_rows(Naming::Snake, stored(&views::outbox_row_ops(&o.rows()))?, &options)
                            .map(|o| Machine::Outbox(Box::new(o)))
                    }
                    (_, Some(v)) => return Err(format!("{target:?} cannot be restored via {v:?}")),
                };
                Ok(restored.map(|m| {
                    self.machines.insert(target, m);
                    Json::Null
                }))
            }
            _ => {
                let call = name("call")?;
                let items: &[Json] = match step.get("args") {
                    None => &[],
                    Some(Json::Array(items)) => items,
                    Some(other) => return Err(format!("args must be a list, got {other}")),
                };
                let mut args = Args { items, next: 0, saved: &self.saved };
                let result = match call.split_once('.') {
                    None => call_function(&call, &mut args)?,
                    Some((target, method)) => match self.machines.get_mut(target).ok_or_else(|| format!("no machine {target:?}"))? {
                        Machine::Shard(s) => call_shard(s, method, &mut args)?,
                        Machine::Global(g) => call_global(g, method, &mut args)?,
                        Machine::Router(r) => call_router(r, method, &mut args)?,
                        Machine::Gateway(g) => gateway::call(g, method, &mut args)?,
                        Machine::Membership(m) => membership::call(m, method, &mut args)?,
                        Machine::Buckets(b) => buckets::call(b, method, &mut args)?,
                        Machine::Outbox(o) => outbox::call(o, method, &mut args)?,
                    },
                };
                let result = result.map(|r| {
                    let json = canonical(&r.value);
                    (json.clone(), r.message.unwrap_or(Saved::Json(json)))
                });
                if let Some(save) = step.get("save") {
                    let save = save.as_str().ok_or("save names a result with a string")?;
                    match &result {
                        Ok((_, saved)) => {
                            self.saved.insert(save.to_owned(), saved.clone());
                        }
                        Err(_) => return Err(format!("cannot save the result of a failing call as {save:?}")),
                    }
                }
                Ok(result.map(|(json, _)| json))
            }
        }
    }
}

/// Replays a document; with `bless`, writes the actual results as the expectations.
/// Returns the mismatches, one line each.
fn replay(file: &str, doc: &mut Json, bless: bool) -> Vec<String> {
    let top = doc.as_object_mut().unwrap_or_else(|| panic!("{file}: not a JSON object"));
    assert_eq!(top.get("format"), Some(&Json::from(2)), "{file}: \"format\" must be 2");
    assert!(top.get("description").and_then(Json::as_str).is_some_and(|d| !d.is_empty()), "{file}: a \"description\" is required");
    if let Some(k) = top.keys().find(|k| !["format", "description", "steps"].contains(&k.as_str())) {
        panic!("{file}: unknown top-level field {k:?}");
    }
    let steps = top.get_mut("steps").and_then(Json::as_array_mut).unwrap_or_else(|| panic!("{file}: \"steps\" must be a list"));
    let mut session = Session::default();
    let mut mismatches = Vec::new();
    for (i, step) in steps.iter_mut().enumerate() {
        let shown = step.to_string();
        let step = step.as_object_mut().unwrap_or_else(|| panic!("{file} step {i}: not an object"));
        let kind = step_kind(step).unwrap_or_else(|e| panic!("{file} step {i} {shown}: {e}"));
        let (actual, failed) = match session.step(step) {
            Ok(Ok(json)) => (json, false),
            Ok(Err(e)) => (error_json(&e), true),
            Err(e) => panic!("{file} step {i} {shown}: {e}"),
        };
        if bless {
            if kind == "call" || failed {
                step.insert("expect".into(), actual);
            } else if step.contains_key("expect") {
                step.insert("expect".into(), Json::Null);
            }
            continue;
        }
        match step.get("expect") {
            Some(expected) if *expected != actual => {
                mismatches.push(format!("{file} step {i}: {shown}\n    expected {expected}\n    got      {actual}"));
            }
            None if failed => mismatches.push(format!("{file} step {i}: {shown}\n    must not fail, got {actual}")),
            _ => {}
        }
    }
    mismatches
}

/// Objects with their keys sorted, at every depth (independent of serde_json's map type).
fn sorted(v: Json) -> Json {
    match v {
        Json::Object(m) => {
            let ordered: BTreeMap<String, Json> = m.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            Json::Object(ordered.into_iter().collect())
        }
        Json::Array(items) => Json::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn check(file: &str) {
    let path = traces_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut doc: Json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    if std::env::var_os("SHARDTALLY_BLESS").is_some() {
        replay(file, &mut doc, true);
        let blessed = serde_json::to_string_pretty(&sorted(doc)).unwrap() + "\n";
        if blessed != text {
            // Write then rename, so tests reading the traces meanwhile see a whole file.
            let tmp = path.with_extension("json.blessing");
            std::fs::write(&tmp, blessed).unwrap();
            std::fs::rename(&tmp, &path).unwrap();
        }
        return;
    }
    let mismatches = replay(file, &mut doc, false);
    assert!(
        mismatches.is_empty(),
        "{} step(s) differ from their expectation (after an intended behaviour change: \
         SHARDTALLY_BLESS=1 cargo test -p shardtally-api --test traces, then review the diff):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn every_trace_file_is_replayed() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(traces_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    let listed: BTreeSet<String> = FILES.iter().map(|f| (*f).to_owned()).collect();
    assert_eq!(on_disk, listed, "every traces/*.json has a test in the traces! list, and every listed file exists");
}

/// Every method a binding exposes, by machine kind; `new` and `restore` are the steps.
const SURFACE: &[(&str, &[&str])] = &[
    (
        "Shard",
        &[
            "new",
            "restore",
            "increment",
            "increments",
            "increments_coalesced",
            "intern",
            "increment_id",
            "increment_ids",
            "flush",
            "drain",
            "handle_ack",
            "handle_failure",
            "handle_rejection",
            "handle_timeout",
            "poll_output",
            "poll_timeout",
            "next_deadline",
            "take_state_changed",
            "pending",
            "pending_delta",
            "pending_requests",
            "pending_keys",
            "in_flight",
            "generation",
            "is_draining",
            "is_drained",
            "key_of",
            "stats",
            "shard_ref",
            "handle_generation_notice",
            "take_changes",
            "rows",
            "from_rows",
        ],
    ),
    (
        "Global",
        &[
            "new",
            "restore",
            "handle_batch",
            "reset",
            "publish",
            "handle_publish_ack",
            "handle_publish_failure",
            "handle_upstream_ack",
            "handle_upstream_failure",
            "handle_upstream_rejection",
            "flush_upstream",
            "handle_timeout",
            "poll_output",
            "poll_timeout",
            "next_deadline",
            "take_state_changed",
            "total",
            "totals",
            "key_generation",
            "generation",
            "write_log",
            "shard_writes",
            "stats",
            "published_version",
            "in_flight_publish",
            "last_seq",
            "has_upstream",
            "generation_notice",
            "handle_generation_notice",
            "take_changes",
            "rows",
            "from_rows",
        ],
    ),
    ("Router", &["new", "restore", "route", "set_shard_count", "mark_drained", "draining", "shard_count", "strategy", "pinned_shard"]),
    (
        "Gateway",
        &[
            "new",
            "restore",
            "route",
            "handle_replica_created",
            "handle_creation_failed",
            "handle_connect",
            "handle_close",
            "handle_report",
            "gossip",
            "handle_gossip_reply",
            "handle_gossip_failure",
            "handle_timeout",
            "emit",
            "broadcast",
            "whisper",
            "poll_output",
            "poll_timeout",
            "next_deadline",
            "take_state_changed",
            "group",
            "replicas",
            "replica",
            "connections",
            "sticky",
            "request_ids",
            "reservations",
            "pending_creations",
            "gossips",
            "current",
            "stats",
            "take_changes",
            "rows",
            "from_rows",
        ],
    ),
    (
        "Membership",
        &[
            "new",
            "restore",
            "restore_clusters",
            "register",
            "heartbeat",
            "unregister",
            "remove_cluster",
            "handle_timeout",
            "poll_output",
            "poll_timeout",
            "next_deadline",
            "take_state_changed",
            "take_changed_clusters",
            "clusters",
            "cluster_info",
            "shard_info",
            "assignments",
            "snapshot_cluster",
            "stats",
        ],
    ),
    (
        "Buckets",
        &[
            "new",
            "restore",
            "record",
            "record_count",
            "record_many",
            "record_batch",
            "rollup",
            "expire",
            "handle_timeout",
            "poll_timeout",
            "next_deadline",
            "take_state_changed",
            "take_changes",
            "rows",
            "day_of",
            "day_start",
            "daily_totals",
            "period_totals",
            "daily_total",
            "raw_count",
            "raw_days",
            "raw_events",
            "key_count",
            "daily_days",
            "stats",
        ],
    ),
    (
        "Outbox",
        &[
            "new",
            "restore",
            "offer",
            "sent",
            "failed",
            "close",
            "handle_timeout",
            "poll_output",
            "poll_timeout",
            "next_deadline",
            "take_state_changed",
            "len",
            "is_empty",
            "queued_ids",
            "in_flight_ids",
            "is_reconnecting",
            "is_closed",
            "is_drained",
            "stats",
            "take_changes",
            "rows",
            "from_rows",
        ],
    ),
    ("module", &["key_hash", "jump_hash", "knuth_hash", "owner_mod", "owner_range", "shard_range", "default_route", "request_key"]),
];

#[test]
fn traces_call_every_method_a_binding_exposes() {
    let mut called: BTreeSet<(String, String)> = BTreeSet::new();
    for file in FILES {
        let text = std::fs::read_to_string(traces_dir().join(file)).unwrap();
        let doc: Json = serde_json::from_str(&text).unwrap();
        let mut kinds: HashMap<String, String> = HashMap::new();
        for step in doc["steps"].as_array().unwrap() {
            if let (Some(name), Some(kind)) = (step["new"].as_str(), step["kind"].as_str()) {
                kinds.insert(name.to_owned(), kind.to_owned());
                called.insert((kind.to_owned(), "new".to_owned()));
            } else if let Some(name) = step["restore"].as_str() {
                let kind = kinds.get(name).unwrap_or_else(|| panic!("{file}: restore of undefined {name:?}"));
                // `via` names the other constructor a binding exposes.
                let method = match step["via"].as_str() {
                    None => "restore",
                    Some("rows") => "from_rows",
                    Some(_) => "restore_clusters",
                };
                called.insert((kind.clone(), method.to_owned()));
            } else if let Some(call) = step["call"].as_str() {
                let (kind, method) = match call.split_once('.') {
                    Some((name, method)) => {
                        (kinds.get(name).unwrap_or_else(|| panic!("{file}: call on undefined {name:?}")).clone(), method)
                    }
                    None => ("module".to_owned(), call),
                };
                called.insert((kind, method.to_owned()));
            }
        }
    }
    let missing: Vec<String> = SURFACE
        .iter()
        .flat_map(|(kind, methods)| methods.iter().map(move |m| (*kind, *m)))
        .filter(|(k, m)| !called.contains(&((*k).to_owned(), (*m).to_owned())))
        .map(|(k, m)| format!("{k}.{m}"))
        .collect();
    assert!(missing.is_empty(), "no trace calls {missing:?}");
}
