//! A gateway's change journal: its state as rows, and the rows that changed since the host
//! last took them (see [`journal`](crate::journal) for the shared design).
//! The tables and their costs are documented on [`GatewayRow`].

use super::state::{GatewayState, ReplicaState, ReservationState};
use super::sticky::Applied;
use super::{Answer, Creation, Gateway, GatewayConfig, GatewayStats, Gossip};
use crate::error::DecodeError;
use crate::journal::{key_bytes, RowOp};
use crate::snapshot::{self, Kind};
use crate::time::{Clock, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Journal entries tolerated beyond twice the state's size before the journal gives up
/// tracking rows and the next take rewrites every table (a host that never takes the
/// changes keeps a bounded journal).
const JOURNAL_SLACK: usize = 1_024;

/// A gateway's scalar state (the `meta` row): its group, clock, the next replica order and
/// reservation, creation and gossip ids, the replica being filled and the statistics.
/// Opaque: store it with [`GatewayRow::encode`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayMeta {
    pub(crate) group: Arc<str>,
    pub(crate) clock: Clock,
    pub(crate) next_order: u64,
    pub(crate) next_reservation: u64,
    pub(crate) next_creation: u64,
    pub(crate) next_gossip: u64,
    pub(crate) current: Option<Arc<str>>,
    pub(crate) stats: GatewayStats,
}

impl GatewayMeta {
    /// The group.
    pub fn group(&self) -> &str {
        &self.group
    }
}

/// A table of a gateway's rows (see [`GatewayRow`]), for [`GatewayRow::Cleared`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GatewayTable {
    /// `replicas`.
    Replicas,
    /// `connections`.
    Connections,
    /// `sticky`.
    Sticky,
    /// `reservations`.
    Reservations,
    /// `creations`.
    Creations,
    /// `gossips`.
    Gossips,
    /// `gossip_answers`.
    GossipAnswers,
}

impl GatewayTable {
    /// Every table but `meta`, in the order takes list them.
    pub const ALL: [GatewayTable; 7] = [
        GatewayTable::Replicas,
        GatewayTable::Connections,
        GatewayTable::Sticky,
        GatewayTable::Reservations,
        GatewayTable::Creations,
        GatewayTable::Gossips,
        GatewayTable::GossipAnswers,
    ];

    /// The table's name.
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayTable::Replicas => "replicas",
            GatewayTable::Connections => "connections",
            GatewayTable::Sticky => "sticky",
            GatewayTable::Reservations => "reservations",
            GatewayTable::Creations => "creations",
            GatewayTable::Gossips => "gossips",
            GatewayTable::GossipAnswers => "gossip_answers",
        }
    }
}

