//! The plain objects handed to JavaScript (outputs, outcomes and views), and the options
//! objects' declarations. Integers that can exceed `2^53 - 1` are `number | bigint`: a
//! `number` whenever the value is a safe integer.
//!
//! Field types named in `ts_type` (`FlushReason`, `ShardTimer`, ...) are declared in
//! `types/header.d.ts`, prepended to the generated `index.d.ts`.

use crate::convert::{int, time_out, JsInt};
use napi::bindgen_prelude::{BigInt, Either, Uint8Array};
use napi_derive::napi;
use shardtally as st;

// ----- options (declarations only: parsed field by field in `convert::Options`) -----

/// Options of `new Shard(options)`. Every setting but `shard` and `incarnation` is optional
/// and defaults to the value shown. Keys that are not options are ignored.
#[napi(object, object_to_js = false)]
pub struct ShardOptions {
    /// This shard's index.
    pub shard: u32,
    /// Chosen by the host when it creates a shard with no saved state (a random number, a
    /// start time): it must differ from every earlier life of this shard index.
    #[napi(ts_type = "number | bigint")]
    pub incarnation: Either<f64, BigInt>,
    /// Start from the global's reset generation (`global.generation()`), so the first
    /// increments of keys reset long ago are not mistaken for stale ones. Default 0.
    #[napi(ts_type = "number | bigint")]
    pub generation: Option<Either<f64, BigInt>>,
    /// Flush as soon as pending requests reach this many; 0 disables. Default 100.
    pub flush_after_requests: Option<u32>,
    /// Flush when no increment arrived for this long (a debounce re-armed by every
    /// increment); 0 disables. Default 5000.
    #[napi(ts_type = "number | bigint")]
    pub flush_after_idle_ms: Option<f64>,
    /// Flush when the oldest pending delta is this old, even under steady traffic; 0
    /// disables. Default 60000.
    #[napi(ts_type = "number | bigint")]
    pub flush_max_age_ms: Option<f64>,
    /// Treat an in-flight batch as failed when no acknowledgement arrived for this long.
    /// Default 10000.
    #[napi(ts_type = "number | bigint")]
    pub ack_timeout_ms: Option<f64>,
    /// First delay before re-sending a failed batch; doubles per attempt. Default 1000.
    #[napi(ts_type = "number | bigint")]
    pub retry_initial_ms: Option<f64>,
    /// Largest delay before re-sending a failed batch. Default 30000.
    #[napi(ts_type = "number | bigint")]
    pub retry_max_ms: Option<f64>,
    /// Each retry delay is shortened by a seeded random amount up to this percentage.
    /// Default 20.
    pub retry_jitter_percent: Option<u32>,
    /// Most distinct pending keys; one more is a `TABLE_FULL` error. Default 100000.
    pub max_pending_keys: Option<u32>,
    /// Most keys interned with `intern`. Default 100000.
    pub max_interned_keys: Option<u32>,
    /// Longest key in UTF-8 bytes. Default 256.
    pub max_key_bytes: Option<u32>,
    /// Seed of the retry jitter generator. Default 0.
    #[napi(ts_type = "number | bigint")]
    pub seed: Option<Either<f64, BigInt>>,
}

