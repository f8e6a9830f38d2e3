//! The gateway: DOG's routing ledger and messaging planner as a pure machine.
//!
//! Clients carry a request id (`ReqID`). A [`Gateway`] sends each to a replica with a
//! connection `limit`: the replica the request id is already on, else the replica being
//! filled, else the least-loaded one below the limit; when every replica is full it asks the
//! host to create one and introduces the new replica to its peers. It reserves the slot when
//! it routes, counts connections the replicas open and close (a second close of the same
//! connection is a counted no-op), rebuilds itself from replica reports after a restart,
//! optionally retires idle replicas, and plans `emit` / `broadcast` / `whisper` / `gossip`
//! messages that the host delivers.
//!
//! ```
//! use shardtally::{GatewayConfig, Gateway, GatewayOutput, Route, Timestamp};
//!
//! let mut gw = Gateway::new(GatewayConfig::builder().limit(2).build()?, "lobby")?;
//! let t = Timestamp::from_millis(0);
//!
//! // No replica yet: the request waits for one, and the host is asked to create it.
//! let Route::Pending { creation } = gw.route("alice", t)? else { unreachable!() };
//! assert_eq!(gw.poll_output(), Some(GatewayOutput::CreateReplica { creation }));
//! let placed = gw.handle_replica_created(creation, "r1", t)?; // the host's new replica id
//! assert_eq!(placed.requests, vec!["alice".into()]);
//!
//! // The client connects; a second route of the same request id is sticky.
//! gw.handle_connect("lobby", "r1", "socket-1", "alice", t)?;
//! assert_eq!(gw.route("alice", t)?.replica(), Some("r1"));
//! // `error` and `close` both fire for one socket: only one slot is freed.
//! assert!(gw.handle_close("lobby", "r1", "socket-1", t)?);
//! assert!(!gw.handle_close("lobby", "r1", "socket-1", t)?);
//! assert_eq!(gw.replica("r1").map(|r| (r.connections, r.reservations)), Some((0, 1)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod replicas;
mod reservations;
mod rows;
mod state;
mod sticky;
mod types;

pub use config::{GatewayConfig, GatewayConfigBuilder};
pub use rows::{GatewayMeta, GatewayRow, GatewayTable};
pub use types::{
    Audience, ConnectOutcome, CreationId, Delivery, GatewayOutput, GatewayStats, GatewayTimer, GossipId, GossipPlan, GossipResult,
    Placement, ReplicaView, ReservationView, Route, RouteReason,
};

use crate::error::Error;
use crate::shard::Deadline;
use crate::time::{Clock, Timestamp};
use ahash::AHashMap;
use replicas::{Replicas, Slot};
use reservations::{Reservation, Reservations};
use rows::{GatewayJournal, Touch};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use sticky::{Hold, Sticky};

/// A replica creation waiting for the host's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Creation {
    deadline: Timestamp,
    /// Requests waiting for it, in routing order (a request id may appear more than once).
    waiters: Vec<Arc<str>>,
}

/// A peer's answer to a gossip.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Answer {
    Waiting,
    Reply(Vec<u8>),
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Gossip {
    origin: Arc<str>,
    deadline: Timestamp,
    peers: Vec<(Arc<str>, Answer)>,
}

/// Where a route goes.
enum Target {
    Replica(Slot, RouteReason),
    Creation(u64),
    NewCreation,
}