/// One row change of a [`Gateway`]: what [`Gateway::take_changes`] returns, and what
/// [`Gateway::from_rows`] rebuilds a gateway from.
///
/// | table | primary key | rows |
/// |---|---|---|
/// | `meta` | — | [`GatewayRow::Meta`]: group, clock, id counters, the replica being filled, statistics |
/// | `replicas` | `id` | [`GatewayRow::Replica`] upsert, [`GatewayRow::ReplicaRemoved`] delete |
/// | `connections` | `(replica, connection)` | [`GatewayRow::Connection`] upsert, [`GatewayRow::ConnectionRemoved`] delete |
/// | `sticky` | `request` | [`GatewayRow::Sticky`] upsert, [`GatewayRow::StickyRemoved`] delete |
/// | `reservations` | `id` | [`GatewayRow::Reservation`] upsert, [`GatewayRow::ReservationRemoved`] delete |
/// | `creations` | `id` | [`GatewayRow::Creation`] upsert, [`GatewayRow::CreationRemoved`] delete |
/// | `gossips` | `id` | [`GatewayRow::Gossip`] upsert, [`GatewayRow::GossipRemoved`] delete |
/// | `gossip_answers` | `(gossip, peer)` | [`GatewayRow::GossipAnswer`] upsert, [`GatewayRow::GossipAnswerRemoved`] delete |
///
/// Counts are not stored: a replica's connections and reservations, and a request id's
/// holdings, are re-derived from the `connections`, `reservations` and `creations` rows when
/// the gateway is rebuilt, as when it is restored from a snapshot.
///
/// Cost: a route writes the `meta` row, one `reservations` row and, when they change, the
/// request id's `sticky` row and the replica's row (its idle time); a connect or a close the
/// `meta` row, one `connections` row and at most one `reservations`, `sticky` and `replicas`
/// row each — whatever the number of request ids and connections. A creation's row holds its
/// waiters (at most `limit`); a gossip's its peers, each answer its own row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum GatewayRow {
    /// Upsert the single `meta` row.
    Meta(GatewayMeta),
    /// Upsert a replica (`replicas`, by `id`).
    Replica {
        /// The replica's id.
        id: Arc<str>,
        /// Its creation order (ties between equally loaded replicas go to the lower).
        order: u64,
        /// When it last became empty; `None` while it has connections or reservations.
        idle_since: Option<Timestamp>,
    },
    /// Delete a replica (retired).
    ReplicaRemoved {
        /// The replica's id.
        id: Arc<str>,
    },
    /// Upsert an open connection (`connections`, by `(replica, connection)`).
    Connection {
        /// The replica holding it.
        replica: Arc<str>,
        /// The connection id.
        connection: Box<str>,
        /// The request id it belongs to.
        request: Arc<str>,
    },
    /// Delete a connection (closed, or not in a replica's report).
    ConnectionRemoved {
        /// The replica.
        replica: Arc<str>,
        /// The connection id.
        connection: Box<str>,
    },
    /// Upsert a request id's sticky entry (`sticky`, by `request`).
    Sticky {
        /// The request id.
        request: Arc<str>,
        /// The replicas holding its connections or reservations, the sticky one last (empty
        /// while it only waits for a creation).
        replicas: Vec<Arc<str>>,
    },
    /// Delete a sticky entry (the request id holds nothing and waits for nothing).
    StickyRemoved {
        /// The request id.
        request: Arc<str>,
    },
    /// Upsert a reservation (`reservations`, by `id`).
    Reservation {
        /// The reservation's id (increasing).
        id: u64,
        /// The request id it was routed for.
        request: Arc<str>,
        /// The replica holding the slot.
        replica: Arc<str>,
        /// When it lapses.
        expires_at: Timestamp,
    },
    /// Delete a reservation (consumed by a connection, or lapsed).
    ReservationRemoved {
        /// The reservation's id.
        id: u64,
    },
    /// Upsert a pending replica creation (`creations`, by `id`).
    Creation {
        /// The creation id ([`CreationId::raw`](crate::CreationId::raw)).
        id: u64,
        /// When it is abandoned.
        deadline: Timestamp,
        /// The requests waiting for it, in routing order.
        waiters: Vec<Arc<str>>,
    },
    /// Delete a creation (answered, failed or expired).
    CreationRemoved {
        /// The creation id.
        id: u64,
    },
    /// Upsert a gossip in flight (`gossips`, by `id`).
    Gossip {
        /// The gossip id ([`GossipId::raw`](crate::GossipId::raw)).
        id: u64,
        /// The replica that asked.
        origin: Arc<str>,
        /// When it completes with whatever answers arrived.
        deadline: Timestamp,
        /// The peers asked, in peer order.
        peers: Vec<Arc<str>>,
    },
    /// Delete a gossip (completed).
    GossipRemoved {
        /// The gossip id.
        id: u64,
    },
    /// Upsert a peer's answer to a gossip (`gossip_answers`, by `(gossip, peer)`).
    GossipAnswer {
        /// The gossip id.
        gossip: u64,
        /// The peer's index in the gossip's `peers`.
        peer: u32,
        /// The peer's reply, or `None` when asking it failed.
        reply: Option<Vec<u8>>,
    },
    /// Delete a gossip answer (its gossip completed).
    GossipAnswerRemoved {
        /// The gossip id.
        gossip: u64,
        /// The peer's index.
        peer: u32,
    },
    /// Delete every row of a table: the journal was not taken for long, so this take
    /// rewrites every table (upserts of every row follow).
    Cleared(GatewayTable),
}

