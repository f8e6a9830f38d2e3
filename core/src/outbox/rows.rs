//! An outbox's change journal: its state as rows, and the rows that changed since the host
//! last took them (see [`journal`](crate::journal) for the shared design).
//! The tables are documented on [`OutboxRow`].

use super::{Flight, Message, Outbox, OutboxConfig, OutboxState, OutboxStats};
use crate::error::DecodeError;
use crate::journal::RowOp;
use crate::rng::Rng;
use crate::snapshot::{self, Kind};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Journal entries tolerated beyond twice the state's rows before the journal gives up
/// tracking rows and the next take rewrites every table.
const JOURNAL_SLACK: usize = 1_024;

/// An outbox's scalar state (the `meta` row). Opaque: store it with [`OutboxRow::encode`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMeta {
    pub(crate) now: Timestamp,
    pub(crate) next_id: u64,
    pub(crate) reconnect_at: Option<Timestamp>,
    pub(crate) closed: bool,
    pub(crate) drained_reported: bool,
    pub(crate) rng: Rng,
    pub(crate) stats: OutboxStats,
}

/// A table of an outbox's rows (see [`OutboxRow`]), for [`OutboxRow::Cleared`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OutboxTable {
    /// `messages`.
    Messages,
    /// `sends`.
    Sends,
}

impl OutboxTable {
    /// Every table but `meta`, in the order takes list them.
    pub const ALL: [OutboxTable; 2] = [OutboxTable::Messages, OutboxTable::Sends];

    /// The table's name.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxTable::Messages => "messages",
            OutboxTable::Sends => "sends",
        }
    }
}

/// One row change of an [`Outbox`]: what [`Outbox::take_changes`] returns, and what
/// [`Outbox::from_rows`] rebuilds an outbox from.
///
/// | table | primary key | rows |
/// |---|---|---|
/// | `meta` | — | [`OutboxRow::Meta`]: clock, next id, reconnect deadline, flags, generator, statistics |
/// | `messages` | `id` | [`OutboxRow::Message`] upsert, [`OutboxRow::MessageRemoved`] delete: every message held |
/// | `sends` | `id` | [`OutboxRow::Send`] upsert, [`OutboxRow::SendRemoved`] delete: a held message's transmissions |
///
/// A message's bytes are written once, when it is offered; sending, failing and re-sending
/// it rewrites only its small `sends` row, and delivering or giving it up deletes both. A
/// held message without a `sends` row waits in the queue (messages go out in id order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum OutboxRow {
    /// Upsert the single `meta` row.
    Meta(OutboxMeta),
    /// Upsert a held message (`messages`, by `id`).
    Message {
        /// The message's id.
        id: u64,
        /// The message.
        bytes: Vec<u8>,
    },
    /// Delete a message (delivered or given up).
    MessageRemoved {
        /// The message's id.
        id: u64,
    },
    /// Upsert a message's transmissions (`sends`, by `id`).
    Send {
        /// The message's id.
        id: u64,
        /// Transmissions so far (1 or 2).
        attempts: u32,
        /// When the transmission in flight counts as failed; `None` while the message waits
        /// to be re-sent.
        deadline: Option<Timestamp>,
    },
    /// Delete a message's transmissions (delivered or given up).
    SendRemoved {
        /// The message's id.
        id: u64,
    },
    /// Delete every row of a table: the journal was not taken for long, so this take
    /// rewrites every table (upserts of every row follow).
    Cleared(OutboxTable),
}

