//! The change journal: a machine's state as rows, and the rows that changed since the last
//! take, so a host that persists after every input writes O(change), not O(state).
//!
//! [`Shard::take_changes`](crate::Shard::take_changes) and
//! [`Global::take_changes`](crate::Global::take_changes) (and the other stateful machines'
//! `take_changes`: [`Gateway`](crate::Gateway::take_changes),
//! [`Outbox`](crate::outbox::Outbox::take_changes)) return the rows changed since the
//! previous take, in a deterministic order (meta first, then table by table, each sorted by
//! its primary key); a row changed several times appears once, with its latest value, and the
//! list is empty exactly when the [`snapshot`](crate::Shard::snapshot) did not change.
//! Applying every take, in order, to a store of tables keyed as below and rebuilding with
//! [`Shard::from_rows`](crate::Shard::from_rows) / [`Global::from_rows`](crate::Global::from_rows)
//! gives a machine whose snapshot equals the live one's. [`rows`](crate::Shard::rows) lists
//! every row (to seed a new store); after [`restore`](crate::Shard::restore) or `from_rows` the
//! journal starts empty (the store is assumed to hold the state).
//!
//! # Tables
//!
//! Each row names its table ([`ShardRow::table`], [`GlobalRow::table`]; the gateway's and the
//! outbox's tables are listed with [`GatewayRow`] and [`OutboxRow`]). The typed columns map
//! onto SQL directly; `meta`, the in-flight batch and the in-flight publish are opaque — store
//! [`encode`](ShardRow::encode)d bytes (a CRC-32C checksummed envelope) in a blob column.
//! A host without a typed schema stores every row as `encode()`d bytes under its table and
//! primary key: [`ShardRow::op`] / [`GlobalRow::op`] give each change as a storage operation
//! ([`RowOp`]: put, delete, clear, delete below a key), [`ShardRow::decode_stored`] /
//! [`GlobalRow::decode_stored`] read the stored `(table, value)` pairs back, and [`RowStore`]
//! is such a store in memory.
//!
//! Shard:
//!
//! | table | primary key | columns | rows |
//! |---|---|---|---|
//! | `meta` | — | blob | [`ShardRow::Meta`]: one row, the scalar state |
//! | `slots` | `id` | `key`, `pinned` | [`ShardRow::Slot`] upsert, [`ShardRow::SlotFreed`] delete |
//! | `pending` | `(key, generation)` | `delta` | [`ShardRow::Pending`] upsert, [`ShardRow::PendingRemoved`] delete, [`ShardRow::PendingCleared`] deletes all |
//! | `in_flight` | — | blob | [`ShardRow::InFlight`] upsert, [`ShardRow::InFlightCleared`] delete |
//!
//! Global:
//!
//! | table | primary key | columns | rows |
//! |---|---|---|---|
//! | `meta` | — | blob | [`GlobalRow::Meta`]: clock, generation counter, publish state, statistics, generator |
//! | `totals` | `key` | `total`, `generation`, `unpublished` | [`GlobalRow::Total`] upsert |
//! | `dedup` | `(shard, incarnation)` | `last_seq`, `last_seen` | [`GlobalRow::Dedup`] upsert, [`GlobalRow::DedupRemoved`] delete |
//! | `writes` | `id` | blob ([`WriteRecord`]) | [`GlobalRow::Write`] insert, [`GlobalRow::WritesTrimmed`] deletes `id < before` |
//! | `shard_writes` | `shard` | `writes` | [`GlobalRow::ShardWriteCount`] upsert |
//! | `shard_deltas` | `(shard, key)` | `delta` | [`GlobalRow::ShardDelta`] upsert |
//! | `publish` | — | blob | [`GlobalRow::PublishInFlight`] upsert, [`GlobalRow::PublishCleared`] delete |
//! | `upstream` | — | — | [`GlobalRow::Upstream`]: a tiered global's upstream shard, its own tables |
//!
//! # Cost
//!
//! A shard's increment changes its `meta` row, one `pending` row and, for a key without a
//! slot, one `slots` row; cutting a batch is one `PendingCleared` plus the `in_flight` row
//! (the batch, O(entries)). A global applying a batch of n entries changes n `totals`
//! rows, n `shard_deltas` rows and a constant number of others (`meta`, `dedup`,
//! `shard_writes`, `writes`), whatever the number of keys. A publish in `changes` mode
//! flips the `unpublished` column of the keys it carries and stores them in the `publish`
//! row: O(changed keys). A publish in `full` mode carries every total, so its `publish` row
//! is O(keys) bytes — once per publish, not per batch; at a million keys prefer `changes`.

