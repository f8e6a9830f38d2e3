//! The gateway's outputs, outcomes, message plans and views.

use super::strings;
use crate::value::{Record, Value};
use shardtally::{
    Audience, ConnectOutcome, CreationId, Delivery, GatewayOutput, GatewayStats, GossipPlan, GossipResult, Placement, ReplicaView,
    ReservationView, Route,
};
use std::sync::Arc;

/// What `route` decided (`Route`, tag `replica` or `pending`).
pub fn route(r: &Route) -> Record {
    match r {
        Route::Replica { replica, reason, expires_at } => Record::new("Route", Some("replica"))
            .with("replica", replica.clone())
            .with("reason", reason.as_str())
            .with("expires_at", expires_at.as_millis()),
        Route::Pending { creation } => Record::new("Route", Some("pending")).with("creation", creation.raw()),
    }
}

/// A creation's outcome (`Placement`): the new replica and the requests reserved on it.
pub fn placement(p: &Placement) -> Record {
    Record::new("Placement", None)
        .with("creation", p.creation.raw())
        .with("replica", p.replica.clone())
        .with("requests", strings(&p.requests))
}

/// What `handle_connect` did (`ConnectOutcome`, tag `reserved`, `unreserved` or
/// `already_open`).
pub fn connect_outcome(o: ConnectOutcome) -> Record {
    let tag = match o {
        ConnectOutcome::Reserved => "reserved",
        ConnectOutcome::Unreserved => "unreserved",
        ConnectOutcome::AlreadyOpen => "already_open",
    };
    Record::new("ConnectOutcome", Some(tag))
}

/// Who receives a message on one replica (`Audience`, tag `all`, `all_except` with
/// `connection`, or `request` with `request`).
pub fn audience(a: &Audience) -> Record {
    match a {
        Audience::All => Record::new("Audience", Some("all")),
        Audience::AllExcept(connection) => Record::new("Audience", Some("all_except")).with("connection", connection.clone()),
        Audience::Request(request) => Record::new("Audience", Some("request")).with("request", request.clone()),
    }
}

/// A message plan of `emit`, `broadcast` or `whisper`: `[Delivery {replica, audience}]`.
pub fn deliveries(plan: &[Delivery]) -> Value {
    Value::List(
        plan.iter()
            .map(|d| {
                Value::Record(Record::new("Delivery", None).with("replica", d.replica.clone()).with("audience", audience(&d.audience)))
            })
            .collect(),
    )
}

/// The peers a gossip asks (`GossipPlan`).
pub fn gossip_plan(p: &GossipPlan) -> Record {
    Record::new("GossipPlan", None).with("gossip", p.gossip.raw()).with("peers", strings(&p.peers)).with("deadline", p.deadline.as_millis())
}

fn gossip_done(g: &GossipResult) -> Record {
    let replies = g
        .replies
        .iter()
        .map(|(peer, payload)| Value::Record(Record::new("GossipReply", None).with("peer", peer.clone()).with("payload", payload.clone())))
        .collect();
    Record::new("GossipDoneOutput", Some("gossip_done"))
        .with("gossip", g.gossip.raw())
        .with("origin", g.origin.clone())
        .with("replies", Value::List(replies))
        .with("failed", strings(&g.failed))
        .with("missing", strings(&g.missing))
}

/// A gateway output: `CreateReplicaOutput` (`create_replica`), `IntroduceOutput`
/// (`introduce`), `CreationExpiredOutput` (`creation_expired`), `RetireOutput` (`retire`),
/// `GossipDoneOutput` (`gossip_done`).
pub fn gateway_output(o: &GatewayOutput) -> Record {
    match o {
        GatewayOutput::CreateReplica { creation } => {
            Record::new("CreateReplicaOutput", Some("create_replica")).with("creation", creation.raw())
        }
        GatewayOutput::Introduce { replica, peers } => {
            Record::new("IntroduceOutput", Some("introduce")).with("replica", replica.clone()).with("peers", strings(peers))
        }
        GatewayOutput::CreationExpired { creation, requests } => Record::new("CreationExpiredOutput", Some("creation_expired"))
            .with("creation", creation.raw())
            .with("requests", strings(requests)),
        GatewayOutput::Retire { replica } => Record::new("RetireOutput", Some("retire")).with("replica", replica.clone()),
        GatewayOutput::GossipDone(g) => gossip_done(g),
        // `GatewayOutput` is non-exhaustive; every kind it has today is listed above.
        _ => Record::new("GatewayOutput", None),
    }
}

/// One replica as the gateway sees it (`ReplicaView`).
pub fn replica_view(r: &ReplicaView) -> Record {
    Record::new("ReplicaView", None).with("id", r.id.clone()).with("connections", r.connections).with("reservations", r.reservations)
}

/// Every replica, in creation order.
pub fn replica_views(all: &[ReplicaView]) -> Value {
    Value::List(all.iter().map(|r| Value::Record(replica_view(r))).collect())
}

/// Live reservations, oldest first: `[ReservationView {request, replica, expires_at}]`.
pub fn reservation_views(all: &[ReservationView]) -> Value {
    Value::List(
        all.iter()
            .map(|r| {
                Value::Record(
                    Record::new("ReservationView", None)
                        .with("request", r.request.clone())
                        .with("replica", r.replica.clone())
                        .with("expires_at", r.expires_at.as_millis()),
                )
            })
            .collect(),
    )
}

/// A replica's open connections: `[Connection {connection, request}]`.
pub fn connections(all: &[(&str, &str)]) -> Value {
    Value::List(
        all.iter().map(|(c, r)| Value::Record(Record::new("Connection", None).with("connection", *c).with("request", *r))).collect(),
    )
}

/// Creations waiting for the host: `[PendingCreation {creation, requests}]`.
pub fn pending_creations(all: &[(CreationId, Vec<Arc<str>>)]) -> Value {
    Value::List(
        all.iter()
            .map(|(c, requests)| {
                Value::Record(Record::new("PendingCreation", None).with("creation", c.raw()).with("requests", strings(requests)))
            })
            .collect(),
    )
}

/// A gateway's activity counters.
pub fn gateway_stats(s: GatewayStats) -> Record {
    Record::new("GatewayStats", None)
        .with("routes", s.routes)
        .with("sticky_routes", s.sticky_routes)
        .with("pending_routes", s.pending_routes)
        .with("creation_requests", s.creation_requests)
        .with("creations", s.creations)
        .with("adopted", s.adopted)
        .with("creation_failures", s.creation_failures)
        .with("introductions", s.introductions)
        .with("connects", s.connects)
        .with("unreserved_connects", s.unreserved_connects)
        .with("closes", s.closes)
        .with("duplicate_closes", s.duplicate_closes)
        .with("expirations", s.expirations)
        .with("retirements", s.retirements)
        .with("reports", s.reports)
        .with("gossips", s.gossips)
        .with("gossip_timeouts", s.gossip_timeouts)
        .with("gossip_failures", s.gossip_failures)
}