impl GatewayRow {
    /// The table the row belongs to.
    pub fn table(&self) -> &'static str {
        match self {
            GatewayRow::Meta(_) => "meta",
            GatewayRow::Replica { .. } | GatewayRow::ReplicaRemoved { .. } => "replicas",
            GatewayRow::Connection { .. } | GatewayRow::ConnectionRemoved { .. } => "connections",
            GatewayRow::Sticky { .. } | GatewayRow::StickyRemoved { .. } => "sticky",
            GatewayRow::Reservation { .. } | GatewayRow::ReservationRemoved { .. } => "reservations",
            GatewayRow::Creation { .. } | GatewayRow::CreationRemoved { .. } => "creations",
            GatewayRow::Gossip { .. } | GatewayRow::GossipRemoved { .. } => "gossips",
            GatewayRow::GossipAnswer { .. } | GatewayRow::GossipAnswerRemoved { .. } => "gossip_answers",
            GatewayRow::Cleared(t) => t.as_str(),
        }
    }

    /// Whether the row deletes (rather than inserts or updates) rows of its table.
    pub fn is_delete(&self) -> bool {
        matches!(
            self,
            GatewayRow::ReplicaRemoved { .. }
                | GatewayRow::ConnectionRemoved { .. }
                | GatewayRow::StickyRemoved { .. }
                | GatewayRow::ReservationRemoved { .. }
                | GatewayRow::CreationRemoved { .. }
                | GatewayRow::GossipRemoved { .. }
                | GatewayRow::GossipAnswerRemoved { .. }
                | GatewayRow::Cleared(_)
        )
    }

    /// Encodes the row (a checksummed envelope), e.g. to store it as a blob.
    pub fn encode(&self) -> Vec<u8> {
        snapshot::encode(Kind::GatewayRow, self)
    }

    /// Decodes a row from [`encode`](Self::encode)d bytes. Rows are validated together when
    /// a gateway is rebuilt ([`Gateway::from_rows`]).
    pub fn decode(bytes: &[u8]) -> Result<GatewayRow, DecodeError> {
        snapshot::decode(Kind::GatewayRow, bytes)
    }

    /// Decodes a row a store read back from `table` (see [`RowOp`]), checking that it
    /// belongs there.
    pub fn decode_stored(table: &str, bytes: &[u8]) -> Result<GatewayRow, DecodeError> {
        let row = GatewayRow::decode(bytes)?;
        if row.table() != table || row.is_delete() {
            return Err(DecodeError::corrupt(format!("a stored gateway {:?} row found in table {table:?}", row.table())));
        }
        Ok(row)
    }

    /// The row as a storage operation (see [`RowOp`]): string keys are length-prefixed
    /// (4 bytes big-endian, then UTF-8), ids 8 bytes big-endian, a gossip answer's key its
    /// gossip id then its peer index (4 bytes).
    pub fn op(&self) -> RowOp {
        let table = self.table();
        let put = |key: Vec<u8>| RowOp::put(table, key, self.encode());
        match self {
            GatewayRow::Meta(_) => put(Vec::new()),
            GatewayRow::Replica { id, .. } => put(key_bytes(id, &[])),
            GatewayRow::ReplicaRemoved { id } => RowOp::delete(table, key_bytes(id, &[])),
            GatewayRow::Connection { replica, connection, .. } => put(key_bytes(replica, &key_bytes(connection, &[]))),
            GatewayRow::ConnectionRemoved { replica, connection } => RowOp::delete(table, key_bytes(replica, &key_bytes(connection, &[]))),
            GatewayRow::Sticky { request, .. } => put(key_bytes(request, &[])),
            GatewayRow::StickyRemoved { request } => RowOp::delete(table, key_bytes(request, &[])),
            GatewayRow::Reservation { id, .. } | GatewayRow::Creation { id, .. } | GatewayRow::Gossip { id, .. } => {
                put(id.to_be_bytes().to_vec())
            }
            GatewayRow::ReservationRemoved { id } | GatewayRow::CreationRemoved { id } | GatewayRow::GossipRemoved { id } => {
                RowOp::delete(table, id.to_be_bytes().to_vec())
            }
            GatewayRow::GossipAnswer { gossip, peer, .. } => put(answer_key(*gossip, *peer)),
            GatewayRow::GossipAnswerRemoved { gossip, peer } => RowOp::delete(table, answer_key(*gossip, *peer)),
            GatewayRow::Cleared(_) => RowOp::clear(table),
        }
    }
}