/// Options of `new Global(options)`; every setting is optional and defaults to the value
/// shown. Keys that are not options are ignored.
#[napi(object, object_to_js = false)]
pub struct GlobalOptions {
    /// Publish after this many applied batches; 0 disables. Default 100.
    pub persist_after_writes: Option<u32>,
    /// Publish when no batch arrived for this long; 0 disables. Default 5000.
    #[napi(ts_type = "number | bigint")]
    pub persist_after_idle_ms: Option<f64>,
    /// Publish when the oldest unpublished change is this old; 0 disables. Default 60000.
    #[napi(ts_type = "number | bigint")]
    pub persist_max_age_ms: Option<f64>,
    /// Every key's total in each publish (`'full'`), or only the keys changed since the last
    /// acknowledged publish (`'changes'`). Default `'full'`.
    #[napi(ts_type = "PublishMode")]
    pub publish_mode: Option<String>,
    /// Treat an unacknowledged publish as failed after this long. Default 10000.
    #[napi(ts_type = "number | bigint")]
    pub publish_timeout_ms: Option<f64>,
    /// First delay before retrying a failed publish; doubles per attempt. Default 1000.
    #[napi(ts_type = "number | bigint")]
    pub retry_initial_ms: Option<f64>,
    /// Largest delay before retrying a failed publish. Default 30000.
    #[napi(ts_type = "number | bigint")]
    pub retry_max_ms: Option<f64>,
    /// Seeded jitter on publish retries, as a percentage of the delay. Default 20.
    pub retry_jitter_percent: Option<u32>,
    /// Records kept in the write log (a ring; 0 keeps none). Default 1000.
    pub write_log_capacity: Option<u32>,
    /// Keys listed per write-log record (the rest are counted). Default 16.
    pub write_log_keys_per_write: Option<u32>,
    /// Most distinct keys in the totals; a batch that would add more is rejected
    /// (`TABLE_FULL`). Default 1000000.
    pub max_keys: Option<u32>,
    /// Longest key in UTF-8 bytes. Default 256.
    pub max_key_bytes: Option<u32>,
    /// Most `(shard, incarnation)` pairs remembered for deduplication. Default 10000.
    pub max_dedup_entries: Option<u32>,
    /// Seed of the retry jitter generator. Default 0.
    #[napi(ts_type = "number | bigint")]
    pub seed: Option<Either<f64, BigInt>>,
    /// Tiered aggregation: forward everything this global applies to a higher-level global
    /// through an embedded shard with these options (its batches come out of `pollOutput`
    /// as `{ type: 'forward', ... }`). Default: none.
    pub upstream: Option<ShardOptions>,
}

/// Options of `new Router(options)`. Keys that are not options are ignored.
#[napi(object, object_to_js = false)]
pub struct RouterOptions {
    /// How to pick a shard: jump consistent hash of the key (`'hash'`, a key always goes to
    /// the same shard), seeded `'random'`, `'round_robin'`, or always `pinnedShard`
    /// (`'pinned'`). Default `'hash'`.
    #[napi(ts_type = "RouterStrategy")]
    pub strategy: Option<String>,
    /// The shard of the `'pinned'` strategy (required with it, ignored by the other strategies).
    pub pinned_shard: Option<u32>,
    /// Number of shards. Default 1.
    pub shard_count: Option<u32>,
    /// Seed of the `'random'` strategy. Default 0.
    #[napi(ts_type = "number | bigint")]
    pub seed: Option<Either<f64, BigInt>>,
}

// ----- shard outputs and views -----

/// One key's delta: in a batch, or pending in a shard.
#[napi(object, object_from_js = false)]
pub struct BatchEntry {
    /// The key.
    pub key: String,
    /// The reset generation the deltas were accepted under.
    #[napi(ts_type = "number | bigint")]
    pub generation: JsInt,
    /// The summed delta.
    #[napi(ts_type = "number | bigint")]
    pub delta: JsInt,
}

impl From<&st::BatchEntry> for BatchEntry {
    fn from(e: &st::BatchEntry) -> Self {
        BatchEntry { key: e.key().to_owned(), generation: int(e.generation()), delta: int(e.delta()) }
    }
}

/// A shard's deltas on their way to the global: deliver `bytes` to `global.handleBatch`
/// and report the answer with `shard.handleAck` or `shard.handleFailure(seq, nowMs)`.
#[napi(object, object_from_js = false, js_name = "BatchOutput")]
pub struct Batch {
    /// Always `'batch'`.
    #[napi(js_name = "type", ts_type = "'batch'")]
    pub kind: String,
    /// The batch encoded for the wire (what `global.handleBatch` takes).
    pub bytes: Uint8Array,
    /// The sending shard's index.
    pub shard: u32,
    /// The sending shard's incarnation.
    #[napi(ts_type = "number | bigint")]
    pub incarnation: JsInt,
    /// Sequence number: starts at 1 per incarnation; a re-send keeps it.
    #[napi(ts_type = "number | bigint")]
    pub seq: JsInt,
    /// Why this transmission happened (`'retry'` for re-sends).
    #[napi(ts_type = "FlushReason")]
    pub reason: String,
    /// The entries, sorted by key then generation.
    pub entries: Vec<BatchEntry>,
}

