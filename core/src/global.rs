//! The global aggregator: applies batches exactly once, keeps the totals, tells the host
//! when to publish them, and fences resets with generations.

use crate::config::{Backoff, GlobalConfig, PublishMode};
use crate::error::Error;
use crate::journal::{GlobalMeta, InFlightPublish};
use crate::keys::{hash_of, validate_key};
use crate::message::{Ack, Batch, GenerationNotice, ShardRef};
use crate::rng::Rng;
use crate::shard::{Deadline, FlushOutcome, Shard, ShardOutput};
use crate::time::{Clock, Timestamp};
use crate::totals::Totals;
use crate::writelog::{ShardWrites, WriteKind, WriteLog, WriteRecord};
use ahash::AHashMap;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

mod rows;
mod tally;

pub use rows::GlobalBuilder;

use tally::ShardTally;

/// Why a publish was cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PublishReason {
    /// `persist_after_writes` batches were applied.
    Writes,
    /// No batch arrived for `persist_after_idle_ms`.
    Idle,
    /// The oldest unpublished change reached `persist_max_age_ms`.
    MaxAge,
    /// A key was reset.
    Reset,
    /// The host asked with [`Global::publish`].
    Manual,
    /// A previous publish failed or timed out; this one carries its changes again.
    Retry,
}

impl PublishReason {
    /// The reason as a stable lower-case string.
    pub fn as_str(self) -> &'static str {
        match self {
            PublishReason::Writes => "writes",
            PublishReason::Idle => "idle",
            PublishReason::MaxAge => "max_age",
            PublishReason::Reset => "reset",
            PublishReason::Manual => "manual",
            PublishReason::Retry => "retry",
        }
    }
}

/// Totals for the host to persist (the KV write of do-counter-sharding).
///
/// Values are absolute totals, so writing a publish twice, or an older one after a newer
/// one has been acknowledged, is harmless when the host keeps the highest `version`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publish {
    /// Increases with every publish. Acknowledge with [`Global::handle_publish_ack`].
    pub version: u64,
    /// Whether `entries` holds every key or only the changed ones.
    pub mode: PublishMode,
    /// Why it was cut.
    pub reason: PublishReason,
    /// `(key, total)`, sorted by key.
    pub entries: Vec<(Arc<str>, i64)>,
}

/// What a global asks its host to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GlobalOutput {
    /// Persist these totals, then report [`Global::handle_publish_ack`] or
    /// [`Global::handle_publish_failure`].
    Publish(Publish),
    /// Tiered aggregation: deliver this batch to the upstream global, then report
    /// [`Global::handle_upstream_ack`] or [`Global::handle_upstream_failure`].
    Forward(Batch),
    /// A key was reset: deliver this notice at once to the shard it names
    /// ([`Shard::handle_generation_notice`](crate::Shard::handle_generation_notice), or
    /// [`Global::handle_generation_notice`] of the mid-level global whose upstream shard it
    /// names). Nothing to report back; a lost notice only delays learning until the shard's
    /// next acknowledgement.
    Notice(GenerationNotice),
}

/// What [`Global::reset`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetOutcome {
    /// The total went to zero and the key's generation went up.
    Reset {
        /// The total before the reset.
        previous: i64,
        /// The key's new generation.
        generation: u64,
    },
    /// The key was zero or absent: nothing changed ("not defined" in do-counter-sharding).
    NotDefined,
}

/// What [`Global::publish`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublishOutcome {
    /// A publish with this version is waiting in [`Global::poll_output`].
    Sent {
        /// The new publish's version.
        version: u64,
    },
    /// A publish is in flight or waiting to be retried; the changes follow it.
    Deferred,
    /// Nothing changed since the last publish.
    NothingChanged,
}

/// Which of a global's timers a deadline belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GlobalTimer {
    /// No batch arrived for `persist_after_idle_ms`.
    Idle,
    /// The oldest unpublished change reaches `persist_max_age_ms`.
    MaxAge,
    /// The in-flight publish has gone unacknowledged for `publish_timeout_ms`.
    PublishTimeout,
    /// Retry a failed publish.
    PublishRetry,
    /// A deadline of the upstream shard (tiered aggregation).
    Upstream,
}

impl GlobalTimer {
    /// The timer's name as a stable lower-case string.
    pub fn as_str(self) -> &'static str {
        match self {
            GlobalTimer::Idle => "idle",
            GlobalTimer::MaxAge => "max_age",
            GlobalTimer::PublishTimeout => "publish_timeout",
            GlobalTimer::PublishRetry => "publish_retry",
            GlobalTimer::Upstream => "upstream",
        }
    }
}