fn answer_key(gossip: u64, peer: u32) -> Vec<u8> {
    let mut k = gossip.to_be_bytes().to_vec();
    k.extend_from_slice(&peer.to_be_bytes());
    k
}

/// `(connection id, request id)`.
type ConnectionPair = (Box<str>, Arc<str>);

/// A `gossips` row's `(id, origin, deadline, peers)`.
type GossipParts = (u64, Arc<str>, Timestamp, Vec<Arc<str>>);

/// A row the journal must rewrite.
#[derive(Clone, Debug)]
pub(super) enum Touch {
    Replica(Arc<str>),
    Connection(Arc<str>, Box<str>),
    Sticky(Arc<str>),
    Reservation(u64),
    Creation(u64),
    Gossip(u64),
    Answer(u64, u32),
}

/// The rows changed since the journal was last taken; their values are read from the
/// gateway at take time.
#[derive(Debug, Default)]
pub(super) struct GatewayJournal {
    /// The meta row as last taken (`None`: never taken, the store is empty).
    pub(super) last_meta: Option<GatewayMeta>,
    replicas: BTreeSet<Arc<str>>,
    connections: BTreeSet<(Arc<str>, Box<str>)>,
    sticky: BTreeSet<Arc<str>>,
    reservations: BTreeSet<u64>,
    creations: BTreeSet<u64>,
    gossips: BTreeSet<u64>,
    answers: BTreeSet<(u64, u32)>,
    /// Entries in the sets above.
    len: usize,
    /// The sets outgrew the state: the next take rewrites every table.
    rewrite: bool,
}

impl GatewayJournal {
    /// Forgets every touched row (after a take, or when giving up tracking them).
    fn clear(&mut self) {
        self.replicas.clear();
        self.connections.clear();
        self.sticky.clear();
        self.reservations.clear();
        self.creations.clear();
        self.gossips.clear();
        self.answers.clear();
        self.len = 0;
    }
}

impl Gateway {
    /// Records that a row changed (its value is read at the next take).
    pub(super) fn touch(&mut self, touch: Touch) {
        if self.journal.rewrite {
            return;
        }
        let j = &mut self.journal;
        let added = match touch {
            Touch::Replica(id) => j.replicas.insert(id),
            Touch::Connection(r, c) => j.connections.insert((r, c)),
            Touch::Sticky(q) => j.sticky.insert(q),
            Touch::Reservation(id) => j.reservations.insert(id),
            Touch::Creation(id) => j.creations.insert(id),
            Touch::Gossip(id) => j.gossips.insert(id),
            Touch::Answer(g, p) => j.answers.insert((g, p)),
        };
        if added {
            j.len += 1;
            if j.len > self.journal_bound() {
                self.journal.clear();
                self.journal.rewrite = true;
            }
        }
    }

    /// Records a change of `req`'s sticky entry reported by [`Sticky::apply`](super::sticky::Sticky::apply).
    pub(super) fn touch_sticky(&mut self, req: &Arc<str>, applied: Applied) {
        if applied.listed || applied.empty {
            self.touch(Touch::Sticky(req.clone()));
        }
    }