use crate::config::PublishMode;
use crate::error::DecodeError;
use crate::global::{PublishReason, PublishState};
use crate::message::{Batch, ShardRef};
use crate::rng::Rng;
use crate::shard::{FlightState, ShardStats};
use crate::snapshot::{self, Kind};
use crate::time::{Clock, Timestamp};
use crate::writelog::WriteRecord;
use crate::GlobalStats;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use crate::gateway::{GatewayMeta, GatewayRow, GatewayTable};
pub use crate::global::GlobalBuilder;
pub use crate::outbox::{OutboxMeta, OutboxRow, OutboxTable};
pub use crate::shard::ShardBuilder;

/// A shard's scalar state (the `meta` row): identity, clock, generation, sequence numbers,
/// request count, timers, the in-flight batch's retry state, flags, generator and statistics.
/// Opaque: store it with [`ShardRow::encode`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardMeta {
    pub(crate) me: ShardRef,
    pub(crate) clock: Clock,
    pub(crate) generation: u64,
    pub(crate) next_seq: u64,
    pub(crate) slot_count: u32,
    pub(crate) requests: u64,
    pub(crate) first_pending_at: Option<Timestamp>,
    pub(crate) last_increment_at: Timestamp,
    /// Transmissions and state of the in-flight batch (the batch is its own row).
    pub(crate) flight: Option<(u32, FlightState)>,
    pub(crate) draining: bool,
    pub(crate) manual_requested: bool,
    pub(crate) rng: Rng,
    pub(crate) stats: ShardStats,
}

/// A global's scalar state (the `meta` row): clock, reset counter, publish bookkeeping,
/// statistics, generator and the next write-log id. Opaque: store it with
/// [`GlobalRow::encode`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalMeta {
    pub(crate) clock: Clock,
    pub(crate) generation: u64,
    pub(crate) publish: PublishState,
    pub(crate) stats: GlobalStats,
    pub(crate) rng: Rng,
    pub(crate) next_write_id: u64,
}

/// A publish waiting for its acknowledgement (the `publish` row). Opaque: store it with
/// [`GlobalRow::encode`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlightPublish {
    pub(crate) publish: crate::Publish,
    /// The changed keys it carries (marked changed again if it fails).
    pub(crate) keys: Vec<Arc<str>>,
    pub(crate) deadline: Timestamp,
}

impl InFlightPublish {
    /// The publish.
    pub fn publish(&self) -> &crate::Publish {
        &self.publish
    }
    /// Its version.
    pub fn version(&self) -> u64 {
        self.publish.version
    }
    /// Its mode.
    pub fn mode(&self) -> PublishMode {
        self.publish.mode
    }
    /// Why it was cut.
    pub fn reason(&self) -> PublishReason {
        self.publish.reason
    }
}