/// Counters of a global's activity (kept across snapshots).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalStats {
    /// Batches applied.
    pub total_writes: u64,
    /// Distinct shard indices that wrote.
    pub distinct_shards: u64,
    /// Batches acknowledged without applying (already applied).
    pub duplicates: u64,
    /// Entries dropped because their key was reset after the deltas were accepted.
    pub stale_dropped: u64,
    /// Resets that changed a total (in a mid-level global: keys fenced by a notice).
    pub resets: u64,
    /// Publishes cut.
    pub publishes: u64,
    /// Publishes that failed or timed out.
    pub publish_failures: u64,
    /// Deduplication entries pruned by `max_dedup_entries`.
    pub dedup_evictions: u64,
    /// Batches from shards beyond the per-shard statistics bound (counted here only).
    pub untracked_shard_writes: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct DedupEntry {
    last_seq: u64,
    last_seen: Timestamp,
}

/// Publish bookkeeping (the publish in flight is kept apart: it is its own journal row).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PublishState {
    next_version: u64,
    published_version: u64,
    /// A failed publish: retry at this time; `attempts` failures so far in a row.
    retry_at: Option<Timestamp>,
    attempts: u32,
    forced: Option<PublishReason>,
    writes_since: u32,
    last_batch_at: Option<Timestamp>,
    first_unpublished_at: Option<Timestamp>,
}

/// The global aggregator.
///
/// # Run loop
///
/// ```text
/// loop {
///     feed one input:  handle_batch → send the returned Ack back to the shard
///                      reset / publish / handle_publish_ack / handle_publish_failure / handle_timeout
///     write take_changes() rows                            // before sending the Ack
///         (or: if take_state_changed() { persist snapshot() })
///     while let Some(out) = poll_output() {
///         persist the Publish / forward the Batch upstream / deliver the Notice to its shard
///     }
///     arm a timer for poll_timeout()
/// }
/// ```
///
/// # Methods by kind
///
/// - **Getters**: [`total`](Self::total), [`totals`](Self::totals),
///   [`key_generation`](Self::key_generation), [`generation`](Self::generation),
///   [`write_log`](Self::write_log), [`shard_writes`](Self::shard_writes),
///   [`stats`](Self::stats), [`published_version`](Self::published_version),
///   [`in_flight_publish`](Self::in_flight_publish), [`last_seq`](Self::last_seq),
///   [`next_deadline`](Self::next_deadline), [`upstream`](Self::upstream),
///   [`config`](Self::config), [`snapshot`](Self::snapshot),
///   [`generation_notice`](Self::generation_notice).
/// - **Inputs** (take `now`): [`handle_batch`](Self::handle_batch), [`reset`](Self::reset),
///   [`publish`](Self::publish), [`handle_publish_ack`](Self::handle_publish_ack),
///   [`handle_publish_failure`](Self::handle_publish_failure),
///   [`handle_upstream_ack`](Self::handle_upstream_ack),
///   [`handle_upstream_failure`](Self::handle_upstream_failure),
///   [`handle_upstream_rejection`](Self::handle_upstream_rejection),
///   [`handle_generation_notice`](Self::handle_generation_notice),
///   [`flush_upstream`](Self::flush_upstream), [`handle_timeout`](Self::handle_timeout).
/// - **Outputs**: [`poll_output`](Self::poll_output) (publishes, forwarded batches and
///   generation notices), [`poll_timeout`](Self::poll_timeout),
///   [`take_state_changed`](Self::take_state_changed), [`take_changes`](Self::take_changes).
/// - **Persistence**: [`snapshot`](Self::snapshot) / [`restore`](Self::restore) /
///   [`restore_tiered`](Self::restore_tiered) (the whole state),
///   [`take_changes`](Self::take_changes) / [`rows`](Self::rows) /
///   [`from_rows`](Self::from_rows) / [`from_rows_tiered`](Self::from_rows_tiered) (row by
///   row, see [`journal`](crate::journal): an applied batch of n entries is O(n) rows, whatever
///   the number of keys).
///
/// # Time and persistence hints
///
/// `now` is milliseconds on the host's clock; an earlier `now` than one seen is treated as
/// the latest seen. `handle_timeout` fires every deadline `<= now` and is a no-op when early
/// or repeated. [`take_state_changed`](Self::take_state_changed) is true exactly when the
/// input changed the [`snapshot`](Self::snapshot) (inputs that change nothing, like a
/// timeout with nothing due, do not even record their `now`), and
/// [`take_changes`](Self::take_changes) is empty exactly then.
///
/// # Exactly once
///
/// A batch whose seq is not newer than the last applied for its `(shard, incarnation)` is
/// acknowledged without being applied. Shards keep a batch in flight until it is
/// acknowledged and never change a batch they re-send, so every delta counts once.
///
/// # Resets and generations
///
/// The global keeps a reset counter, its *generation*. Resetting a key sets its total to
/// zero and its generation to the incremented counter. Shards tag every delta with the
/// generation they last heard of (acknowledgements carry it); a delta tagged older than its
/// key's generation was accepted before the shard learned of the reset and is dropped.
///
/// A reset also emits a [`GenerationNotice`] for every shard the global knows
/// ([`GlobalOutput::Notice`]), which the host delivers at once, so shards learn resets
/// without waiting for their next acknowledgement. **Host contract:** a host that
/// acknowledges a reset only after every shard learned it (delivered the notices, retrying
/// lost ones with [`generation_notice`](Self::generation_notice)) never drops an increment
/// accepted after that acknowledgement; no increment accepted before a shard learned of the
/// reset counts after it.
///
/// # Tiered aggregation
///
/// [`Global::with_upstream`] gives the global an embedded [`Shard`]: every applied batch is
/// also added to it as one request (each delta keeping the generation tag its leaf shard
/// gave it), and its batches come out as [`GlobalOutput::Forward`], to be delivered to a
/// higher-level global. Merging is associative, so fan-in trees count exactly like a single
/// global. Reset keys at the top only: a mid-level global learns resets from notices
/// ([`handle_generation_notice`](Self::handle_generation_notice)) and from its upstream
/// acknowledgements, fences the keys for its own shards and passes notices down.
#[derive(Debug)]
pub struct Global {
    config: GlobalConfig,
    backoff: Backoff,
    clock: Clock,
    generation: u64,
    totals: Totals,
    dedup: AHashMap<ShardRef, DedupEntry>,
    publish: PublishState,
    log: WriteLog,
    shard_writes: BTreeMap<u32, ShardTally>,
    stats: GlobalStats,
    rng: Rng,
    upstream: Option<Shard>,
    publish_flight: Option<InFlightPublish>,
    outputs: VecDeque<GlobalOutput>,
    state_changed: bool,
    journal: GlobalJournal,
}