    /// Twice the rows the state can hold (connections counted at `limit` per replica, gossip
    /// answers at one per replica), plus some slack.
    fn journal_bound(&self) -> usize {
        let replicas = self.replicas.len();
        let rows = self.sticky.len()
            + self.reservations.len()
            + replicas.saturating_mul(self.config.limit() as usize + 1)
            + self.creations.len()
            + self.gossips.len().saturating_mul(replicas + 1);
        rows.saturating_mul(2).saturating_add(JOURNAL_SLACK)
    }

    /// The rows changed since the last call (see [`journal`](crate::journal)): apply them to
    /// the host's tables, in order, to persist exactly what [`snapshot`](Self::snapshot)
    /// would. Empty exactly when the state did not change. The `meta` row comes first, then
    /// the tables in the order of [`GatewayRow`]'s table, each sorted by its primary key;
    /// a row changed several times appears once, with its value now. A connect, a close or
    /// a route yields a few rows whatever the number of request ids. The first call on a
    /// [`new`](Self::new) gateway returns its `meta` row.
    ///
    /// A journal that holds more than twice the state's rows (the host did not take it for
    /// long) stops tracking rows; the next take then clears every table
    /// ([`GatewayRow::Cleared`]) and lists every row, as [`rows`](Self::rows) does.
    pub fn take_changes(&mut self) -> Vec<GatewayRow> {
        let mut out = Vec::new();
        let meta = self.meta();
        if self.journal.last_meta.as_ref() != Some(&meta) {
            out.push(GatewayRow::Meta(meta.clone()));
            self.journal.last_meta = Some(meta);
        }
        if std::mem::take(&mut self.journal.rewrite) {
            out.extend(GatewayTable::ALL.into_iter().map(GatewayRow::Cleared));
            out.extend(self.rows().into_iter().skip(1));
            return out;
        }
        let j = std::mem::take(&mut self.journal);
        self.journal.last_meta = j.last_meta;
        for id in j.replicas {
            out.push(match self.replicas.slot(&id) {
                Some(slot) => {
                    let r = self.replicas.get(slot);
                    GatewayRow::Replica { id: r.id.clone(), order: r.order, idle_since: r.idle_since }
                }
                None => GatewayRow::ReplicaRemoved { id },
            });
        }
        for (replica, connection) in j.connections {
            let request = self.replicas.slot(&replica).and_then(|slot| self.replicas.get(slot).conns.get(&connection).cloned());
            out.push(match request {
                Some(request) => GatewayRow::Connection { replica, connection, request },
                None => GatewayRow::ConnectionRemoved { replica, connection },
            });
        }
        for request in j.sticky {
            out.push(match self.sticky.get(&request) {
                Some(s) => GatewayRow::Sticky { replicas: self.holders(s), request },
                None => GatewayRow::StickyRemoved { request },
            });
        }
        for id in j.reservations {
            out.push(match self.reservations.get(id) {
                Some(r) => self.reservation_row(id, r),
                None => GatewayRow::ReservationRemoved { id },
            });
        }
        for id in j.creations {
            out.push(match self.creations.get(&id) {
                Some(c) => GatewayRow::Creation { id, deadline: c.deadline, waiters: c.waiters.clone() },
                None => GatewayRow::CreationRemoved { id },
            });
        }
        for id in j.gossips {
            out.push(match self.gossips.get(&id) {
                Some(g) => gossip_row(id, g),
                None => GatewayRow::GossipRemoved { id },
            });
        }
        for (gossip, peer) in j.answers {
            let answer = self.gossips.get(&gossip).and_then(|g| g.peers.get(peer as usize)).and_then(|(_, a)| answer_reply(a));
            out.push(match answer {
                Some(reply) => GatewayRow::GossipAnswer { gossip, peer, reply },
                None => GatewayRow::GossipAnswerRemoved { gossip, peer },
            });
        }
        out
    }