impl From<&st::Batch> for Batch {
    fn from(b: &st::Batch) -> Self {
        Batch {
            kind: "batch".to_owned(),
            bytes: Uint8Array::from(b.encode()),
            shard: b.from().shard,
            incarnation: int(b.from().incarnation),
            seq: int(b.seq()),
            reason: b.reason().as_str().to_owned(),
            entries: b.entries().iter().map(BatchEntry::from).collect(),
        }
    }
}

/// What `flush` and `drain` did: a batch was cut (`'sent'`, waiting in `pollOutput`), one
/// is in flight and the pending deltas follow its acknowledgement (`'deferred'`), or
/// nothing was pending (`'nothing_pending'`).
#[napi(discriminant = "type", discriminant_case = "snake_case", object_from_js = false)]
pub enum FlushOutcome {
    /// A batch was cut.
    Sent {
        /// The new batch's sequence number.
        #[napi(ts_type = "number | bigint")]
        seq: JsInt,
    },
    /// A batch is in flight.
    Deferred {
        /// The in-flight batch's sequence number.
        #[napi(ts_type = "number | bigint")]
        seq: JsInt,
    },
    /// Nothing was pending.
    NothingPending,
}

impl From<st::FlushOutcome> for FlushOutcome {
    fn from(o: st::FlushOutcome) -> Self {
        match o {
            st::FlushOutcome::Sent { seq } => FlushOutcome::Sent { seq: int(seq) },
            st::FlushOutcome::Deferred { seq } => FlushOutcome::Deferred { seq: int(seq) },
            st::FlushOutcome::NothingPending => FlushOutcome::NothingPending,
        }
    }
}

/// The next deadline of a shard and why it fires.
#[napi(object, object_from_js = false)]
pub struct ShardDeadline {
    /// When: call `handleTimeout(nowMs)` with `nowMs >= atMs`.
    pub at_ms: f64,
    /// Which timer.
    #[napi(ts_type = "ShardTimer")]
    pub timer: String,
}

/// A shard's index and incarnation.
#[napi(object, object_from_js = false)]
pub struct ShardRef {
    /// The shard index.
    pub shard: u32,
    /// The incarnation.
    #[napi(ts_type = "number | bigint")]
    pub incarnation: JsInt,
}

/// Counters of a shard's activity since it was created (kept across snapshots).
#[napi(object, object_from_js = false)]
pub struct ShardStats {
    /// Accepted requests (single or multi-key increments).
    #[napi(ts_type = "number | bigint")]
    pub requests: JsInt,
    /// Batches cut (first transmissions).
    #[napi(ts_type = "number | bigint")]
    pub batches: JsInt,
    /// Re-transmissions of an unacknowledged batch.
    #[napi(ts_type = "number | bigint")]
    pub retries: JsInt,
    /// Acknowledgements that matched the in-flight batch.
    #[napi(ts_type = "number | bigint")]
    pub acks: JsInt,
    /// Of those, acknowledgements of batches the global had already applied.
    #[napi(ts_type = "number | bigint")]
    pub duplicate_acks: JsInt,
    /// Failures reported or timed out.
    #[napi(ts_type = "number | bigint")]
    pub failures: JsInt,
    /// Pending entries dropped because their key was reset after they were accepted.
    #[napi(ts_type = "number | bigint")]
    pub stale_dropped: JsInt,
    /// Batches dropped because the global rejected them for good (`handleRejection`).
    #[napi(ts_type = "number | bigint")]
    pub rejected_batches: JsInt,
    /// Entries in those batches.
    #[napi(ts_type = "number | bigint")]
    pub rejected_entries: JsInt,
}

impl From<st::ShardStats> for ShardStats {
    fn from(s: st::ShardStats) -> Self {
        ShardStats {
            requests: int(s.requests),
            batches: int(s.batches),
            retries: int(s.retries),
            acks: int(s.acks),
            duplicate_acks: int(s.duplicate_acks),
            failures: int(s.failures),
            stale_dropped: int(s.stale_dropped),
            rejected_batches: int(s.rejected_batches),
            rejected_entries: int(s.rejected_entries),
        }
    }
}