/// What changed since the journal was last taken, besides the totals' and write log's own marks.
#[derive(Debug, Default)]
struct GlobalJournal {
    /// The meta row as last taken (`None`: never taken, the store is empty).
    last_meta: Option<GlobalMeta>,
    dedup: BTreeSet<ShardRef>,
    /// Shard indices whose write count changed (their tallies list their changed sums).
    shards: BTreeSet<u32>,
    /// The publish in flight was set or cleared.
    publish: bool,
}

impl Global {
    /// An empty global.
    pub fn new(config: GlobalConfig) -> Global {
        Global {
            backoff: Backoff::new(config.retry_initial_ms(), config.retry_max_ms(), config.retry_jitter_percent()),
            log: WriteLog::new(config.write_log_capacity(), config.write_log_keys_per_write()),
            rng: Rng::new(config.seed()),
            config,
            clock: Clock::default(),
            generation: 0,
            totals: Totals::default(),
            dedup: AHashMap::new(),
            publish: PublishState { next_version: 1, ..PublishState::default() },
            shard_writes: BTreeMap::new(),
            stats: GlobalStats::default(),
            upstream: None,
            publish_flight: None,
            outputs: VecDeque::new(),
            state_changed: false,
            journal: GlobalJournal::default(),
        }
    }

    /// An empty global that forwards everything it applies to a higher-level global through
    /// `upstream` (tiered aggregation).
    pub fn with_upstream(config: GlobalConfig, upstream: Shard) -> Global {
        let mut g = Global::new(config);
        g.upstream = Some(upstream);
        g
    }

    // ----- getters -----

    /// The configuration in force.
    pub fn config(&self) -> &GlobalConfig {
        &self.config
    }

    /// The total of one key (0 when absent).
    pub fn total(&self, key: &str) -> i64 {
        self.totals.get(key).map_or(0, |e| e.total)
    }

    /// Every key's total, sorted by key (keys reset to zero are included).
    pub fn totals(&self) -> Vec<(&str, i64)> {
        self.totals
            .sorted()
            .iter()
            .map(|id| {
                let e = self.totals.entry(*id);
                (&*e.key, e.total)
            })
            .collect()
    }

    /// A key's generation: the reset counter's value at its last reset (0 if never reset).
    pub fn key_generation(&self, key: &str) -> u64 {
        self.totals.id(key).map_or(0, |id| self.totals.generation(id))
    }

    /// The reset counter: new shards may start from it
    /// ([`Shard::with_generation`](crate::Shard::with_generation)).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Recent writes (applied batches and resets), newest first.
    pub fn write_log(&self) -> impl Iterator<Item = &WriteRecord> {
        self.log.newest_first()
    }

    /// Per-shard write statistics, by shard index; each shard's deltas sorted by key.
    pub fn shard_writes(&self) -> Vec<(u32, ShardWrites)> {
        self.shard_writes.iter().map(|(s, t)| (*s, self.shard_view(t))).collect()
    }

    /// Activity counters.
    pub fn stats(&self) -> GlobalStats {
        self.stats
    }