    /// Every row of the state (what a store holds after applying every take), e.g. to seed a
    /// new store, in the order of [`take_changes`](Self::take_changes). Does not affect the
    /// journal.
    pub fn rows(&self) -> Vec<GatewayRow> {
        let mut out = vec![GatewayRow::Meta(self.meta())];
        let mut replicas: Vec<&super::replicas::Replica> = self.replicas.in_order().map(|slot| self.replicas.get(slot)).collect();
        replicas.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        out.extend(replicas.iter().map(|r| GatewayRow::Replica { id: r.id.clone(), order: r.order, idle_since: r.idle_since }));
        for r in &replicas {
            let mut conns: Vec<(&Box<str>, &Arc<str>)> = r.conns.iter().collect();
            conns.sort_unstable();
            out.extend(conns.into_iter().map(|(c, q)| GatewayRow::Connection {
                replica: r.id.clone(),
                connection: c.clone(),
                request: q.clone(),
            }));
        }
        let mut sticky: Vec<GatewayRow> =
            self.sticky.iter().map(|(q, s)| GatewayRow::Sticky { request: q.clone(), replicas: self.holders(s) }).collect();
        sticky.sort_unstable_by(|a, b| sticky_key(a).cmp(sticky_key(b)));
        out.extend(sticky);
        out.extend(self.reservations.iter().map(|(id, r)| self.reservation_row(id, r)));
        out.extend(self.creations.iter().map(|(id, c)| GatewayRow::Creation { id: *id, deadline: c.deadline, waiters: c.waiters.clone() }));
        out.extend(self.gossips.iter().map(|(id, g)| gossip_row(*id, g)));
        for (id, g) in &self.gossips {
            for (i, (_, a)) in g.peers.iter().enumerate() {
                if let Some(reply) = answer_reply(a) {
                    out.push(GatewayRow::GossipAnswer { gossip: *id, peer: i as u32, reply });
                }
            }
        }
        out
    }