/// One row change of a [`Shard`](crate::Shard) (see the [module docs](self) for the tables).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ShardRow {
    /// Upsert the single `meta` row.
    Meta(ShardMeta),
    /// Upsert a key slot (`slots`, by `id`): interned keys keep their id for good.
    Slot {
        /// The slot id ([`KeyId::raw`](crate::KeyId::raw) for interned keys).
        id: u32,
        /// The key.
        key: Arc<str>,
        /// Issued by [`intern`](crate::Shard::intern).
        pinned: bool,
    },
    /// Delete a key slot (`slots`, by `id`).
    SlotFreed {
        /// The slot id.
        id: u32,
    },
    /// Delete every `pending` row (a batch was cut; upserts that follow are newer).
    PendingCleared,
    /// Upsert a pending delta (`pending`, by `(key, generation)`).
    Pending {
        /// The key.
        key: Arc<str>,
        /// The generation the deltas were accepted under.
        generation: u64,
        /// The summed pending delta.
        delta: i64,
    },
    /// Delete a pending delta (`pending`, by `(key, generation)`): dropped after a reset.
    PendingRemoved {
        /// The key.
        key: Arc<str>,
        /// The generation.
        generation: u64,
    },
    /// Upsert the single `in_flight` row: the batch in flight.
    InFlight(Batch),
    /// Delete the `in_flight` row: nothing is in flight.
    InFlightCleared,
}

/// One row change of a [`Global`](crate::Global) (see the [module docs](self) for the tables).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum GlobalRow {
    /// Upsert the single `meta` row.
    Meta(GlobalMeta),
    /// Upsert a key's total (`totals`, by `key`).
    Total {
        /// The key.
        key: Arc<str>,
        /// Its total.
        total: i64,
        /// Its generation (the reset counter at its last reset).
        generation: u64,
        /// Changed since the last publish was cut (to be carried by the next one).
        unpublished: bool,
    },
    /// Upsert a deduplication entry (`dedup`, by `(shard, incarnation)`).
    Dedup {
        /// The shard life.
        from: ShardRef,
        /// The last applied seq.
        last_seq: u64,
        /// When it was last seen.
        last_seen: Timestamp,
    },
    /// Delete a deduplication entry (pruned by `max_dedup_entries`).
    DedupRemoved {
        /// The shard life.
        from: ShardRef,
    },
    /// Insert a write-log record (`writes`, by `id`; ids increase by one per record).
    Write {
        /// The record's id.
        id: u64,
        /// The record.
        record: WriteRecord,
    },
    /// Delete the write-log records with `id < before` (the ring dropped them).
    WritesTrimmed {
        /// The oldest id kept.
        before: u64,
    },
    /// Upsert a shard index's applied-batch count (`shard_writes`, by `shard`).
    ShardWriteCount {
        /// The shard index.
        shard: u32,
        /// Batches applied from it.
        writes: u64,
    },
    /// Upsert a shard index's summed delta of one key (`shard_deltas`, by `(shard, key)`).
    ShardDelta {
        /// The shard index.
        shard: u32,
        /// The key.
        key: Arc<str>,
        /// Summed applied deltas (saturating).
        delta: i64,
    },
    /// Upsert the single `publish` row: the publish in flight.
    PublishInFlight(InFlightPublish),
    /// Delete the `publish` row: no publish is in flight.
    PublishCleared,
    /// A row of a tiered global's upstream shard (its own tables, prefixed `upstream`).
    Upstream(ShardRow),
}

/// What a [`RowOp`] does to its table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowOpKind {
    /// Insert or replace the row under `key` with `value`.
    Put,
    /// Delete the row under `key` (if any).
    Delete,
    /// Delete every row of the table (`key` is empty).
    Clear,
    /// Delete every row whose key is below `key`, bytewise (SQL: `k < key` on a blob or
    /// `bytea` column; keys of such tables are fixed-width big-endian).
    DeleteBelow,
}

impl RowOpKind {
    /// The operation as a stable lower-case string: `"put"`, `"delete"`, `"clear"`,
    /// `"delete_below"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RowOpKind::Put => "put",
            RowOpKind::Delete => "delete",
            RowOpKind::Clear => "clear",
            RowOpKind::DeleteBelow => "delete_below",
        }
    }
}