// ----- global outputs and views -----

/// A key and its generation.
#[napi(object, object_from_js = false)]
pub struct StaleKey {
    /// The key.
    pub key: String,
    /// The key's current generation.
    #[napi(ts_type = "number | bigint")]
    pub generation: JsInt,
}

/// The global's answer to a batch: route it back to the sending shard's `handleAck`.
#[napi(object, object_from_js = false, js_name = "AckOutput")]
pub struct Ack {
    /// Always `'ack'`.
    #[napi(js_name = "type", ts_type = "'ack'")]
    pub kind: String,
    /// The ack encoded for the wire (what `shard.handleAck` takes).
    pub bytes: Uint8Array,
    /// The shard index it is for.
    pub shard: u32,
    /// The shard incarnation it is for.
    #[napi(ts_type = "number | bigint")]
    pub incarnation: JsInt,
    /// The acknowledged batch's sequence number.
    #[napi(ts_type = "number | bigint")]
    pub seq: JsInt,
    /// The batch had already been applied: this ack applied nothing.
    pub duplicate: bool,
    /// The global's current reset generation.
    #[napi(ts_type = "number | bigint")]
    pub generation: JsInt,
    /// Keys of the batch whose deltas were dropped as older than the key's last reset.
    pub stale_keys: Vec<StaleKey>,
}

impl From<&st::Ack> for Ack {
    fn from(a: &st::Ack) -> Self {
        Ack {
            kind: "ack".to_owned(),
            bytes: Uint8Array::from(a.encode()),
            shard: a.to().shard,
            incarnation: int(a.to().incarnation),
            seq: int(a.seq()),
            duplicate: a.is_duplicate(),
            generation: int(a.generation()),
            stale_keys: a.stale_keys().map(|(k, g)| StaleKey { key: k.to_owned(), generation: int(g) }).collect(),
        }
    }
}

/// A key and its total.
#[napi(object, object_from_js = false)]
pub struct KeyTotal {
    /// The key.
    pub key: String,
    /// Its total.
    #[napi(ts_type = "number | bigint")]
    pub total: JsInt,
}

/// A key and a summed delta.
#[napi(object, object_from_js = false)]
pub struct KeyDelta {
    /// The key.
    pub key: String,
    /// The summed delta.
    #[napi(ts_type = "number | bigint")]
    pub delta: JsInt,
}

/// Totals for the host to persist; acknowledge with `handlePublishAck(version, nowMs)`.
#[napi(object, object_from_js = false, js_name = "PublishOutput")]
pub struct Publish {
    /// Always `'publish'`.
    #[napi(js_name = "type", ts_type = "'publish'")]
    pub kind: String,
    /// Increases with every publish.
    #[napi(ts_type = "number | bigint")]
    pub version: JsInt,
    /// Whether `entries` holds every key (`'full'`) or only the changed ones.
    #[napi(ts_type = "PublishMode")]
    pub mode: String,
    /// Why it was cut.
    #[napi(ts_type = "PublishReason")]
    pub reason: String,
    /// `{ key, total }`, sorted by key.
    pub entries: Vec<KeyTotal>,
}

impl From<&st::Publish> for Publish {
    fn from(p: &st::Publish) -> Self {
        Publish {
            kind: "publish".to_owned(),
            version: int(p.version),
            mode: p.mode.as_str().to_owned(),
            reason: p.reason.as_str().to_owned(),
            entries: p.entries.iter().map(|(k, t)| KeyTotal { key: k.to_string(), total: int(*t) }).collect(),
        }
    }
}

/// What `publish` did: a publish was cut (`'sent'`), one is in flight or waiting to be
/// retried and the changes follow it (`'deferred'`), or nothing changed.
#[napi(discriminant = "type", discriminant_case = "snake_case", object_from_js = false)]
pub enum PublishOutcome {
    /// A publish was cut and waits in `pollOutput`.
    Sent {
        /// Its version.
        #[napi(ts_type = "number | bigint")]
        version: JsInt,
    },
    /// A publish is in flight or waiting to be retried.
    Deferred,
    /// Nothing changed since the last publish.
    NothingChanged,
}