    /// Rebuilds a gateway from its stored rows, in any order (only upserted rows),
    /// validating them together as [`restore`](Self::restore) does (counts are re-derived,
    /// parts that disagree are [`DecodeError::Corrupt`]). The journal starts empty (the
    /// store holds the state); each pending creation's [`GatewayOutput::CreateReplica`](super::GatewayOutput::CreateReplica)
    /// is offered again, as after `restore`.
    pub fn from_rows(rows: impl IntoIterator<Item = GatewayRow>, config: GatewayConfig) -> Result<Gateway, DecodeError> {
        let corrupt = |reason: &str| DecodeError::corrupt(format!("gateway rows: {reason}"));
        let mut meta = None;
        let mut replicas: Vec<ReplicaState> = Vec::new();
        let mut connections: BTreeMap<Arc<str>, Vec<ConnectionPair>> = BTreeMap::new();
        let mut sticky = Vec::new();
        let mut reservations = Vec::new();
        let mut creations = Vec::new();
        let mut gossips: Vec<GossipParts> = Vec::new();
        let mut answers: Vec<(u64, u32, Option<Vec<u8>>)> = Vec::new();
        for row in rows {
            match row {
                GatewayRow::Meta(m) => {
                    if meta.replace(m).is_some() {
                        return Err(corrupt("two meta rows"));
                    }
                }
                GatewayRow::Replica { id, order, idle_since } => {
                    replicas.push(ReplicaState { id, order, idle_since, connections: Vec::new() })
                }
                GatewayRow::Connection { replica, connection, request } => {
                    connections.entry(replica).or_default().push((connection, request))
                }
                GatewayRow::Sticky { request, replicas } => sticky.push((request, replicas)),
                GatewayRow::Reservation { id, request, replica, expires_at } => {
                    reservations.push(ReservationState { id, request, replica, expires_at })
                }
                GatewayRow::Creation { id, deadline, waiters } => creations.push((id, Creation { deadline, waiters })),
                GatewayRow::Gossip { id, origin, deadline, peers } => gossips.push((id, origin, deadline, peers)),
                GatewayRow::GossipAnswer { gossip, peer, reply } => answers.push((gossip, peer, reply)),
                _ => return Err(corrupt("a delete row is not a stored row")),
            }
        }
        let meta = meta.ok_or_else(|| corrupt("no meta row"))?;
        replicas.sort_unstable_by_key(|r| r.order);
        for r in &mut replicas {
            if let Some(mut conns) = connections.remove(&r.id) {
                conns.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                r.connections = conns;
            }
        }
        if !connections.is_empty() {
            return Err(corrupt("a connection on a replica with no row"));
        }
        sticky.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        reservations.sort_unstable_by_key(|r| r.id);
        creations.sort_unstable_by_key(|(id, _)| *id);
        gossips.sort_unstable_by_key(|(id, ..)| *id);
        let mut gossips: Vec<(u64, Gossip)> = gossips
            .into_iter()
            .map(|(id, origin, deadline, peers)| {
                (id, Gossip { origin, deadline, peers: peers.into_iter().map(|p| (p, Answer::Waiting)).collect() })
            })
            .collect();
        for (gossip, peer, reply) in answers {
            let i = gossips.binary_search_by_key(&gossip, |(id, _)| *id).map_err(|_| corrupt("an answer to a gossip with no row"))?;
            let slot = gossips[i].1.peers.get_mut(peer as usize).ok_or_else(|| corrupt("an answer of a peer the gossip did not ask"))?;
            if slot.1 != Answer::Waiting {
                return Err(corrupt("two answers of one peer"));
            }
            slot.1 = match reply {
                Some(payload) => Answer::Reply(payload),
                None => Answer::Failed,
            };
        }
        if gossips.iter().any(|(_, g)| g.peers.iter().all(|(_, a)| *a != Answer::Waiting)) {
            return Err(corrupt("a gossip every peer answered is still in flight"));
        }
        let state = GatewayState {
            group: meta.group,
            clock: meta.clock,
            next_order: meta.next_order,
            next_reservation: meta.next_reservation,
            next_creation: meta.next_creation,
            next_gossip: meta.next_gossip,
            replicas,
            current: meta.current,
            sticky,
            reservations,
            creations,
            gossips,
            stats: meta.stats,
        };
        Gateway::from_state(config, state)
    }

    /// The `meta` row.
    pub(super) fn meta(&self) -> GatewayMeta {
        GatewayMeta {
            group: self.group.clone(),
            clock: self.clock,
            next_order: self.replicas.next_order,
            next_reservation: self.reservations.next_id,
            next_creation: self.next_creation,
            next_gossip: self.next_gossip,
            current: self.current.map(|slot| self.replicas.get(slot).id.clone()),
            stats: self.stats,
        }
    }

    /// The replicas a sticky entry lists, the sticky one last.
    fn holders(&self, s: &super::sticky::Sticky) -> Vec<Arc<str>> {
        s.holdings().iter().map(|h| self.replicas.get(h.replica).id.clone()).collect()
    }

    fn reservation_row(&self, id: u64, r: &super::reservations::Reservation) -> GatewayRow {
        GatewayRow::Reservation { id, request: r.req.clone(), replica: self.replicas.get(r.replica).id.clone(), expires_at: r.expires_at }
    }
}

fn gossip_row(id: u64, g: &Gossip) -> GatewayRow {
    GatewayRow::Gossip { id, origin: g.origin.clone(), deadline: g.deadline, peers: g.peers.iter().map(|(p, _)| p.clone()).collect() }
}

/// A peer's answer as a row's `reply`: `None` while it has not answered.
fn answer_reply(a: &Answer) -> Option<Option<Vec<u8>>> {
    match a {
        Answer::Waiting => None,
        Answer::Reply(payload) => Some(Some(payload.clone())),
        Answer::Failed => Some(None),
    }
}

fn sticky_key(row: &GatewayRow) -> &str {
    match row {
        GatewayRow::Sticky { request, .. } => request,
        _ => "",
    }
}
