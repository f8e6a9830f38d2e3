//! What a [`Gateway`](crate::Gateway) hands its host: routing decisions, outputs, message
//! plans, gossip results, views and counters.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// Names one replica creation the gateway asked for ([`GatewayOutput::CreateReplica`]);
/// the host echoes it in [`Gateway::handle_replica_created`](crate::Gateway::handle_replica_created)
/// or [`Gateway::handle_creation_failed`](crate::Gateway::handle_creation_failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CreationId(pub(crate) u64);

/// Names one gossip ([`Gateway::gossip`](crate::Gateway::gossip)); peers' answers carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GossipId(pub(crate) u64);

macro_rules! raw_id {
    ($t:ident) => {
        impl $t {
            /// Wraps a raw id received from a binding or a wire format. An id the gateway did
            /// not issue is a typed error or an unmatched answer, never a panic.
            pub const fn from_raw(raw: u64) -> Self {
                $t(raw)
            }
            /// The raw id.
            pub const fn raw(self) -> u64 {
                self.0
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}
raw_id!(CreationId);
raw_id!(GossipId);

/// Why [`Gateway::route`](crate::Gateway::route) picked a replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RouteReason {
    /// The request id already has connections or reservations there.
    Sticky,
    /// The replica currently being filled.
    Current,
    /// The least-loaded replica below the limit (ties: creation order).
    LeastLoaded,
}

impl RouteReason {
    /// The reason as a stable lower-case string.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteReason::Sticky => "sticky",
            RouteReason::Current => "current",
            RouteReason::LeastLoaded => "least_loaded",
        }
    }
}

/// A routing decision: a slot is reserved either way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Connect the client to this replica; the slot is reserved until `expires_at`.
    Replica {
        /// The replica's id.
        replica: Arc<str>,
        /// Why this replica.
        reason: RouteReason,
        /// When the reservation lapses unless a connection consumes it.
        expires_at: Timestamp,
    },
    /// Every replica is full: the request waits for a replica being created. The
    /// [`Placement`] returned by [`Gateway::handle_replica_created`](crate::Gateway::handle_replica_created)
    /// for this creation lists it.
    Pending {
        /// The creation it waits for.
        creation: CreationId,
    },
}

impl Route {
    /// The replica, for [`Route::Replica`].
    pub fn replica(&self) -> Option<&str> {
        match self {
            Route::Replica { replica, .. } => Some(replica),
            Route::Pending { .. } => None,
        }
    }
}

/// A creation's outcome: the new replica and the requests now reserved on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The creation answered.
    pub creation: CreationId,
    /// The new replica.
    pub replica: Arc<str>,
    /// The requests that waited for it, in routing order (empty for a late answer).
    pub requests: Vec<Arc<str>>,
}

/// What [`Gateway::handle_connect`](crate::Gateway::handle_connect) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnectOutcome {
    /// The connection took the slot its route reserved.
    Reserved,
    /// No reservation was waiting: the connection took a free slot.
    Unreserved,
    /// This connection was already open for this request id: nothing changed.
    AlreadyOpen,
}

/// What a gateway asks its host to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GatewayOutput {
    /// Create a replica and answer with
    /// [`handle_replica_created`](crate::Gateway::handle_replica_created) (its id) or
    /// [`handle_creation_failed`](crate::Gateway::handle_creation_failed).
    CreateReplica {
        /// Echo this in the answer.
        creation: CreationId,
    },
    /// Introduce a new replica and its peers to each other: tell `replica` about every peer
    /// and every peer about `replica`.
    Introduce {
        /// The new replica.
        replica: Arc<str>,
        /// The replicas that existed before it, in creation order.
        peers: Vec<Arc<str>>,
    },
    /// A creation was not answered within `creation_timeout_ms`: these requests lost their
    /// place (answer their clients with an error or route them again).
    CreationExpired {
        /// The abandoned creation.
        creation: CreationId,
        /// The requests that waited for it, in routing order.
        requests: Vec<Arc<str>>,
    },
    /// This replica was idle for `retire_after_idle_ms`: it is no longer offered.
    Retire {
        /// The retired replica.
        replica: Arc<str>,
    },
    /// A gossip finished: every peer answered, or its deadline passed.
    GossipDone(GossipResult),
}