/// A journal row as a storage operation, for a host without a typed schema: one table of
/// `(table, key bytes) → value bytes` (SQL: `rows(tbl TEXT, k BLOB, v BLOB, PRIMARY KEY (tbl, k))`).
///
/// `value` holds the row [`encode`](ShardRow::encode)d (a checksummed envelope) for a
/// [`Put`](RowOpKind::Put), and is `None` otherwise. Keys order rows within a table as their
/// primary keys do (big-endian integers; a string key is its length, 4 bytes big-endian,
/// then its UTF-8 bytes). A tiered global's upstream rows go to the `upstream.`-prefixed
/// tables (`upstream.meta`, `upstream.slots`, ...) and their values are the upstream shard's
/// encoded [`ShardRow`]s. Applying every take's ops in order and reading back every stored
/// `(table, value)` pair, [`ShardRow::decode_stored`] / [`GlobalRow::decode_stored`] give the
/// rows [`Shard::from_rows`](crate::Shard::from_rows) / [`Global::from_rows`](crate::Global::from_rows)
/// rebuild the machine from.
///
/// ```
/// use shardtally::journal::RowOpKind;
/// use shardtally::{Shard, ShardConfig, ShardRef, Timestamp};
///
/// let mut shard = Shard::new(ShardConfig::default(), ShardRef { shard: 0, incarnation: 1 });
/// shard.increment("x", 2, Timestamp::from_millis(5))?;
/// let ops: Vec<_> = shard.take_changes().iter().map(|row| row.op()).collect();
/// let tables: Vec<(&str, &str)> = ops.iter().map(|op| (op.kind.as_str(), op.table)).collect();
/// assert_eq!(tables, [("put", "meta"), ("put", "slots"), ("put", "pending")]);
/// assert!(ops.iter().all(|op| op.kind == RowOpKind::Put && op.value.is_some()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowOp {
    /// What to do.
    pub kind: RowOpKind,
    /// The table (`"meta"`, `"slots"`, ..., `"upstream.meta"`, ...).
    pub table: &'static str,
    /// The row's primary key (empty for a table of one row, and for [`RowOpKind::Clear`]);
    /// the bound for [`RowOpKind::DeleteBelow`].
    pub key: Vec<u8>,
    /// The encoded row, for [`RowOpKind::Put`].
    pub value: Option<Vec<u8>>,
}

impl RowOp {
    pub(crate) fn put(table: &'static str, key: Vec<u8>, value: Vec<u8>) -> RowOp {
        RowOp { kind: RowOpKind::Put, table, key, value: Some(value) }
    }

    pub(crate) fn delete(table: &'static str, key: Vec<u8>) -> RowOp {
        RowOp { kind: RowOpKind::Delete, table, key, value: None }
    }

    pub(crate) fn clear(table: &'static str) -> RowOp {
        RowOp { kind: RowOpKind::Clear, table, key: Vec::new(), value: None }
    }
}

/// The table of a tiered global's upstream shard row.
fn upstream_table(table: &str) -> &'static str {
    match table {
        "meta" => "upstream.meta",
        "slots" => "upstream.slots",
        "pending" => "upstream.pending",
        _ => "upstream.in_flight",
    }
}

/// A string primary key: its length (4 bytes, big-endian), its UTF-8 bytes, then `suffix`.
pub(crate) fn key_bytes(key: &str, suffix: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + key.len() + suffix.len());
    out.extend_from_slice(&(key.len() as u32).to_be_bytes());
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(suffix);
    out
}

fn ref_bytes(r: ShardRef) -> Vec<u8> {
    let mut out = r.shard.to_be_bytes().to_vec();
    out.extend_from_slice(&r.incarnation.to_be_bytes());
    out
}