impl OutboxRow {
    /// The table the row belongs to.
    pub fn table(&self) -> &'static str {
        match self {
            OutboxRow::Meta(_) => "meta",
            OutboxRow::Message { .. } | OutboxRow::MessageRemoved { .. } => "messages",
            OutboxRow::Send { .. } | OutboxRow::SendRemoved { .. } => "sends",
            OutboxRow::Cleared(t) => t.as_str(),
        }
    }

    /// Whether the row deletes (rather than inserts or updates) rows of its table.
    pub fn is_delete(&self) -> bool {
        matches!(self, OutboxRow::MessageRemoved { .. } | OutboxRow::SendRemoved { .. } | OutboxRow::Cleared(_))
    }

    /// Encodes the row (a checksummed envelope), e.g. to store it as a blob.
    pub fn encode(&self) -> Vec<u8> {
        snapshot::encode(Kind::OutboxRow, self)
    }

    /// Decodes a row from [`encode`](Self::encode)d bytes. Rows are validated together when
    /// an outbox is rebuilt ([`Outbox::from_rows`]).
    pub fn decode(bytes: &[u8]) -> Result<OutboxRow, DecodeError> {
        snapshot::decode(Kind::OutboxRow, bytes)
    }

    /// Decodes a row a store read back from `table` (see [`RowOp`]), checking that it
    /// belongs there.
    pub fn decode_stored(table: &str, bytes: &[u8]) -> Result<OutboxRow, DecodeError> {
        let row = OutboxRow::decode(bytes)?;
        if row.table() != table || row.is_delete() {
            return Err(DecodeError::corrupt(format!("a stored outbox {:?} row found in table {table:?}", row.table())));
        }
        Ok(row)
    }

    /// The row as a storage operation (see [`RowOp`]): keys are message ids, 8 bytes
    /// big-endian.
    pub fn op(&self) -> RowOp {
        let table = self.table();
        match self {
            OutboxRow::Meta(_) => RowOp::put(table, Vec::new(), self.encode()),
            OutboxRow::Message { id, .. } | OutboxRow::Send { id, .. } => RowOp::put(table, id.to_be_bytes().to_vec(), self.encode()),
            OutboxRow::MessageRemoved { id } | OutboxRow::SendRemoved { id } => RowOp::delete(table, id.to_be_bytes().to_vec()),
            OutboxRow::Cleared(_) => RowOp::clear(table),
        }
    }
}

/// The rows changed since the journal was last taken; their values are read from the
/// outbox at take time.
#[derive(Debug, Default)]
pub(super) struct OutboxJournal {
    /// The meta row as last taken (`None`: never taken, the store is empty).
    pub(super) last_meta: Option<OutboxMeta>,
    messages: BTreeSet<u64>,
    sends: BTreeSet<u64>,
    /// The sets outgrew the state: the next take rewrites every table.
    rewrite: bool,
}

/// Which row of a message changed.
#[derive(Clone, Copy, Debug)]
pub(super) enum Touch {
    /// The message was offered, delivered or given up.
    Message(u64),
    /// It was sent, failed or given up.
    Send(u64),
}

impl Outbox {
    /// Records that a row changed (its value is read at the next take).
    pub(super) fn touch(&mut self, touch: Touch) {
        let bound = self.len().saturating_mul(4).saturating_add(JOURNAL_SLACK);
        let j = &mut self.journal;
        if j.rewrite {
            return;
        }
        match touch {
            Touch::Message(id) => j.messages.insert(id),
            Touch::Send(id) => j.sends.insert(id),
        };
        if j.messages.len() + j.sends.len() > bound {
            j.messages.clear();
            j.sends.clear();
            j.rewrite = true;
        }
    }

    /// The rows changed since the last call (see [`journal`](crate::journal)): apply them to
    /// the host's tables, in order, to persist exactly what [`snapshot`](Self::snapshot)
    /// would. Empty exactly when the state did not change. The `meta` row comes first, then
    /// `messages` and `sends`, each by id; a row changed several times appears once. An
    /// offer, a send or an answer yields a few rows however many messages are held. The
    /// first call on a [`new`](Self::new) outbox returns its `meta` row.
    ///
    /// A journal that holds more than four times the messages held plus 1024 entries (the
    /// host did not take it for long) stops tracking rows; the next take then clears every
    /// table ([`OutboxRow::Cleared`]) and lists every row, as [`rows`](Self::rows) does.
    pub fn take_changes(&mut self) -> Vec<OutboxRow> {
        let mut out = Vec::new();
        let meta = self.meta();
        if self.journal.last_meta.as_ref() != Some(&meta) {
            out.push(OutboxRow::Meta(meta.clone()));
            self.journal.last_meta = Some(meta);
        }
        if std::mem::take(&mut self.journal.rewrite) {
            out.extend(OutboxTable::ALL.into_iter().map(OutboxRow::Cleared));
            out.extend(self.rows().into_iter().skip(1));
            return out;
        }
        for id in std::mem::take(&mut self.journal.messages) {
            out.push(match self.held(id) {
                Some(m) => OutboxRow::Message { id, bytes: m.bytes.clone() },
                None => OutboxRow::MessageRemoved { id },
            });
        }
        for id in std::mem::take(&mut self.journal.sends) {
            out.push(self.send_row(id).unwrap_or(OutboxRow::SendRemoved { id }));
        }
        out
    }