    /// The version of the last acknowledged publish (0 before any).
    pub fn published_version(&self) -> u64 {
        self.publish.published_version
    }

    /// The publish waiting for its acknowledgement, if any.
    pub fn in_flight_publish(&self) -> Option<&Publish> {
        self.publish_flight.as_ref().map(|f| &f.publish)
    }

    /// The last applied seq of a shard life, if it is remembered.
    pub fn last_seq(&self, from: ShardRef) -> Option<u64> {
        self.dedup.get(&from).map(|d| d.last_seq)
    }

    /// The upstream shard, for tiered aggregation.
    pub fn upstream(&self) -> Option<&Shard> {
        self.upstream.as_ref()
    }

    /// A generation notice of `key`'s last reset addressed to `to`: to re-deliver a lost
    /// notice, or to tell a shard this global has not heard from yet (a host that knows all
    /// its shards). A key never reset gives a notice of the reset counter alone.
    pub fn generation_notice(&self, key: &str, to: ShardRef) -> GenerationNotice {
        let stale = match self.totals.id(key) {
            Some(id) if self.totals.generation(id) > 0 => vec![(self.totals.entry(id).key.clone(), self.totals.generation(id))],
            _ => Vec::new(),
        };
        GenerationNotice { to, generation: self.generation, stale }
    }

    /// The next deadline and which timer it belongs to.
    pub fn next_deadline(&self) -> Option<Deadline<GlobalTimer>> {
        let own = self.own_deadline();
        let up = self.upstream.as_ref().and_then(Shard::poll_timeout).map(|at| Deadline { at, timer: GlobalTimer::Upstream });
        Deadline::earlier(up, own)
    }

    // ----- inputs -----

    /// Applies a batch exactly once and returns the acknowledgement to route back to its
    /// shard. A batch already applied is acknowledged again without being applied.
    ///
    /// Errors (nothing changes, not even the clock; the shard will retry):
    /// [`Error::KeyTooLong`], [`Error::Overflow`] (a total would overflow),
    /// [`Error::TableFull`] (`max_keys`), and in a tiered global the upstream shard's (its
    /// pending table full, a pending delta overflowing), checked before anything is applied.
    pub fn handle_batch(&mut self, batch: &Batch, now: Timestamp) -> Result<Ack, Error> {
        let from = batch.from;
        let now = self.clock.at(now);
        if let Some(d) = self.dedup.get_mut(&from) {
            if batch.seq <= d.last_seq {
                d.last_seen = now;
                self.journal.dedup.insert(from);
                self.stats.duplicates += 1;
                self.changed_at(now);
                return Ok(Ack { to: from, seq: batch.seq, duplicate: true, generation: self.generation, stale: Vec::new() });
            }
        }
        // Validate everything first, remembering each entry's key id. A batch cut in this
        // process carries its keys' hashes: no key is hashed.
        const STALE: u32 = u32::MAX;
        const NEW: u32 = u32::MAX - 1;
        let max = self.config.max_key_bytes();
        let entries = &batch.entries[..];
        let computed: Vec<u32>;
        let hashes = match batch.hashes() {
            Some(h) => h,
            None => {
                computed = entries.iter().map(|e| hash_of(&e.key)).collect();
                &computed
            }
        };
        let mut stale: Vec<(Arc<str>, u64)> = Vec::new();
        let mut slots: Vec<u32> = Vec::with_capacity(entries.len());
        let mut new_keys = 0usize;
        // The last applied entry: its id (or NEW), position and running total. Entries are
        // sorted by key, so a key's entries (one per generation) are adjacent.
        let mut running: Option<(u32, usize, i64)> = None;
        let hashes = &hashes[..entries.len()];
        for (i, (e, hash)) in entries.iter().zip(hashes).enumerate() {
            if e.key.is_empty() || e.key.len() > max {
                validate_key(&e.key, max)?;
            }
            let id = self.totals.find(&e.key, *hash);
            let (generation, total) = id.map_or((0, 0), |id| (self.totals.generation(id), self.totals.entry(id).total));
            if e.generation < generation {
                if stale.last().is_none_or(|(k, _)| **k != *e.key) {
                    stale.push((e.key.clone(), generation));
                }
                slots.push(STALE);
                continue;
            }
            let slot = id.unwrap_or(NEW);
            let current = match running {
                Some((last, at, t)) if last == slot && (slot != NEW || entries[at].key == e.key) => t,
                _ => {
                    if id.is_none() {
                        new_keys += 1;
                    }
                    total
                }
            };
            let total = current.checked_add(e.delta).ok_or_else(|| Error::Overflow { key: e.key.to_string(), current, delta: e.delta })?;
            running = Some((slot, i, total));
            slots.push(slot);
        }
        if self.totals.len() + new_keys > self.config.max_keys() {
            return Err(Error::TableFull { table: "totals", limit: self.config.max_keys() });
        }
        let prune = self.dedup_room(from)?;
        if let Some(up) = self.upstream.as_mut() {
            let items: Vec<(&str, u32, u64, i64)> = (entries.iter().zip(hashes).zip(&slots))
                .filter(|(_, id)| **id != STALE)
                .map(|((e, hash), _)| (&*e.key, *hash, e.generation, e.delta))
                .collect();
            up.check_tagged(&items)?;
            // Validated: from here on nothing can fail.
            up.apply_tagged(&items, now);
        }
        // Apply.
        self.totals.reserve(new_keys);
        let known = self.shard_writes.contains_key(&from.shard);
        let tracked = known || self.shard_writes.len() < self.config.max_dedup_entries();
        let mut tally = if tracked { Some(self.shard_writes.entry(from.shard).or_default()) } else { None };
        if let Some(t) = tally.as_mut() {
            t.prepare(self.totals.len() + new_keys);
        }
        let keep = self.log.keys_per_write();
        let (mut applied, mut listed) = (0usize, Vec::with_capacity(keep.min(batch.len())));
        for ((e, hash), slot) in entries.iter().zip(hashes).zip(slots) {
            let id = match slot {
                STALE => {
                    self.stats.stale_dropped += 1;
                    continue;
                }
                // A new key may appear twice (two generations): the first inserts it.
                NEW => self.totals.find(&e.key, *hash).unwrap_or_else(|| self.totals.insert(e.key.clone(), *hash, 0, 0)),
                id => id,
            };
            self.totals.add(id, e.delta);
            if let Some(t) = tally.as_mut() {
                t.add(id, e.delta);
            }
            if listed.len() < keep {
                listed.push((e.key.clone(), e.delta));
            }
            applied += 1;
        }
        match tally {
            Some(tally) => {
                tally.writes += 1;
                self.journal.shards.insert(from.shard);
                if !known {
                    self.stats.distinct_shards += 1;
                }
            }
            None => self.stats.untracked_shard_writes += 1,
        }
        self.log.push(WriteRecord { at: now, kind: WriteKind::batch(from, batch.seq, applied, listed) });
        self.remember(from, batch.seq, now, prune);
        self.stats.total_writes += 1;
        let p = &mut self.publish;
        p.writes_since = p.writes_since.saturating_add(1);
        p.last_batch_at = Some(now);
        if applied > 0 && p.first_unpublished_at.is_none() {
            p.first_unpublished_at = Some(now);
        }
        self.changed_at(now);
        self.maybe_publish(now);
        self.drain_upstream();
        Ok(Ack { to: from, seq: batch.seq, duplicate: false, generation: self.generation, stale })
    }