impl From<st::PublishOutcome> for PublishOutcome {
    fn from(o: st::PublishOutcome) -> Self {
        match o {
            st::PublishOutcome::Sent { version } => PublishOutcome::Sent { version: int(version) },
            st::PublishOutcome::Deferred => PublishOutcome::Deferred,
            _ => PublishOutcome::NothingChanged,
        }
    }
}

/// What `reset` did: the total went to zero and the key's generation went up (`'reset'`),
/// or the key was zero or absent and nothing changed (`'not_defined'`).
#[napi(discriminant = "type", discriminant_case = "snake_case", object_from_js = false)]
pub enum ResetOutcome {
    /// The key was reset.
    Reset {
        /// The total before the reset.
        #[napi(ts_type = "number | bigint")]
        previous: JsInt,
        /// The key's new generation.
        #[napi(ts_type = "number | bigint")]
        generation: JsInt,
    },
    /// Nothing changed.
    NotDefined,
}

impl From<st::ResetOutcome> for ResetOutcome {
    fn from(o: st::ResetOutcome) -> Self {
        match o {
            st::ResetOutcome::Reset { previous, generation } => {
                ResetOutcome::Reset { previous: int(previous), generation: int(generation) }
            }
            st::ResetOutcome::NotDefined => ResetOutcome::NotDefined,
        }
    }
}

/// The next deadline of a global and why it fires.
#[napi(object, object_from_js = false)]
pub struct GlobalDeadline {
    /// When: call `handleTimeout(nowMs)` with `nowMs >= atMs`.
    pub at_ms: f64,
    /// Which timer.
    #[napi(ts_type = "GlobalTimer")]
    pub timer: String,
}

/// One entry of the global's write log: an applied batch or a reset.
#[napi(discriminant = "type", discriminant_case = "lowercase", object_from_js = false)]
pub enum WriteRecord {
    /// A batch was applied.
    Batch {
        /// When the global applied it.
        at_ms: f64,
        /// The sending shard's index.
        shard: u32,
        /// The sending shard's incarnation.
        #[napi(ts_type = "number | bigint")]
        incarnation: JsInt,
        /// The batch's sequence number.
        #[napi(ts_type = "number | bigint")]
        seq: JsInt,
        /// Number of entries applied.
        keys: u32,
        /// The first `writeLogKeysPerWrite` applied entries, by key.
        entries: Vec<KeyDelta>,
        /// Applied entries not listed in `entries`.
        omitted: u32,
    },
    /// A key was reset.
    Reset {
        /// When.
        at_ms: f64,
        /// The key.
        key: String,
        /// Its total before the reset.
        #[napi(ts_type = "number | bigint")]
        previous: JsInt,
        /// Its new generation.
        #[napi(ts_type = "number | bigint")]
        generation: JsInt,
    },
}

impl WriteRecord {
    /// `None` for record kinds this binding does not know yet.
    pub(crate) fn from_record(r: &st::WriteRecord) -> Option<Self> {
        let at_ms = time_out(r.at);
        match &r.kind {
            st::WriteKind::Batch { from, seq, keys, entries, omitted } => Some(WriteRecord::Batch {
                at_ms,
                shard: from.shard,
                incarnation: int(from.incarnation),
                seq: int(*seq),
                keys: *keys,
                entries: entries.iter().map(|(k, d)| KeyDelta { key: k.to_string(), delta: int(*d) }).collect(),
                omitted: *omitted,
            }),
            st::WriteKind::Reset { key, previous, generation } => {
                Some(WriteRecord::Reset { at_ms, key: key.to_string(), previous: int(*previous), generation: int(*generation) })
            }
            _ => None,
        }
    }
}

/// What one shard index has written to the global.
#[napi(object, object_from_js = false, js_name = "ShardWriteStats")]
pub struct ShardWrites {
    /// The shard index.
    pub shard: u32,
    /// Batches applied from it (all incarnations).
    #[napi(ts_type = "number | bigint")]
    pub writes: JsInt,
    /// Summed applied deltas per key, sorted by key.
    pub deltas: Vec<KeyDelta>,
}