impl ShardRow {
    /// The table the row belongs to.
    pub fn table(&self) -> &'static str {
        match self {
            ShardRow::Meta(_) => "meta",
            ShardRow::Slot { .. } | ShardRow::SlotFreed { .. } => "slots",
            ShardRow::PendingCleared | ShardRow::Pending { .. } | ShardRow::PendingRemoved { .. } => "pending",
            ShardRow::InFlight(_) | ShardRow::InFlightCleared => "in_flight",
        }
    }

    /// Whether the row deletes (rather than inserts or updates) rows of its table.
    pub fn is_delete(&self) -> bool {
        matches!(self, ShardRow::SlotFreed { .. } | ShardRow::PendingCleared | ShardRow::PendingRemoved { .. } | ShardRow::InFlightCleared)
    }

    /// Encodes the row (a checksummed envelope), e.g. to store it as a blob.
    pub fn encode(&self) -> Vec<u8> {
        snapshot::encode(Kind::ShardRow, self)
    }

    /// Decodes a row from [`encode`](Self::encode)d bytes. Rows are validated together when
    /// a machine is rebuilt ([`Shard::from_rows`](crate::Shard::from_rows)).
    pub fn decode(bytes: &[u8]) -> Result<ShardRow, DecodeError> {
        snapshot::decode(Kind::ShardRow, bytes)
    }

    /// Decodes a row a store read back from `table` (see [`RowOp`]), checking that it
    /// belongs there.
    pub fn decode_stored(table: &str, bytes: &[u8]) -> Result<ShardRow, DecodeError> {
        let row = ShardRow::decode(bytes)?;
        if row.table() != table || row.is_delete() {
            return Err(DecodeError::corrupt(format!("a stored {:?} row found in table {table:?}", row.table())));
        }
        Ok(row)
    }

    /// The row as a storage operation (see [`RowOp`]).
    pub fn op(&self) -> RowOp {
        let table = self.table();
        match self {
            ShardRow::Meta(_) | ShardRow::InFlight(_) => RowOp::put(table, Vec::new(), self.encode()),
            ShardRow::Slot { id, .. } => RowOp::put(table, id.to_be_bytes().to_vec(), self.encode()),
            ShardRow::SlotFreed { id } => RowOp::delete(table, id.to_be_bytes().to_vec()),
            ShardRow::PendingCleared => RowOp { kind: RowOpKind::Clear, table, key: Vec::new(), value: None },
            ShardRow::Pending { key, generation, .. } => RowOp::put(table, key_bytes(key, &generation.to_be_bytes()), self.encode()),
            ShardRow::PendingRemoved { key, generation } => RowOp::delete(table, key_bytes(key, &generation.to_be_bytes())),
            ShardRow::InFlightCleared => RowOp::delete(table, Vec::new()),
        }
    }
}

impl GlobalRow {
    /// The table the row belongs to (`"upstream"` for the upstream shard's rows, whose own
    /// table is [`ShardRow::table`]).
    pub fn table(&self) -> &'static str {
        match self {
            GlobalRow::Meta(_) => "meta",
            GlobalRow::Total { .. } => "totals",
            GlobalRow::Dedup { .. } | GlobalRow::DedupRemoved { .. } => "dedup",
            GlobalRow::Write { .. } | GlobalRow::WritesTrimmed { .. } => "writes",
            GlobalRow::ShardWriteCount { .. } => "shard_writes",
            GlobalRow::ShardDelta { .. } => "shard_deltas",
            GlobalRow::PublishInFlight(_) | GlobalRow::PublishCleared => "publish",
            GlobalRow::Upstream(_) => "upstream",
        }
    }

    /// Whether the row deletes (rather than inserts or updates) rows of its table.
    pub fn is_delete(&self) -> bool {
        match self {
            GlobalRow::DedupRemoved { .. } | GlobalRow::WritesTrimmed { .. } | GlobalRow::PublishCleared => true,
            GlobalRow::Upstream(r) => r.is_delete(),
            _ => false,
        }
    }

    /// Encodes the row (a checksummed envelope), e.g. to store it as a blob.
    pub fn encode(&self) -> Vec<u8> {
        snapshot::encode(Kind::GlobalRow, self)
    }

    /// Decodes a row from [`encode`](Self::encode)d bytes. Rows are validated together when
    /// a machine is rebuilt ([`Global::from_rows`](crate::Global::from_rows)).
    pub fn decode(bytes: &[u8]) -> Result<GlobalRow, DecodeError> {
        snapshot::decode(Kind::GlobalRow, bytes)
    }

    /// Decodes a row a store read back from `table` (see [`RowOp`]): a global's row, or an
    /// upstream shard's row from an `upstream.`-prefixed table, checking that it belongs there.
    pub fn decode_stored(table: &str, bytes: &[u8]) -> Result<GlobalRow, DecodeError> {
        if let Some(shard_table) = table.strip_prefix("upstream.") {
            return ShardRow::decode_stored(shard_table, bytes).map(GlobalRow::Upstream);
        }
        let row = GlobalRow::decode(bytes)?;
        if row.table() != table || row.is_delete() {
            return Err(DecodeError::corrupt(format!("a stored {:?} row found in table {table:?}", row.table())));
        }
        Ok(row)
    }

    /// The row as a storage operation (see [`RowOp`]); an upstream shard's row goes to its
    /// `upstream.`-prefixed table.
    pub fn op(&self) -> RowOp {
        let table = self.table();
        match self {
            GlobalRow::Meta(_) | GlobalRow::PublishInFlight(_) => RowOp::put(table, Vec::new(), self.encode()),
            GlobalRow::Total { key, .. } => RowOp::put(table, key_bytes(key, &[]), self.encode()),
            GlobalRow::Dedup { from, .. } => RowOp::put(table, ref_bytes(*from), self.encode()),
            GlobalRow::DedupRemoved { from } => RowOp::delete(table, ref_bytes(*from)),
            GlobalRow::Write { id, .. } => RowOp::put(table, id.to_be_bytes().to_vec(), self.encode()),
            GlobalRow::WritesTrimmed { before } => {
                RowOp { kind: RowOpKind::DeleteBelow, table, key: before.to_be_bytes().to_vec(), value: None }
            }
            GlobalRow::ShardWriteCount { shard, .. } => RowOp::put(table, shard.to_be_bytes().to_vec(), self.encode()),
            GlobalRow::ShardDelta { shard, key, .. } => {
                let mut k = shard.to_be_bytes().to_vec();
                k.extend_from_slice(key.as_bytes());
                RowOp::put(table, k, self.encode())
            }
            GlobalRow::PublishCleared => RowOp::delete(table, Vec::new()),
            GlobalRow::Upstream(r) => RowOp { table: upstream_table(r.table()), ..r.op() },
        }
    }
}