    /// Resets a key: its total goes to zero, its generation up; pending deltas shards
    /// accepted before they learn of it never count. Produces a publish, a write-log entry
    /// and a [`GlobalOutput::Notice`] for every shard index the global knows (to its most
    /// recently seen incarnation), sorted by shard index. A key that is zero or absent is
    /// "not defined": nothing changes.
    ///
    /// In a tree of globals, reset at the top only (generations are the top's numbers).
    ///
    /// Errors: [`Error::EmptyKey`], [`Error::KeyTooLong`].
    pub fn reset(&mut self, key: &str, now: Timestamp) -> Result<ResetOutcome, Error> {
        validate_key(key, self.config.max_key_bytes())?;
        let Some(id) = self.totals.id(key).filter(|id| self.totals.entry(*id).total != 0) else {
            return Ok(ResetOutcome::NotDefined);
        };
        let now = self.clock.at(now);
        self.generation += 1;
        let generation = self.generation;
        let previous = self.fence(id, generation, now);
        self.notify(vec![(self.totals.entry(id).key.clone(), generation)]);
        Ok(ResetOutcome::Reset { previous, generation })
    }

    /// Tiered aggregation: the top global announced a reset ([`GenerationNotice`] addressed
    /// to this global's upstream shard). The global fences the reset keys for its own
    /// shards' batches (their totals go to zero under the announced generation, as a reset
    /// would; a key not yet known is added at zero if `max_keys` allows), raises its reset
    /// counter, teaches the upstream shard, and emits the notice again for every shard it
    /// knows ([`GlobalOutput::Notice`]) — also when it had learned everything already, so a
    /// re-delivered notice reaches shards whose first copy was lost. Returns whether this
    /// global or its upstream shard learned anything.
    ///
    /// Errors: [`Error::NoUpstream`] (a global without an upstream has no one to hear from).
    pub fn handle_generation_notice(&mut self, notice: &GenerationNotice, now: Timestamp) -> Result<bool, Error> {
        let up = self.upstream.as_mut().ok_or(Error::NoUpstream)?;
        let now = self.clock.at(now);
        let learned_up = up.handle_generation_notice(notice, now);
        let before = std::mem::take(&mut self.state_changed);
        if notice.generation > self.generation {
            self.generation = notice.generation;
            self.changed_at(now);
        }
        for (key, generation) in &notice.stale {
            let hash = hash_of(key);
            let id = match self.totals.find(key, hash) {
                Some(id) => id,
                None if self.totals.len() < self.config.max_keys() && validate_key(key, self.config.max_key_bytes()).is_ok() => {
                    self.totals.insert(key.clone(), hash, 0, 0)
                }
                None => continue,
            };
            if self.totals.generation(id) < *generation {
                self.fence(id, *generation, now);
            }
        }
        let learned = self.state_changed || learned_up;
        self.state_changed |= before;
        self.notify(notice.stale.clone());
        self.drain_upstream();
        Ok(learned)
    }