/// Who receives a message on one replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Every connection on the replica.
    All,
    /// Every connection on the replica but this one (the sender).
    AllExcept(Arc<str>),
    /// The connections of this request id on the replica.
    Request(Arc<str>),
}

/// One replica's part of a message plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The replica that delivers the message to its own connections.
    pub replica: Arc<str>,
    /// To which of them.
    pub audience: Audience,
}

/// The peers a gossip asks: send the question to each, then report each answer with
/// [`handle_gossip_reply`](crate::Gateway::handle_gossip_reply) or
/// [`handle_gossip_failure`](crate::Gateway::handle_gossip_failure).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GossipPlan {
    /// Echo this in the answers.
    pub gossip: GossipId,
    /// Every other replica, in creation order (empty: the result is already in the outputs).
    pub peers: Vec<Arc<str>>,
    /// When the gossip completes with whatever answers arrived.
    pub deadline: Timestamp,
}

/// The answers to a gossip, in peer (creation) order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GossipResult {
    /// The gossip.
    pub gossip: GossipId,
    /// The replica that asked.
    pub origin: Arc<str>,
    /// `(peer, payload)` of every peer that replied, in peer order.
    pub replies: Vec<(Arc<str>, Vec<u8>)>,
    /// Peers whose answer failed, in peer order.
    pub failed: Vec<Arc<str>>,
    /// Peers that had not answered by the deadline, in peer order.
    pub missing: Vec<Arc<str>>,
}

impl GossipResult {
    /// Every peer replied.
    pub fn all_replied(&self) -> bool {
        self.failed.is_empty() && self.missing.is_empty()
    }
}

/// Which of a gateway's timers a deadline belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GatewayTimer {
    /// The oldest reservation lapses.
    ReservationExpiry,
    /// A replica creation is abandoned.
    CreationTimeout,
    /// A gossip completes with a partial result.
    GossipTimeout,
    /// An idle replica is retired.
    Retire,
}

impl GatewayTimer {
    /// The timer's name as a stable lower-case string.
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayTimer::ReservationExpiry => "reservation_expiry",
            GatewayTimer::CreationTimeout => "creation_timeout",
            GatewayTimer::GossipTimeout => "gossip_timeout",
            GatewayTimer::Retire => "retire",
        }
    }
}

/// One replica as the gateway sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaView {
    /// The replica's id.
    pub id: Arc<str>,
    /// Open connections.
    pub connections: u32,
    /// Reserved slots not yet turned into connections.
    pub reservations: u32,
}

impl ReplicaView {
    /// Slots taken: connections plus reservations (compared with `limit`).
    pub fn count(&self) -> u32 {
        self.connections + self.reservations
    }
}

/// One live reservation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReservationView {
    /// The request id it was routed for.
    pub request: Arc<str>,
    /// The replica holding the slot.
    pub replica: Arc<str>,
    /// When it lapses.
    pub expires_at: Timestamp,
}

/// Counters of a gateway's activity (kept across snapshots).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayStats {
    /// Accepted routes.
    pub routes: u64,
    /// Of those, routes to the replica the request id was already on.
    pub sticky_routes: u64,
    /// Of those, routes that waited for a replica creation.
    pub pending_routes: u64,
    /// Replica creations asked for.
    pub creation_requests: u64,
    /// Replicas created (answers to a pending creation).
    pub creations: u64,
    /// Late answers adopted as empty replicas (their creation had expired or failed).
    pub adopted: u64,
    /// Creations that failed or expired.
    pub creation_failures: u64,
    /// Introductions emitted.
    pub introductions: u64,
    /// Connections opened.
    pub connects: u64,
    /// Of those, connections that found no reservation.
    pub unreserved_connects: u64,
    /// Connections closed.
    pub closes: u64,
    /// Closes of connections already closed or never known (a counted no-op).
    pub duplicate_closes: u64,
    /// Reservations that lapsed unused.
    pub expirations: u64,
    /// Replicas retired.
    pub retirements: u64,
    /// Replica reports applied.
    pub reports: u64,
    /// Gossips started.
    pub gossips: u64,
    /// Gossips completed by their deadline with peers missing.
    pub gossip_timeouts: u64,
    /// Failed peer answers.
    pub gossip_failures: u64,
}