/// An in-memory store of journal rows, one ordered map per table, each row kept as its
/// [`encode`](ShardRow::encode)d bytes under its primary key — what a host with a key-value
/// or blob table does. It holds the rows of one machine (a shard, or a global with its
/// upstream shard).
///
/// ```
/// use shardtally::journal::RowStore;
/// use shardtally::{Shard, ShardConfig, ShardRef, Timestamp};
///
/// let mut shard = Shard::new(ShardConfig::default(), ShardRef { shard: 0, incarnation: 1 });
/// let mut store = RowStore::new();
/// shard.increment("x", 2, Timestamp::from_millis(5))?;
/// store.apply_shard(&shard.take_changes());
/// let rebuilt = Shard::from_rows(store.shard_rows()?, ShardConfig::default())?;
/// assert_eq!(rebuilt.snapshot(), shard.snapshot());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowStore {
    tables: BTreeMap<String, BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl RowStore {
    /// An empty store.
    pub fn new() -> RowStore {
        RowStore::default()
    }

    /// Applies a shard's changes, in order.
    pub fn apply_shard(&mut self, rows: &[ShardRow]) {
        for row in rows {
            self.apply(&row.op());
        }
    }

    /// Applies a global's changes, in order (upstream rows go to `upstream.*` tables).
    pub fn apply_global(&mut self, rows: &[GlobalRow]) {
        for row in rows {
            self.apply(&row.op());
        }
    }

    /// Applies a gateway's changes, in order.
    pub fn apply_gateway(&mut self, rows: &[GatewayRow]) {
        for row in rows {
            self.apply(&row.op());
        }
    }

    /// Applies an outbox's changes, in order.
    pub fn apply_outbox(&mut self, rows: &[OutboxRow]) {
        for row in rows {
            self.apply(&row.op());
        }
    }

    /// Applies one storage operation.
    pub fn apply(&mut self, op: &RowOp) {
        match op.kind {
            RowOpKind::Put => {
                let value = op.value.clone().unwrap_or_default();
                self.tables.entry(op.table.to_owned()).or_default().insert(op.key.clone(), value);
            }
            RowOpKind::Delete => {
                if let Some(m) = self.tables.get_mut(op.table) {
                    m.remove(&op.key);
                }
            }
            RowOpKind::Clear => {
                self.tables.remove(op.table);
            }
            RowOpKind::DeleteBelow => {
                if let Some(m) = self.tables.get_mut(op.table) {
                    let keep = m.split_off(&op.key);
                    *m = keep;
                }
            }
        }
    }

    /// Every stored row as `(table, value)`, by table then key: what a host reads back with
    /// `SELECT tbl, v FROM rows`.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.tables.iter().flat_map(|(t, m)| m.values().map(move |v| (t.as_str(), v.as_slice())))
    }

    /// Every stored row of a shard, decoded.
    pub fn shard_rows(&self) -> Result<Vec<ShardRow>, DecodeError> {
        self.pairs().map(|(t, v)| ShardRow::decode_stored(t, v)).collect()
    }

    /// Every stored row of a global (and its upstream shard), decoded.
    pub fn global_rows(&self) -> Result<Vec<GlobalRow>, DecodeError> {
        self.pairs().map(|(t, v)| GlobalRow::decode_stored(t, v)).collect()
    }

    /// Every stored row of a gateway, decoded.
    pub fn gateway_rows(&self) -> Result<Vec<GatewayRow>, DecodeError> {
        self.pairs().map(|(t, v)| GatewayRow::decode_stored(t, v)).collect()
    }

    /// Every stored row of an outbox, decoded.
    pub fn outbox_rows(&self) -> Result<Vec<OutboxRow>, DecodeError> {
        self.pairs().map(|(t, v)| OutboxRow::decode_stored(t, v)).collect()
    }

    /// Number of stored rows.
    pub fn len(&self) -> usize {
        self.tables.values().map(BTreeMap::len).sum()
    }

    /// Whether no row is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stored bytes (keys and encoded rows).
    pub fn byte_len(&self) -> usize {
        self.tables.values().flat_map(|m| m.iter()).map(|(k, v)| k.len() + v.len()).sum()
    }
}