    /// Publishes now (reason `manual`) if anything changed since the last publish.
    pub fn publish(&mut self, now: Timestamp) -> PublishOutcome {
        let now = self.clock.at(now);
        if !self.totals.has_changes() {
            return PublishOutcome::NothingChanged;
        }
        if self.publish_flight.is_some() || self.publish.retry_at.is_some() {
            if self.publish.forced.is_none() {
                self.publish.forced = Some(PublishReason::Manual);
                self.changed_at(now);
            }
            return PublishOutcome::Deferred;
        }
        self.publish.forced = Some(PublishReason::Manual);
        self.maybe_publish(now);
        PublishOutcome::Sent { version: self.publish.next_version - 1 }
    }

    /// The host persisted publish `version`. Returns whether it was the one in flight
    /// (a late acknowledgement of a superseded publish returns `false`).
    pub fn handle_publish_ack(&mut self, version: u64, now: Timestamp) -> bool {
        if !matches!(&self.publish_flight, Some(f) if f.publish.version == version) {
            return false;
        }
        let now = self.clock.at(now);
        self.publish_flight = None;
        self.journal.publish = true;
        self.publish.published_version = version;
        self.publish.attempts = 0;
        self.changed_at(now);
        self.maybe_publish(now);
        true
    }

    /// Persisting publish `version` failed: its changes are kept and published again after
    /// a backoff. Returns `false` (and changes nothing) when `version` is not in flight.
    pub fn handle_publish_failure(&mut self, version: u64, now: Timestamp) -> bool {
        if !matches!(&self.publish_flight, Some(f) if f.publish.version == version) {
            return false;
        }
        let now = self.clock.at(now);
        self.fail_publish(now);
        true
    }

    /// Tiered aggregation: the upstream global acknowledged a forwarded batch. A newer reset
    /// generation it carries is adopted by this global too (so its shards tag with it).
    ///
    /// Errors: [`Error::NoUpstream`], [`Error::WrongShard`].
    pub fn handle_upstream_ack(&mut self, ack: &Ack, now: Timestamp) -> Result<bool, Error> {
        let up = self.upstream.as_mut().ok_or(Error::NoUpstream)?;
        let matched = up.handle_ack(ack, now)?;
        let learned = up.generation();
        if learned > self.generation {
            self.generation = learned;
            let now = self.clock.at(now);
            self.changed_at(now);
        }
        self.drain_upstream();
        Ok(matched)
    }

    /// Tiered aggregation: forwarding batch `seq` upstream failed.
    ///
    /// Errors: [`Error::NoUpstream`].
    pub fn handle_upstream_failure(&mut self, seq: u64, now: Timestamp) -> Result<bool, Error> {
        let up = self.upstream.as_mut().ok_or(Error::NoUpstream)?;
        let matched = up.handle_failure(seq, now);
        self.drain_upstream();
        Ok(matched)
    }

    /// Tiered aggregation: the upstream global rejected forwarded batch `seq` for good (its
    /// `handle_batch` failed with an error whose [`Error::rejects_batch`] is true, e.g. its
    /// totals table is full): the upstream shard drops it as a counted drop
    /// ([`Shard::handle_rejection`]) instead of re-sending it forever ahead of every later
    /// batch. Returns `false` (and changes nothing) when `seq` is not in flight.
    ///
    /// Errors: [`Error::NoUpstream`].
    pub fn handle_upstream_rejection(&mut self, seq: u64, now: Timestamp) -> Result<bool, Error> {
        let up = self.upstream.as_mut().ok_or(Error::NoUpstream)?;
        let matched = up.handle_rejection(seq, now);
        self.drain_upstream();
        Ok(matched)
    }

    /// Tiered aggregation: forward everything merged so far upstream now.
    ///
    /// Errors: [`Error::NoUpstream`].
    pub fn flush_upstream(&mut self, now: Timestamp) -> Result<FlushOutcome, Error> {
        let up = self.upstream.as_mut().ok_or(Error::NoUpstream)?;
        let outcome = up.flush(now);
        self.drain_upstream();
        Ok(outcome)
    }