/// DOG's gateway (its `Group`): routes request ids to replicas under a connection limit and
/// plans messages between them.
///
/// # Run loop
///
/// ```text
/// loop {
///     feed one input:   route / handle_replica_created / handle_creation_failed /
///                       handle_connect / handle_close / handle_report / gossip /
///                       handle_gossip_reply / handle_gossip_failure / handle_timeout
///     write take_changes() to the row store                 // durable hosts, before replying
///       (or: if take_state_changed() { persist snapshot() })
///     while let Some(out) = poll_output() { create / introduce / retire / deliver results }
///     arm a timer for poll_timeout()
/// }
/// ```
///
/// # Methods by kind
///
/// - **Getters** (`&self`): [`group`](Self::group), [`config`](Self::config),
///   [`replicas`](Self::replicas), [`replica`](Self::replica),
///   [`connections`](Self::connections), [`sticky`](Self::sticky),
///   [`request_ids`](Self::request_ids), [`reservations`](Self::reservations),
///   [`pending_creations`](Self::pending_creations), [`gossips`](Self::gossips),
///   [`current`](Self::current), [`next_deadline`](Self::next_deadline),
///   [`stats`](Self::stats), [`snapshot`](Self::snapshot), [`rows`](Self::rows); and the message plans
///   [`emit`](Self::emit), [`broadcast`](Self::broadcast), [`whisper`](Self::whisper).
/// - **Inputs** (take `now`): [`route`](Self::route),
///   [`handle_replica_created`](Self::handle_replica_created),
///   [`handle_creation_failed`](Self::handle_creation_failed),
///   [`handle_connect`](Self::handle_connect), [`handle_close`](Self::handle_close),
///   [`handle_report`](Self::handle_report), [`gossip`](Self::gossip),
///   [`handle_gossip_reply`](Self::handle_gossip_reply),
///   [`handle_gossip_failure`](Self::handle_gossip_failure),
///   [`handle_timeout`](Self::handle_timeout).
/// - **Outputs**: [`poll_output`](Self::poll_output) ([`GatewayOutput`]),
///   [`poll_timeout`](Self::poll_timeout), [`take_state_changed`](Self::take_state_changed),
///   [`take_changes`](Self::take_changes) (the change journal, see [`GatewayRow`]).
/// - **Rebuilding**: [`new`](Self::new), [`restore`](Self::restore) (a snapshot),
///   [`from_rows`](Self::from_rows) (stored journal rows).
///
/// Inputs that come from a replica name the gateway's group and the replica; another
/// group is [`Error::WrongGroup`], a replica the gateway does not know is
/// [`Error::UnknownReplica`]. A rejected input changes nothing.
///
/// # Time
///
/// `now` is milliseconds on the host's clock; a `now` earlier than one already seen is
/// treated as the latest seen. `handle_timeout` fires every deadline `<= now` — lapsed
/// reservations, abandoned creations, gossip deadlines, idle retirements — and is a no-op
/// (the state does not change at all) when called early or twice.
///
/// # Counting
///
/// A replica's count is its open connections plus its reservations. A route reserves a slot
/// (only on a replica below the limit); a connection of that request id on that replica
/// consumes the reservation, or takes a free slot when none is waiting; a reservation no
/// connection consumed lapses after `reservation_ttl_ms`. Connections are keyed by
/// `(replica, connection id)`: closing one twice frees one slot. A request id stays sticky
/// while it has a connection or reservation anywhere (or waits for a creation).
#[derive(Debug)]
pub struct Gateway {
    config: GatewayConfig,
    group: Arc<str>,
    clock: Clock,
    replicas: Replicas,
    sticky: AHashMap<Arc<str>, Sticky>,
    reservations: Reservations,
    creations: BTreeMap<u64, Creation>,
    /// Places taken in pending creations (each counts as a reservation).
    waiting: usize,
    next_creation: u64,
    gossips: BTreeMap<u64, Gossip>,
    next_gossip: u64,
    /// The replica being filled.
    current: Option<Slot>,
    stats: GatewayStats,
    outputs: VecDeque<GatewayOutput>,
    state_changed: bool,
    journal: GatewayJournal,
}

impl Gateway {
    /// An empty gateway of `group`.
    ///
    /// Errors: [`Error::EmptyId`], [`Error::IdTooLong`] (`max_id_bytes`).
    pub fn new(config: GatewayConfig, group: &str) -> Result<Gateway, Error> {
        validate_id("group", group, config.max_id_bytes())?;
        Ok(Gateway::empty(config, group.into()))
    }

    fn empty(config: GatewayConfig, group: Arc<str>) -> Gateway {
        Gateway {
            replicas: Replicas::new(config.limit()),
            config,
            group,
            clock: Clock::default(),
            sticky: AHashMap::new(),
            reservations: Reservations::default(),
            creations: BTreeMap::new(),
            waiting: 0,
            next_creation: 0,
            gossips: BTreeMap::new(),
            next_gossip: 0,
            current: None,
            stats: GatewayStats::default(),
            outputs: VecDeque::new(),
            state_changed: false,
            journal: GatewayJournal::default(),
        }
    }

    // ----- getters -----