/// The public face of a row builder ([`GlobalBuilder`], [`ShardBuilder`]): rows are added one
/// at a time, in any order, and the first error is final. The builder has a
/// `failed: Option<DecodeError>` field, `add_row(&mut self, row)` and `build(self)`; the
/// doc comment given is `finish`'s.
macro_rules! row_builder {
    ($builder:ident, $row:ident, $machine:ident, $(#[$finish:meta])*) => {
        impl $builder {
            /// Adds a stored row: the `(table, value)` pair a store read back (see
            #[doc = concat!("[`", stringify!($row), "::decode_stored`]).")]
            pub fn add_stored(&mut self, table: &str, value: &[u8]) -> Result<(), DecodeError> {
                self.check()?;
                let result = $row::decode_stored(table, value).and_then(|row| self.add_row(row));
                self.fail(result)
            }

            /// Adds a row (only upserted rows: a delete row is `DECODE_CORRUPT`).
            pub fn add(&mut self, row: $row) -> Result<(), DecodeError> {
                self.check()?;
                let result = self.add_row(row);
                self.fail(result)
            }

            /// Adds rows, in order, stopping at the first error.
            pub fn add_rows(&mut self, rows: impl IntoIterator<Item = $row>) -> Result<(), DecodeError> {
                rows.into_iter().try_for_each(|row| self.add(row))
            }

            $(#[$finish])*
            pub fn finish(self) -> Result<$machine, DecodeError> {
                self.check()?;
                self.build()
            }

            /// The first error, again.
            fn check(&self) -> Result<(), DecodeError> {
                self.failed.clone().map_or(Ok(()), Err)
            }

            /// Keeps the first error.
            fn fail(&mut self, result: Result<(), DecodeError>) -> Result<(), DecodeError> {
                if let Err(e) = &result {
                    self.failed = Some(e.clone());
                }
                result
            }
        }
    };
}
pub(crate) use row_builder;