    /// Fires every deadline `<= now` (publish timers, publish timeout and retry, the
    /// upstream shard's timers). Early or repeated calls do nothing.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let now = self.clock.at(now);
        if self.own_deadline().is_some_and(|d| d.at <= now) {
            if self.publish_flight.as_ref().is_some_and(|f| f.deadline <= now) {
                self.fail_publish(now);
            }
            if self.publish.retry_at.is_some_and(|t| t <= now) {
                self.publish.retry_at = None;
                self.publish.forced = Some(PublishReason::Retry);
                self.changed_at(now);
            }
            self.maybe_publish(now);
        }
        if let Some(up) = self.upstream.as_mut() {
            up.handle_timeout(now);
            self.drain_upstream();
        }
    }

    // ----- outputs -----

    /// The next thing the host must do, if any.
    pub fn poll_output(&mut self) -> Option<GlobalOutput> {
        self.outputs.pop_front()
    }

    /// The earliest deadline: call [`handle_timeout`](Self::handle_timeout) then.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.next_deadline().map(|d| d.at)
    }

    /// Whether the state changed since the last call (then a durable host persists
    /// [`snapshot`](Self::snapshot), or [`take_changes`](Self::take_changes), before sending
    /// acknowledgements). Exactly when the snapshot differs, the upstream shard included.
    pub fn take_state_changed(&mut self) -> bool {
        let up = self.upstream.as_mut().is_some_and(Shard::take_state_changed);
        std::mem::take(&mut self.state_changed) | up
    }

    // ----- internals -----

    fn shard_view(&self, t: &ShardTally) -> ShardWrites {
        let mut deltas: Vec<(Arc<str>, i64)> = t.sums().into_iter().map(|(id, d)| (self.totals.entry(id).key.clone(), d)).collect();
        deltas.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        ShardWrites { writes: t.writes, deltas }
    }

    /// Records that the state changed at `now` (the clock moves only with a change).
    #[inline]
    fn changed_at(&mut self, now: Timestamp) {
        self.clock.observe(now);
        self.state_changed = true;
    }

    /// Zeroes a key under `generation` as a reset does (write-log entry, forced publish).
    /// Returns the previous total.
    fn fence(&mut self, id: u32, generation: u64, now: Timestamp) -> i64 {
        let (k, previous) = (self.totals.entry(id).key.clone(), self.totals.entry(id).total);
        self.totals.reset(id, generation);
        self.log.push(WriteRecord { at: now, kind: WriteKind::Reset { key: k, previous, generation } });
        self.stats.resets += 1;
        if self.publish.first_unpublished_at.is_none() {
            self.publish.first_unpublished_at = Some(now);
        }
        self.publish.forced = Some(PublishReason::Reset);
        self.changed_at(now);
        self.maybe_publish(now);
        previous
    }

    /// Emits a generation notice of `stale` for every known shard index, to its most
    /// recently seen incarnation, sorted by shard index.
    fn notify(&mut self, stale: Vec<(Arc<str>, u64)>) {
        let mut latest: BTreeMap<u32, (Timestamp, u64)> = BTreeMap::new();
        for (r, d) in &self.dedup {
            let e = latest.entry(r.shard).or_insert((d.last_seen, r.incarnation));
            *e = (*e).max((d.last_seen, r.incarnation));
        }
        for (shard, (_, incarnation)) in latest {
            let to = ShardRef { shard, incarnation };
            self.outputs.push_back(GlobalOutput::Notice(GenerationNotice { to, generation: self.generation, stale: stale.clone() }));
        }
    }

    fn own_deadline(&self) -> Option<Deadline<GlobalTimer>> {
        let p = &self.publish;
        if let Some(f) = &self.publish_flight {
            return Some(Deadline { at: f.deadline, timer: GlobalTimer::PublishTimeout });
        }
        if let Some(at) = p.retry_at {
            return Some(Deadline { at, timer: GlobalTimer::PublishRetry });
        }
        if !self.totals.has_changes() {
            return None;
        }
        let idle = self.config.persist_after_idle_ms();
        let age = self.config.persist_max_age_ms();
        let idle = p.last_batch_at.filter(|_| idle > 0).map(|t| Deadline { at: t.saturating_add(idle), timer: GlobalTimer::Idle });
        let age = p.first_unpublished_at.filter(|_| age > 0).map(|t| Deadline { at: t.saturating_add(age), timer: GlobalTimer::MaxAge });
        Deadline::earlier(idle, age)
    }

    /// Cuts a publish if none is in flight or waiting to retry and a condition holds.
    fn maybe_publish(&mut self, now: Timestamp) {
        if self.publish_flight.is_some() || self.publish.retry_at.is_some() || !self.totals.has_changes() {
            return;
        }
        let threshold = self.config.persist_after_writes();
        let reason = if let Some(r) = self.publish.forced {
            r
        } else if threshold > 0 && self.publish.writes_since >= threshold {
            PublishReason::Writes
        } else {
            match self.own_deadline() {
                Some(Deadline { at, timer: GlobalTimer::Idle }) if at <= now => PublishReason::Idle,
                Some(Deadline { at, timer: GlobalTimer::MaxAge }) if at <= now => PublishReason::MaxAge,
                _ => return,
            }
        };
        let changed = self.totals.take_changes();
        let keys: Vec<Arc<str>> = changed.iter().map(|id| self.totals.entry(*id).key.clone()).collect();
        let mode = self.config.publish_mode();
        if mode == PublishMode::Full {
            self.totals.refresh_order();
        }
        let pick = |id: &u32| {
            let e = self.totals.entry(*id);
            (e.key.clone(), e.total)
        };
        let entries: Vec<(Arc<str>, i64)> = match mode {
            PublishMode::Changes => changed.iter().map(pick).collect(),
            PublishMode::Full => self.totals.sorted().iter().map(pick).collect(),
        };
        let p = &mut self.publish;
        let publish = Publish { version: p.next_version, mode, reason, entries };
        p.next_version += 1;
        p.writes_since = 0;
        p.first_unpublished_at = None;
        p.forced = None;
        self.publish_flight =
            Some(InFlightPublish { publish: publish.clone(), keys, deadline: now.saturating_add(self.config.publish_timeout_ms()) });
        self.journal.publish = true;
        self.stats.publishes += 1;
        self.outputs.push_back(GlobalOutput::Publish(publish));
        self.changed_at(now);
    }

    fn fail_publish(&mut self, now: Timestamp) {
        let Some(f) = self.publish_flight.take() else { return };
        self.journal.publish = true;
        let ids: Vec<u32> = f.keys.iter().filter_map(|k| self.totals.id(k)).collect();
        self.totals.mark_changed(&ids);
        let p = &mut self.publish;
        p.attempts = p.attempts.saturating_add(1);
        p.retry_at = Some(now.saturating_add(self.backoff.delay(p.attempts, &mut self.rng)));
        if p.first_unpublished_at.is_none() {
            p.first_unpublished_at = Some(now);
        }
        self.stats.publish_failures += 1;
        self.changed_at(now);
    }

    /// Room in the deduplication table for a batch from `from`: `Ok(None)` when it is known
    /// or there is room, `Ok(Some(entry))` when an old life must be pruned first. Only lives
    /// a newer life of the same shard index replaced are pruned — the least recently seen of
    /// them, preferring `from`'s own index — so a live shard never loses its entry (its
    /// re-sent batches would count twice). With no such life the batch is refused
    /// ([`Error::TableFull`] `"dedup"`, not a rejection: the shard retries) until the host
    /// raises `max_dedup_entries` above its number of live shards.
    fn dedup_room(&self, from: ShardRef) -> Result<Option<ShardRef>, Error> {
        if self.dedup.contains_key(&from) || self.dedup.len() < self.config.max_dedup_entries() {
            return Ok(None);
        }
        // The most recently seen life of every shard index (the incoming one counts as newest).
        let mut newest: AHashMap<u32, (Timestamp, ShardRef)> = AHashMap::new();
        for (r, d) in &self.dedup {
            let e = newest.entry(r.shard).or_insert((d.last_seen, *r));
            if (d.last_seen, *r) > *e {
                *e = (d.last_seen, *r);
            }
        }
        let superseded = |r: &ShardRef| r.shard == from.shard || newest.get(&r.shard).is_some_and(|(_, n)| n != r);
        self.dedup
            .iter()
            .filter(|(r, _)| superseded(r))
            .min_by_key(|(r, d)| (r.shard != from.shard, d.last_seen, **r))
            .map(|(r, _)| Some(*r))
            .ok_or(Error::TableFull { table: "dedup", limit: self.config.max_dedup_entries() })
    }

    /// Remembers the last applied seq of a shard life, first pruning the old life
    /// [`dedup_room`](Self::dedup_room) chose.
    fn remember(&mut self, from: ShardRef, seq: u64, now: Timestamp, prune: Option<ShardRef>) {
        if let Some(old) = prune {
            self.dedup.remove(&old);
            self.journal.dedup.insert(old);
            self.stats.dedup_evictions += 1;
        }
        self.dedup.insert(from, DedupEntry { last_seq: seq, last_seen: now });
        self.journal.dedup.insert(from);
    }

    /// Moves the upstream shard's outputs into ours.
    fn drain_upstream(&mut self) {
        if let Some(up) = self.upstream.as_mut() {
            while let Some(ShardOutput::SendBatch(b)) = up.poll_output() {
                self.outputs.push_back(GlobalOutput::Forward(b));
            }
        }
    }
}