    /// The group this gateway routes for.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The configuration in force.
    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }

    /// Every replica, in creation order.
    pub fn replicas(&self) -> Vec<ReplicaView> {
        self.replicas.in_order().map(|slot| self.view(slot)).collect()
    }

    /// One replica, if the gateway knows it.
    pub fn replica(&self, id: &str) -> Option<ReplicaView> {
        self.replicas.slot(id).map(|slot| self.view(slot))
    }

    /// A replica's open connections as `(connection id, request id)`, sorted by connection id.
    pub fn connections(&self, replica: &str) -> Option<Vec<(&str, &str)>> {
        let slot = self.replicas.slot(replica)?;
        let mut out: Vec<(&str, &str)> = self.replicas.get(slot).conns.iter().map(|(c, r)| (&**c, &**r)).collect();
        out.sort_unstable();
        Some(out)
    }

    /// The replica a request id sticks to: the last one routed to among those holding its
    /// connections or reservations. `None` when it holds nothing (it may still wait for a
    /// creation).
    pub fn sticky(&self, req: &str) -> Option<&str> {
        let h = self.sticky.get(req)?.holdings().last()?;
        Some(&self.replicas.get(h.replica).id)
    }

    /// Request ids with a connection, a reservation or a pending creation.
    pub fn request_ids(&self) -> usize {
        self.sticky.len()
    }

    /// Live reservations, oldest first (requests waiting for a creation are not listed).
    pub fn reservations(&self) -> Vec<ReservationView> {
        self.reservations
            .iter()
            .map(|(_, r)| ReservationView {
                request: r.req.clone(),
                replica: self.replicas.get(r.replica).id.clone(),
                expires_at: r.expires_at,
            })
            .collect()
    }

    /// Creations waiting for the host's answer, with the requests waiting for each.
    pub fn pending_creations(&self) -> Vec<(CreationId, Vec<Arc<str>>)> {
        self.creations.iter().map(|(id, c)| (CreationId(*id), c.waiters.clone())).collect()
    }

    /// Gossips in flight.
    pub fn gossips(&self) -> Vec<GossipId> {
        self.gossips.keys().map(|id| GossipId(*id)).collect()
    }

    /// The replica being filled, if any.
    pub fn current(&self) -> Option<&str> {
        self.current.map(|slot| &*self.replicas.get(slot).id)
    }

    /// Activity counters.
    pub fn stats(&self) -> GatewayStats {
        self.stats
    }

    /// The next deadline and which timer it belongs to.
    pub fn next_deadline(&self) -> Option<Deadline<GatewayTimer>> {
        let retire = self.config.retire_after_idle_ms();
        let retire = self
            .replicas
            .longest_idle()
            .filter(|_| retire > 0)
            .map(|(since, _)| Deadline { at: since.saturating_add(retire), timer: GatewayTimer::Retire });
        let gossip = self.gossips.values().map(|g| g.deadline).min().map(|at| Deadline { at, timer: GatewayTimer::GossipTimeout });
        let creation = self.creations.values().map(|c| c.deadline).min().map(|at| Deadline { at, timer: GatewayTimer::CreationTimeout });
        let expiry = self.reservations.next_expiry().map(|at| Deadline { at, timer: GatewayTimer::ReservationExpiry });
        Deadline::earlier(Deadline::earlier(Deadline::earlier(retire, gossip), creation), expiry)
    }

    /// Plans `emit`: the sender's own replica delivers to its connections (all of them with
    /// `include_sender`, else all but the sender).
    ///
    /// Errors: [`Error::WrongGroup`], [`Error::UnknownReplica`], [`Error::UnknownConnection`]
    /// (the sender is not open on that replica), and invalid ids.
    pub fn emit(&self, group: &str, replica: &str, sender: &str, include_sender: bool) -> Result<Vec<Delivery>, Error> {
        let slot = self.sender(group, replica, sender)?;
        Ok(vec![Delivery { replica: self.replicas.get(slot).id.clone(), audience: audience(sender, include_sender) }])
    }

    /// Plans `broadcast`: every replica, in creation order, delivers to all its connections
    /// (the sender's replica skips the sender unless `include_sender`).
    ///
    /// Errors: as [`emit`](Self::emit).
    pub fn broadcast(&self, group: &str, replica: &str, sender: &str, include_sender: bool) -> Result<Vec<Delivery>, Error> {
        let own = self.sender(group, replica, sender)?;
        Ok(self
            .replicas
            .in_order()
            .map(|slot| Delivery {
                replica: self.replicas.get(slot).id.clone(),
                audience: if slot == own { audience(sender, include_sender) } else { Audience::All },
            })
            .collect())
    }

    /// Plans `whisper`: only the replica holding a connection of `target` (a request id)
    /// delivers, to that request id's connections. An unknown target, a target with no open
    /// connection, or the sender's own request id gives an empty plan — never everyone.
    ///
    /// Errors: as [`emit`](Self::emit) (about the sender).
    pub fn whisper(&self, group: &str, replica: &str, sender: &str, target: &str) -> Result<Vec<Delivery>, Error> {
        let slot = self.sender(group, replica, sender)?;
        let own = self.replicas.get(slot).conns.get(sender).map(|r| &**r);
        if own == Some(target) {
            return Ok(Vec::new());
        }
        let Some((key, s)) = self.sticky.get_key_value(target) else { return Ok(Vec::new()) };
        Ok(s.holdings()
            .iter()
            .rev()
            .find(|h| h.conns > 0)
            .map(|h| Delivery { replica: self.replicas.get(h.replica).id.clone(), audience: Audience::Request(key.clone()) })
            .into_iter()
            .collect())
    }

    // ----- inputs -----

    /// Routes a request id: the replica it is already on if that has room, else the replica
    /// being filled, else the least-loaded replica below the limit (ties: creation order);
    /// a slot is reserved there until `reservation_ttl_ms` from now. When every replica is
    /// full the request waits for a replica being created ([`Route::Pending`]); a new
    /// creation emits [`GatewayOutput::CreateReplica`].
    ///
    /// Errors (nothing changes): [`Error::EmptyId`], [`Error::IdTooLong`],
    /// [`Error::TableFull`] (`"request ids"`, `"reservations"`, `"pending creations"`,
    /// `"replicas"`).
    pub fn route(&mut self, req: &str, now: Timestamp) -> Result<Route, Error> {
        validate_id("request id", req, self.config.max_id_bytes())?;
        let now = self.time(now);
        // One lookup of the request id decides; the entry's shared key serves the rest.
        let existing = self.sticky.get_key_value(req);
        if existing.is_none() && self.sticky.len() >= self.config.max_request_ids() {
            return Err(Error::TableFull { table: "request ids", limit: self.config.max_request_ids() });
        }
        if self.reservations.len() + self.waiting >= self.config.max_reservations() {
            return Err(Error::TableFull { table: "reservations", limit: self.config.max_reservations() });
        }
        let target = self.choose(req, existing.map(|(_, s)| s));
        if let Target::NewCreation = target {
            self.check_creation_room()?;
        }
        let key = existing.map(|(k, _)| k.clone());
        self.commit(now);
        self.state_changed = true;
        self.stats.routes += 1;
        let key = key.unwrap_or_else(|| self.sticky_key(req));
        Ok(match target {
            Target::Replica(slot, reason) => {
                if reason == RouteReason::Sticky {
                    self.stats.sticky_routes += 1;
                }
                let expires_at = self.reserve(key, slot, now);
                self.current = self.replicas.has_room(slot).then_some(slot);
                Route::Replica { replica: self.replicas.get(slot).id.clone(), reason, expires_at }
            }
            Target::Creation(id) => {
                self.wait(key, id);
                Route::Pending { creation: CreationId(id) }
            }
            Target::NewCreation => {
                let id = self.next_creation;
                self.next_creation += 1;
                let deadline = now.saturating_add(self.config.creation_timeout_ms());
                self.creations.insert(id, Creation { deadline, waiters: Vec::new() });
                self.touch(Touch::Creation(id));
                self.wait(key, id);
                self.stats.creation_requests += 1;
                self.outputs.push_back(GatewayOutput::CreateReplica { creation: CreationId(id) });
                Route::Pending { creation: CreationId(id) }
            }
        })
    }

    /// The host created the replica of `creation`, with id `replica`. The requests that
    /// waited for it get a reservation there (listed in the returned [`Placement`]), the
    /// replica becomes the one being filled, and a [`GatewayOutput::Introduce`] introduces
    /// it to the replicas that existed before. A late answer (the creation had expired or
    /// failed) adopts the replica empty.
    ///
    /// Errors (nothing changes): [`Error::UnknownCreation`] (never issued),
    /// [`Error::DuplicateReplica`], [`Error::TableFull`] (`"replicas"`, for a late answer),
    /// invalid ids.
    pub fn handle_replica_created(&mut self, creation: CreationId, replica: &str, now: Timestamp) -> Result<Placement, Error> {
        validate_id("replica id", replica, self.config.max_id_bytes())?;
        if self.replicas.slot(replica).is_some() {
            return Err(Error::DuplicateReplica { replica: replica.to_owned() });
        }
        let pending = self.creations.contains_key(&creation.0);
        if !pending {
            if creation.0 >= self.next_creation {
                return Err(Error::UnknownCreation { creation: creation.0 });
            }
            self.check_replica_room()?;
        }
        let now = self.time(now);
        self.commit(now);
        self.state_changed = true;
        let peers: Vec<Arc<str>> = self.replicas.in_order().map(|s| self.replicas.get(s).id.clone()).collect();
        let id: Arc<str> = replica.into();
        let slot = self.replicas.add(id.clone(), None, now);
        self.touch(Touch::Replica(id.clone()));
        let mut requests = Vec::new();
        if let Some(c) = self.creations.remove(&creation.0) {
            self.touch(Touch::Creation(creation.0));
            for req in &c.waiters {
                self.reserve(req.clone(), slot, now);
                self.unwait(req);
            }
            requests = c.waiters;
            self.current = self.replicas.has_room(slot).then_some(slot);
            self.stats.creations += 1;
        } else {
            self.stats.adopted += 1;
        }
        if !peers.is_empty() {
            self.stats.introductions += 1;
            self.outputs.push_back(GatewayOutput::Introduce { replica: id.clone(), peers });
        }
        Ok(Placement { creation, replica: id, requests })
    }

    /// The host could not create the replica of `creation`: the requests waiting for it are
    /// released and returned (answer their clients). `None` (and nothing changes) when the
    /// creation is not pending.
    pub fn handle_creation_failed(&mut self, creation: CreationId, now: Timestamp) -> Option<Vec<Arc<str>>> {
        if !self.creations.contains_key(&creation.0) {
            return None;
        }
        let now = self.time(now);
        self.commit(now);
        Some(self.abandon(creation.0))
    }

    /// Connection `connection` of request id `req` opened on `replica`. It takes the oldest
    /// slot reserved for `req` there, or a free slot when none is reserved. Opening the same
    /// connection for the same request id again changes nothing.
    ///
    /// Errors (nothing changes): [`Error::WrongGroup`], [`Error::UnknownReplica`],
    /// [`Error::ReplicaFull`] (no reservation and no free slot: close the socket),
    /// [`Error::DuplicateConnection`] (open for another request id), [`Error::TableFull`]
    /// (`"request ids"`), invalid ids.
    pub fn handle_connect(
        &mut self,
        group: &str,
        replica: &str,
        connection: &str,
        req: &str,
        now: Timestamp,
    ) -> Result<ConnectOutcome, Error> {
        self.check_group(group)?;
        let max = self.config.max_id_bytes();
        validate_id("replica id", replica, max)?;
        validate_id("connection id", connection, max)?;
        validate_id("request id", req, max)?;
        let slot = self.known(replica)?;
        if let Some(existing) = self.replicas.get(slot).conns.get(connection) {
            return if **existing == *req {
                Ok(ConnectOutcome::AlreadyOpen)
            } else {
                Err(Error::DuplicateConnection { replica: replica.to_owned(), connection: connection.to_owned() })
            };
        }
        let key = self.sticky.get_key_value(req).map(|(k, _)| k.clone());
        let reservation = key.as_ref().and_then(|_| self.reservations.oldest_of(req, slot));
        if reservation.is_none() && !self.replicas.has_room(slot) {
            return Err(Error::ReplicaFull { replica: replica.to_owned(), limit: self.config.limit() });
        }
        if key.is_none() && self.sticky.len() >= self.config.max_request_ids() {
            return Err(Error::TableFull { table: "request ids", limit: self.config.max_request_ids() });
        }
        let now = self.time(now);
        self.commit(now);
        let key = key.unwrap_or_else(|| self.sticky_key(req));
        self.stats.connects += 1;
        let conn: Box<str> = connection.into();
        self.touch(Touch::Connection(self.replicas.get(slot).id.clone(), conn.clone()));
        Ok(match reservation {
            Some(id) => {
                self.reservations.remove(id);
                self.touch(Touch::Reservation(id));
                self.hold(&key, slot, Hold::Consume);
                self.change(slot, now, |r| {
                    r.reserved -= 1;
                    r.conns.insert(conn, key.clone());
                });
                ConnectOutcome::Reserved
            }
            None => {
                self.hold(&key, slot, Hold::Connect);
                self.change(slot, now, |r| {
                    r.conns.insert(conn, key.clone());
                });
                self.stats.unreserved_connects += 1;
                ConnectOutcome::Unreserved
            }
        })
    }

    /// Connection `connection` on `replica` closed (or errored). Returns `true` when it was
    /// open; a second close of the same connection — DOG's `error` then `close` — returns
    /// `false` and frees nothing (counted in [`GatewayStats::duplicate_closes`]). The request
    /// id stops being sticky once it has no connection or reservation left anywhere.
    ///
    /// Errors (nothing changes): [`Error::WrongGroup`], [`Error::UnknownReplica`], invalid ids.
    pub fn handle_close(&mut self, group: &str, replica: &str, connection: &str, now: Timestamp) -> Result<bool, Error> {
        self.check_group(group)?;
        let max = self.config.max_id_bytes();
        validate_id("replica id", replica, max)?;
        validate_id("connection id", connection, max)?;
        let slot = self.known(replica)?;
        let now = self.time(now);
        self.commit(now);
        let (_, _, removed) = self.change(slot, now, |r| r.conns.remove(connection));
        Ok(match removed {
            Some(req) => {
                self.touch(Touch::Connection(self.replicas.get(slot).id.clone(), connection.into()));
                self.hold(&req, slot, Hold::Close);
                self.stats.closes += 1;
                true
            }
            None => {
                self.stats.duplicate_closes += 1;
                false
            }
        })
    }

    /// A replica reports its open connections as `(connection id, request id)`: the report
    /// replaces the gateway's view of that replica's connections (its reservations stay).
    /// After a restart, reports from every replica rebuild counts and sticky entries, so new
    /// clients join replicas with room instead of new ones. A replica the gateway does not
    /// know is added (it is not introduced: its peers already know it). Reporting the same
    /// set again changes nothing but [`GatewayStats::reports`].
    ///
    /// Errors (nothing changes): [`Error::WrongGroup`], [`Error::DuplicateConnection`] (a
    /// connection id listed twice), [`Error::TableFull`] (`"connections per replica"` above
    /// `limit`, `"replicas"`, `"request ids"`), invalid ids.
    pub fn handle_report<C: AsRef<str>, R: AsRef<str>>(
        &mut self,
        group: &str,
        replica: &str,
        connections: &[(C, R)],
        now: Timestamp,
    ) -> Result<(), Error> {
        self.check_group(group)?;
        let max = self.config.max_id_bytes();
        validate_id("replica id", replica, max)?;
        let limit = self.config.limit() as usize;
        if connections.len() > limit {
            return Err(Error::TableFull { table: "connections per replica", limit });
        }
        let mut listed: Vec<(&str, &str)> = Vec::with_capacity(connections.len());
        for (c, r) in connections {
            let (c, r) = (c.as_ref(), r.as_ref());
            validate_id("connection id", c, max)?;
            validate_id("request id", r, max)?;
            listed.push((c, r));
        }
        listed.sort_unstable();
        if let Some(w) = listed.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Error::DuplicateConnection { replica: replica.to_owned(), connection: w[0].0.to_owned() });
        }
        let slot = self.replicas.slot(replica);
        if slot.is_none() {
            self.check_replica_room()?;
        }
        let new_reqs = listed.iter().map(|(_, r)| *r).filter(|r| !self.sticky.contains_key(*r)).collect::<BTreeSet<&str>>().len();
        if self.sticky.len() + new_reqs > self.config.max_request_ids() {
            return Err(Error::TableFull { table: "request ids", limit: self.config.max_request_ids() });
        }
        let now = self.time(now);
        self.commit(now);
        let slot = match slot {
            Some(slot) => slot,
            None => {
                let id: Arc<str> = replica.into();
                self.touch(Touch::Replica(id.clone()));
                self.replicas.add(id, None, now)
            }
        };
        let replica_id = self.replicas.get(slot).id.clone();
        // Additions first, so a request id that only changed connections keeps its holding
        // (and its place as the sticky replica).
        let added: Vec<(&str, &str)> = {
            let conns = &self.replicas.get(slot).conns;
            listed.iter().copied().filter(|(c, r)| conns.get(*c).is_none_or(|have| **have != **r)).collect()
        };
        let wanted: AHashMap<&str, &str> = listed.iter().copied().collect();
        let removed: Vec<Box<str>> = {
            let conns = &self.replicas.get(slot).conns;
            let mut v: Vec<Box<str>> =
                conns.iter().filter(|(c, r)| wanted.get(&***c).is_none_or(|w| **w != ***r)).map(|(c, _)| c.clone()).collect();
            v.sort_unstable();
            v
        };
        for (c, r) in added {
            let key = self.sticky_key(r);
            self.touch(Touch::Connection(replica_id.clone(), c.into()));
            self.hold(&key, slot, Hold::Connect);
            let (_, _, old) = self.change(slot, now, |x| x.conns.insert(c.into(), key.clone()));
            if let Some(old) = old {
                self.hold(&old, slot, Hold::Close);
            }
        }
        for c in removed {
            if wanted.contains_key(&*c) {
                continue; // replaced above with its new request id
            }
            let (_, _, old) = self.change(slot, now, |x| x.conns.remove(&c));
            self.touch(Touch::Connection(replica_id.clone(), c));
            if let Some(old) = old {
                self.hold(&old, slot, Hold::Close);
            }
        }
        self.stats.reports += 1;
        self.state_changed = true;
        Ok(())
    }

    /// Starts a gossip from `replica`: it asks every peer (every other replica, in creation
    /// order). Report each peer's answer with [`handle_gossip_reply`](Self::handle_gossip_reply)
    /// or [`handle_gossip_failure`](Self::handle_gossip_failure); once all answered, or at
    /// the deadline (`gossip_timeout_ms`), a [`GatewayOutput::GossipDone`] lists the replies in
    /// peer order and names the peers that failed or did not answer.
    ///
    /// Errors (nothing changes): [`Error::WrongGroup`], [`Error::UnknownReplica`],
    /// [`Error::TableFull`] (`"gossips"`), invalid ids.
    pub fn gossip(&mut self, group: &str, replica: &str, now: Timestamp) -> Result<GossipPlan, Error> {
        self.check_group(group)?;
        validate_id("replica id", replica, self.config.max_id_bytes())?;
        let slot = self.known(replica)?;
        if self.gossips.len() >= self.config.max_gossips() {
            return Err(Error::TableFull { table: "gossips", limit: self.config.max_gossips() });
        }
        let now = self.time(now);
        self.commit(now);
        self.state_changed = true;
        let id = self.next_gossip;
        self.next_gossip += 1;
        self.stats.gossips += 1;
        let origin = self.replicas.get(slot).id.clone();
        let peers: Vec<Arc<str>> = self.replicas.in_order().filter(|s| *s != slot).map(|s| self.replicas.get(s).id.clone()).collect();
        let deadline = now.saturating_add(self.config.gossip_timeout_ms());
        let gossip = Gossip { origin, deadline, peers: peers.iter().map(|p| (p.clone(), Answer::Waiting)).collect() };
        self.gossips.insert(id, gossip);
        self.touch(Touch::Gossip(id));
        if peers.is_empty() {
            self.finish_gossip(id);
        }
        Ok(GossipPlan { gossip: GossipId(id), peers, deadline })
    }

    /// Peer `peer` answered gossip `gossip` with `payload`. Returns `false` (and changes
    /// nothing, not even the clock) when the gossip is not in flight or the peer was not
    /// asked or already answered.
    ///
    /// Errors (nothing changes): [`Error::WrongGroup`], [`Error::PayloadTooLarge`]
    /// (`max_gossip_reply_bytes`).
    pub fn handle_gossip_reply(
        &mut self,
        group: &str,
        gossip: GossipId,
        peer: &str,
        payload: &[u8],
        now: Timestamp,
    ) -> Result<bool, Error> {
        self.check_group(group)?;
        let max = self.config.max_gossip_reply_bytes();
        if payload.len() > max {
            return Err(Error::PayloadTooLarge { len: payload.len(), max });
        }
        Ok(self.answer(gossip, peer, Answer::Reply(payload.to_vec()), now))
    }

    /// Asking peer `peer` for gossip `gossip` failed: the result names it among the failed
    /// peers; the others' answers still count. Returns `false` as
    /// [`handle_gossip_reply`](Self::handle_gossip_reply) does.
    ///
    /// Errors (nothing changes): [`Error::WrongGroup`].
    pub fn handle_gossip_failure(&mut self, group: &str, gossip: GossipId, peer: &str, now: Timestamp) -> Result<bool, Error> {
        self.check_group(group)?;
        Ok(self.answer(gossip, peer, Answer::Failed, now))
    }

    /// Fires every deadline `<= now`: abandons unanswered creations
    /// ([`GatewayOutput::CreationExpired`]), completes gossips past their deadline with a
    /// partial result, frees lapsed reservations, and retires replicas idle for
    /// `retire_after_idle_ms` ([`GatewayOutput::Retire`]). Early or repeated calls change
    /// nothing.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let now = self.time(now);
        if self.next_deadline().is_none_or(|d| d.at > now) {
            return;
        }
        self.commit(now);
        self.state_changed = true;
        let due: Vec<u64> = self.creations.iter().filter(|(_, c)| c.deadline <= now).map(|(id, _)| *id).collect();
        for id in due {
            let requests = self.abandon(id);
            self.outputs.push_back(GatewayOutput::CreationExpired { creation: CreationId(id), requests });
        }
        let due: Vec<u64> = self.gossips.iter().filter(|(_, g)| g.deadline <= now).map(|(id, _)| *id).collect();
        for id in due {
            self.stats.gossip_timeouts += 1;
            self.finish_gossip(id);
        }
        while let Some((id, r)) = self.reservations.pop_expired(now) {
            self.touch(Touch::Reservation(id));
            self.hold(&r.req, r.replica, Hold::Release);
            // The slot was free from its expiry on, whenever the timer actually ran.
            self.change(r.replica, r.expires_at, |x| x.reserved -= 1);
            self.stats.expirations += 1;
        }
        let retire = self.config.retire_after_idle_ms();
        if retire > 0 {
            while let Some((since, slot)) = self.replicas.longest_idle() {
                if since.saturating_add(retire) > now {
                    break;
                }
                if self.current == Some(slot) {
                    self.current = None;
                }
                let replica = self.replicas.remove(slot);
                self.touch(Touch::Replica(replica.clone()));
                self.stats.retirements += 1;
                self.outputs.push_back(GatewayOutput::Retire { replica });
            }
        }
    }

    // ----- outputs -----

    /// The next thing the host must do, if any.
    pub fn poll_output(&mut self) -> Option<GatewayOutput> {
        self.outputs.pop_front()
    }

    /// The earliest deadline: call [`handle_timeout`](Self::handle_timeout) then.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.next_deadline().map(|d| d.at)
    }

    /// Whether the state changed since the last call — exactly when
    /// [`snapshot`](Self::snapshot) would differ — so a durable host persists it before
    /// answering the client.
    pub fn take_state_changed(&mut self) -> bool {
        std::mem::take(&mut self.state_changed)
    }

    // ----- internals -----

    fn view(&self, slot: Slot) -> ReplicaView {
        let r = self.replicas.get(slot);
        ReplicaView { id: r.id.clone(), connections: r.conns.len() as u32, reservations: r.reserved }
    }

    /// The time to act on for `now`, without recording it.
    fn time(&self, now: Timestamp) -> Timestamp {
        let mut clock = self.clock;
        clock.observe(now)
    }

    /// Records the time of an accepted input.
    fn commit(&mut self, now: Timestamp) {
        let before = self.clock;
        self.clock.observe(now);
        if self.clock != before {
            self.state_changed = true;
        }
    }

    fn check_group(&self, group: &str) -> Result<(), Error> {
        if group == &*self.group {
            Ok(())
        } else {
            Err(Error::WrongGroup { expected: self.group.to_string(), got: group.to_owned() })
        }
    }

    fn known(&self, replica: &str) -> Result<Slot, Error> {
        self.replicas.slot(replica).ok_or_else(|| Error::UnknownReplica { replica: replica.to_owned() })
    }

    /// Validates a message's sender: the group, its replica, and the connection open there.
    fn sender(&self, group: &str, replica: &str, connection: &str) -> Result<Slot, Error> {
        self.check_group(group)?;
        let max = self.config.max_id_bytes();
        validate_id("replica id", replica, max)?;
        validate_id("connection id", connection, max)?;
        let slot = self.known(replica)?;
        if !self.replicas.get(slot).conns.contains_key(connection) {
            return Err(Error::UnknownConnection { replica: replica.to_owned(), connection: connection.to_owned() });
        }
        Ok(slot)
    }

    fn check_replica_room(&self) -> Result<(), Error> {
        if self.replicas.len() + self.creations.len() >= self.config.max_replicas() {
            return Err(Error::TableFull { table: "replicas", limit: self.config.max_replicas() });
        }
        Ok(())
    }

    fn check_creation_room(&self) -> Result<(), Error> {
        if self.creations.len() >= self.config.max_pending_creations() {
            return Err(Error::TableFull { table: "pending creations", limit: self.config.max_pending_creations() });
        }
        self.check_replica_room()
    }

    /// Where a route of `req` (with its sticky entry, if any) goes (decides only).
    fn choose(&self, req: &str, sticky: Option<&Sticky>) -> Target {
        let limit = self.config.limit() as usize;
        if let Some(s) = sticky {
            if let Some(h) = s.holdings().iter().rev().find(|h| self.replicas.has_room(h.replica)) {
                return Target::Replica(h.replica, RouteReason::Sticky);
            }
            if s.waiting > 0 {
                let waits = |c: &Creation| c.waiters.len() < limit && c.waiters.iter().any(|w| **w == *req);
                if let Some((id, _)) = self.creations.iter().rev().find(|(_, c)| waits(c)) {
                    return Target::Creation(*id);
                }
            }
        }
        if let Some(slot) = self.current.filter(|s| self.replicas.has_room(*s)) {
            return Target::Replica(slot, RouteReason::Current);
        }
        if let Some(slot) = self.replicas.least_loaded() {
            return Target::Replica(slot, RouteReason::LeastLoaded);
        }
        match self.creations.iter().rev().find(|(_, c)| c.waiters.len() < limit) {
            Some((id, _)) => Target::Creation(*id),
            None => Target::NewCreation,
        }
    }

    /// The shared key of `req`'s sticky entry, creating the entry if needed.
    fn sticky_key(&mut self, req: &str) -> Arc<str> {
        if let Some((k, _)) = self.sticky.get_key_value(req) {
            return k.clone();
        }
        let key: Arc<str> = req.into();
        self.sticky.insert(key.clone(), Sticky::default());
        self.touch(Touch::Sticky(key.clone()));
        key
    }

    /// Reserves a slot on `slot` for `req` (whose sticky entry exists); returns its expiry.
    fn reserve(&mut self, req: Arc<str>, slot: Slot, now: Timestamp) -> Timestamp {
        let expires_at = now.saturating_add(self.config.reservation_ttl_ms());
        self.hold(&req, slot, Hold::Reserve);
        let id = self.reservations.add(None, Reservation { req, replica: slot, expires_at });
        self.touch(Touch::Reservation(id));
        self.change(slot, now, |r| r.reserved += 1);
        expires_at
    }

    /// `key` (the sticky entry's) waits for `creation`.
    fn wait(&mut self, key: Arc<str>, creation: u64) {
        if let Some(s) = self.sticky.get_mut(&key) {
            s.waiting += 1;
        }
        if let Some(c) = self.creations.get_mut(&creation) {
            c.waiters.push(key);
            self.touch(Touch::Creation(creation));
        }
        self.waiting += 1;
        self.stats.pending_routes += 1;
    }

    fn unwait(&mut self, req: &Arc<str>) {
        self.waiting -= 1;
        if let Some(s) = self.sticky.get_mut(req) {
            s.waiting -= 1;
            if s.is_empty() {
                self.sticky.remove(req);
                self.touch(Touch::Sticky(req.clone()));
            }
        }
    }

    /// Drops a pending creation and releases its waiters.
    fn abandon(&mut self, creation: u64) -> Vec<Arc<str>> {
        let Some(c) = self.creations.remove(&creation) else { return Vec::new() };
        self.touch(Touch::Creation(creation));
        for req in &c.waiters {
            self.unwait(req);
        }
        self.stats.creation_failures += 1;
        self.state_changed = true;
        c.waiters
    }

    /// Changes a replica and re-indexes it; a freed slot ends the current fill (the next new
    /// request id goes to the least-loaded replica, as DOG re-sorted on close).
    fn change<T>(&mut self, slot: Slot, at: Timestamp, f: impl FnOnce(&mut replicas::Replica) -> T) -> (u32, u32, T) {
        let idle = self.replicas.get(slot).idle_since;
        let (before, after, out) = self.replicas.change(slot, at, f);
        if after < before {
            self.current = None;
        }
        if self.replicas.get(slot).idle_since != idle {
            self.touch(Touch::Replica(self.replicas.get(slot).id.clone()));
        }
        self.state_changed = true;
        (before, after, out)
    }

    /// Applies `change` to `req`'s holding on `slot`; drops the sticky entry when nothing
    /// is left.
    fn hold(&mut self, req: &Arc<str>, slot: Slot, change: Hold) {
        let Some(applied) = self.sticky.get_mut(req).map(|s| s.apply(slot, change)) else { return };
        if applied.empty {
            self.sticky.remove(req);
        }
        self.touch_sticky(req, applied);
    }

    fn answer(&mut self, gossip: GossipId, peer: &str, answer: Answer, now: Timestamp) -> bool {
        let Some(g) = self.gossips.get_mut(&gossip.0) else { return false };
        let Some(index) = g.peers.iter().position(|(p, a)| **p == *peer && *a == Answer::Waiting) else { return false };
        if answer == Answer::Failed {
            self.stats.gossip_failures += 1;
        }
        g.peers[index].1 = answer;
        let done = g.peers.iter().all(|(_, a)| *a != Answer::Waiting);
        self.touch(Touch::Answer(gossip.0, index as u32));
        let now = self.time(now);
        self.commit(now);
        self.state_changed = true;
        if done {
            self.finish_gossip(gossip.0);
        }
        true
    }

    /// Removes a gossip and emits its result.
    fn finish_gossip(&mut self, id: u64) {
        let Some(g) = self.gossips.remove(&id) else { return };
        self.touch(Touch::Gossip(id));
        for (i, (_, answer)) in g.peers.iter().enumerate() {
            if *answer != Answer::Waiting {
                self.touch(Touch::Answer(id, i as u32));
            }
        }
        let mut result =
            GossipResult { gossip: GossipId(id), origin: g.origin, replies: Vec::new(), failed: Vec::new(), missing: Vec::new() };
        for (peer, answer) in g.peers {
            match answer {
                Answer::Reply(payload) => result.replies.push((peer, payload)),
                Answer::Failed => result.failed.push(peer),
                Answer::Waiting => result.missing.push(peer),
            }
        }
        self.state_changed = true;
        self.outputs.push_back(GatewayOutput::GossipDone(result));
    }
}

fn audience(sender: &str, include_sender: bool) -> Audience {
    if include_sender {
        Audience::All
    } else {
        Audience::AllExcept(sender.into())
    }
}

/// Checks an id against the bounds: non-empty and at most `max` bytes.
fn validate_id(what: &'static str, id: &str, max: usize) -> Result<(), Error> {
    if id.is_empty() {
        return Err(Error::EmptyId { what });
    }
    if id.len() > max {
        return Err(Error::IdTooLong { what, len: id.len(), max });
    }
    Ok(())
}