/// Counters of a global's activity (kept across snapshots).
#[napi(object, object_from_js = false)]
pub struct GlobalStats {
    /// Batches applied.
    #[napi(ts_type = "number | bigint")]
    pub total_writes: JsInt,
    /// Distinct shard indices that wrote.
    #[napi(ts_type = "number | bigint")]
    pub distinct_shards: JsInt,
    /// Batches acknowledged without applying (already applied).
    #[napi(ts_type = "number | bigint")]
    pub duplicates: JsInt,
    /// Entries dropped because their key was reset after the deltas were accepted.
    #[napi(ts_type = "number | bigint")]
    pub stale_dropped: JsInt,
    /// Resets that changed a total.
    #[napi(ts_type = "number | bigint")]
    pub resets: JsInt,
    /// Publishes cut.
    #[napi(ts_type = "number | bigint")]
    pub publishes: JsInt,
    /// Publishes that failed or timed out.
    #[napi(ts_type = "number | bigint")]
    pub publish_failures: JsInt,
    /// Deduplication entries pruned by `maxDedupEntries`.
    #[napi(ts_type = "number | bigint")]
    pub dedup_evictions: JsInt,
    /// Batches from shards beyond the per-shard statistics bound (counted here only).
    #[napi(ts_type = "number | bigint")]
    pub untracked_shard_writes: JsInt,
}

impl From<st::GlobalStats> for GlobalStats {
    fn from(s: st::GlobalStats) -> Self {
        GlobalStats {
            total_writes: int(s.total_writes),
            distinct_shards: int(s.distinct_shards),
            duplicates: int(s.duplicates),
            stale_dropped: int(s.stale_dropped),
            resets: int(s.resets),
            publishes: int(s.publishes),
            publish_failures: int(s.publish_failures),
            dedup_evictions: int(s.dedup_evictions),
            untracked_shard_writes: int(s.untracked_shard_writes),
        }
    }
}

/// What a global asks its host to do: persist a publish, or (tiered aggregation) forward a
/// batch to the upstream global and report the answer with `handleUpstreamAck` /
/// `handleUpstreamFailure`.
#[napi(discriminant = "type", discriminant_case = "lowercase", object_from_js = false)]
pub enum GlobalOutput {
    /// Persist these totals, then call `handlePublishAck(version, nowMs)` (or
    /// `handlePublishFailure`).
    Publish {
        /// Increases with every publish.
        #[napi(ts_type = "number | bigint")]
        version: JsInt,
        /// Whether `entries` holds every key (`'full'`) or only the changed ones.
        #[napi(ts_type = "PublishMode")]
        mode: String,
        /// Why it was cut.
        #[napi(ts_type = "PublishReason")]
        reason: String,
        /// `{ key, total }`, sorted by key.
        entries: Vec<KeyTotal>,
    },
    /// Deliver this batch to the upstream global.
    Forward {
        /// The batch encoded for the wire.
        bytes: Uint8Array,
        /// The upstream shard's index.
        shard: u32,
        /// The upstream shard's incarnation.
        #[napi(ts_type = "number | bigint")]
        incarnation: JsInt,
        /// Sequence number.
        #[napi(ts_type = "number | bigint")]
        seq: JsInt,
        /// Why this transmission happened.
        #[napi(ts_type = "FlushReason")]
        reason: String,
        /// The entries, sorted by key then generation.
        entries: Vec<BatchEntry>,
    },
}

impl GlobalOutput {
    /// `None` for output kinds this binding does not know yet.
    pub(crate) fn from_output(o: &shardtally::GlobalOutput) -> Option<Self> {
        match o {
            shardtally::GlobalOutput::Publish(p) => {
                let v = Publish::from(p);
                Some(GlobalOutput::Publish { version: v.version, mode: v.mode, reason: v.reason, entries: v.entries })
            }
            shardtally::GlobalOutput::Forward(b) => {
                let v = Batch::from(b);
                Some(GlobalOutput::Forward {
                    bytes: v.bytes,
                    shard: v.shard,
                    incarnation: v.incarnation,
                    seq: v.seq,
                    reason: v.reason,
                    entries: v.entries,
                })
            }
            _ => None,
        }
    }
}