    /// Every row of the state (what a store holds after applying every take), e.g. to seed a
    /// new store. Does not affect the journal.
    pub fn rows(&self) -> Vec<OutboxRow> {
        let mut out = vec![OutboxRow::Meta(self.meta())];
        let mut held: Vec<&Message> =
            self.queue.iter().chain(self.retry.values()).chain(self.in_flight.values().map(|f| &f.message)).collect();
        held.sort_unstable_by_key(|m| m.id);
        out.extend(held.iter().map(|m| OutboxRow::Message { id: m.id, bytes: m.bytes.clone() }));
        out.extend(held.iter().filter_map(|m| self.send_row(m.id)));
        out
    }

    /// Rebuilds an outbox from its stored rows, in any order (only upserted rows),
    /// validating them as [`restore`](Self::restore) does. The journal starts empty (the
    /// store holds the state); messages that were in flight are offered again, as after
    /// `restore`.
    pub fn from_rows(rows: impl IntoIterator<Item = OutboxRow>, config: OutboxConfig) -> Result<Outbox, DecodeError> {
        let corrupt = |reason: &str| DecodeError::corrupt(format!("outbox rows: {reason}"));
        let mut meta = None;
        let mut messages: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let mut sends: BTreeMap<u64, (u32, Option<Timestamp>)> = BTreeMap::new();
        for row in rows {
            match row {
                OutboxRow::Meta(m) => {
                    if meta.replace(m).is_some() {
                        return Err(corrupt("two meta rows"));
                    }
                }
                OutboxRow::Message { id, bytes } => {
                    if messages.insert(id, bytes).is_some() {
                        return Err(corrupt("two rows of one message"));
                    }
                }
                OutboxRow::Send { id, attempts, deadline } => {
                    if sends.insert(id, (attempts, deadline)).is_some() {
                        return Err(corrupt("two sends rows of one message"));
                    }
                }
                _ => return Err(corrupt("a delete row is not a stored row")),
            }
        }
        let meta = meta.ok_or_else(|| corrupt("no meta row"))?;
        if sends.keys().any(|id| !messages.contains_key(id)) {
            return Err(corrupt("a sends row of a message with no row"));
        }
        let (mut queue, mut retry, mut in_flight) = (Vec::new(), Vec::new(), Vec::new());
        for (id, bytes) in messages {
            match sends.get(&id) {
                None => queue.push(Message { id, attempts: 0, bytes }),
                Some(&(attempts, None)) => retry.push(Message { id, attempts, bytes }),
                Some(&(attempts, Some(deadline))) => in_flight.push(Flight { message: Message { id, attempts, bytes }, deadline }),
            }
        }
        let state = OutboxState {
            now: meta.now,
            next_id: meta.next_id,
            queue,
            retry,
            in_flight,
            reconnect_at: meta.reconnect_at,
            closed: meta.closed,
            drained_reported: meta.drained_reported,
            rng: meta.rng,
            stats: meta.stats,
        };
        Outbox::from_state(state, config)
    }

    /// The `meta` row.
    pub(super) fn meta(&self) -> OutboxMeta {
        OutboxMeta {
            now: self.now,
            next_id: self.next_id,
            reconnect_at: self.reconnect_at,
            closed: self.closed,
            drained_reported: self.drained_reported,
            rng: self.rng.clone(),
            stats: self.stats,
        }
    }

    /// The held message `id`, wherever it is.
    fn held(&self, id: u64) -> Option<&Message> {
        if let Some(f) = self.in_flight.get(&id) {
            return Some(&f.message);
        }
        if let Some(m) = self.retry.get(&id) {
            return Some(m);
        }
        // The queue holds increasing ids.
        self.queue.binary_search_by_key(&id, |m| m.id).ok().and_then(|i| self.queue.get(i))
    }

    /// The `sends` row of message `id`: `None` while it waits in the queue or is not held.
    fn send_row(&self, id: u64) -> Option<OutboxRow> {
        if let Some(f) = self.in_flight.get(&id) {
            return Some(OutboxRow::Send { id, attempts: f.message.attempts, deadline: Some(f.deadline) });
        }
        self.retry.get(&id).map(|m| OutboxRow::Send { id, attempts: m.attempts, deadline: None })
    }
}
