//! A gateway's snapshot: everything, in a canonical order (replicas by creation order,
//! connections by id, request ids sorted), so equal states give equal bytes. Restoring
//! re-derives every count from the connections, reservations and pending creations and
//! rejects bytes whose parts disagree. Journal rows ([`rows`](super::rows)) are rebuilt
//! into the same form and go through the same checks.

use super::reservations::Reservation;
use super::sticky::{Holding, Sticky};
use super::{Creation, Gateway, GatewayConfig, GatewayOutput, GatewayStats, Gossip};
use crate::error::DecodeError;
use crate::snapshot::{self, Kind};
use crate::time::{Clock, Timestamp};
use ahash::AHashMap;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Serialize, Deserialize)]
pub(super) struct GatewayState {
    pub(super) group: Arc<str>,
    pub(super) clock: Clock,
    pub(super) next_order: u64,
    pub(super) next_reservation: u64,
    pub(super) next_creation: u64,
    pub(super) next_gossip: u64,
    /// In creation order.
    pub(super) replicas: Vec<ReplicaState>,
    pub(super) current: Option<Arc<str>>,
    /// `(request id, replicas holding it with the sticky one last)`, sorted by request id.
    pub(super) sticky: Vec<(Arc<str>, Vec<Arc<str>>)>,
    /// Sorted by id.
    pub(super) reservations: Vec<ReservationState>,
    /// Sorted by id.
    pub(super) creations: Vec<(u64, Creation)>,
    /// Sorted by id.
    pub(super) gossips: Vec<(u64, Gossip)>,
    pub(super) stats: GatewayStats,
}

#[derive(Serialize, Deserialize)]
pub(super) struct ReplicaState {
    pub(super) id: Arc<str>,
    pub(super) order: u64,
    pub(super) idle_since: Option<Timestamp>,
    /// `(connection id, request id)`, sorted by connection id.
    pub(super) connections: Vec<(Box<str>, Arc<str>)>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct ReservationState {
    pub(super) id: u64,
    pub(super) request: Arc<str>,
    pub(super) replica: Arc<str>,
    pub(super) expires_at: Timestamp,
}

fn corrupt(reason: &str) -> DecodeError {
    DecodeError::corrupt(format!("gateway snapshot: {reason}"))
}

impl Gateway {
    /// The whole state as versioned bytes: replicas and their connections, sticky entries,
    /// reservations, pending creations, gossips in flight, deadlines and counters.
    pub fn snapshot(&self) -> Vec<u8> {
        let id = |slot| self.replicas.get(slot).id.clone();
        let replicas = self
            .replicas
            .in_order()
            .map(|slot| {
                let r = self.replicas.get(slot);
                let mut connections: Vec<(Box<str>, Arc<str>)> = r.conns.iter().map(|(c, q)| (c.clone(), q.clone())).collect();
                connections.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                ReplicaState { id: r.id.clone(), order: r.order, idle_since: r.idle_since, connections }
            })
            .collect();
        let mut sticky: Vec<(Arc<str>, Vec<Arc<str>>)> =
            self.sticky.iter().map(|(k, s)| (k.clone(), s.holdings().iter().map(|h| id(h.replica)).collect())).collect();
        sticky.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let reservations = self
            .reservations
            .iter()
            .map(|(rid, r)| ReservationState { id: rid, request: r.req.clone(), replica: id(r.replica), expires_at: r.expires_at })
            .collect();
        snapshot::encode(
            Kind::GatewaySnapshot,
            &GatewayState {
                group: self.group.clone(),
                clock: self.clock,
                next_order: self.replicas.next_order,
                next_reservation: self.reservations.next_id,
                next_creation: self.next_creation,
                next_gossip: self.next_gossip,
                replicas,
                current: self.current.map(id),
                sticky,
                reservations,
                creations: self.creations.iter().map(|(k, c)| (*k, c.clone())).collect(),
                gossips: self.gossips.iter().map(|(k, g)| (*k, g.clone())).collect(),
                stats: self.stats,
            },
        )
    }

    /// Restores a gateway from [`snapshot`](Self::snapshot) bytes, deadlines included. Each
    /// pending creation's [`GatewayOutput::CreateReplica`] is offered again (the host may
    /// have stopped before acting on it; a second answer to one creation is refused as a
    /// duplicate replica or adopted late).
    ///
    /// A configuration with smaller bounds than the snapshot's tables is accepted: the
    /// tables keep what they hold and refuse new entries until they are below the bounds.
    pub fn restore(bytes: &[u8], config: GatewayConfig) -> Result<Gateway, DecodeError> {
        let s: GatewayState = snapshot::decode(Kind::GatewaySnapshot, bytes)?;
        Gateway::from_state(config, s)
    }

    /// A gateway from its state (a decoded snapshot, or rebuilt journal rows), validated.
    pub(super) fn from_state(config: GatewayConfig, s: GatewayState) -> Result<Gateway, DecodeError> {
        if s.group.is_empty() {
            return Err(corrupt("empty group"));
        }
        let mut g = Gateway::empty(config, s.group);
        g.clock = s.clock;
        // Replicas, in creation order, empty for now.
        let mut last_order = None;
        for r in &s.replicas {
            if r.id.is_empty() || g.replicas.slot(&r.id).is_some() || last_order.is_some_and(|o| o >= r.order) || r.order >= s.next_order {
                return Err(corrupt("invalid replicas"));
            }
            last_order = Some(r.order);
            g.replicas.add(r.id.clone(), Some(r.order), Timestamp::ZERO);
        }
        g.replicas.next_order = s.next_order;
        let slot_of = |g: &Gateway, id: &str| g.replicas.slot(id).ok_or_else(|| corrupt("unknown replica"));
        // Sticky entries with their holdings in order, counts zero for now.
        for (i, (req, holders)) in s.sticky.iter().enumerate() {
            if req.is_empty() || (i > 0 && s.sticky[i - 1].0 >= *req) {
                return Err(corrupt("request ids not sorted"));
            }
            let mut entry = Sticky::default();
            for h in holders {
                let replica = slot_of(&g, h)?;
                if entry.holdings().iter().any(|x| x.replica == replica) {
                    return Err(corrupt("a replica holds a request id twice"));
                }
                entry.push(Holding { replica, conns: 0, reserved: 0 });
            }
            g.sticky.insert(req.clone(), entry);
        }
        // Connections, counted into their holdings.
        let mut idle = Vec::with_capacity(s.replicas.len());
        for r in s.replicas {
            let slot = slot_of(&g, &r.id)?;
            let mut conns: AHashMap<Box<str>, Arc<str>> = AHashMap::with_capacity(r.connections.len());
            for (i, (c, req)) in r.connections.iter().enumerate() {
                if c.is_empty() || (i > 0 && r.connections[i - 1].0 >= *c) {
                    return Err(corrupt("connection ids not sorted"));
                }
                let key = shared(&g, req)?;
                holding(&mut g, &key, slot)?.conns += 1;
                conns.insert(c.clone(), key);
            }
            g.replicas.change(slot, Timestamp::ZERO, |x| x.conns = conns);
            idle.push((slot, r.idle_since));
        }
        // Reservations.
        for (i, r) in s.reservations.iter().enumerate() {
            if r.id >= s.next_reservation || (i > 0 && s.reservations[i - 1].id >= r.id) {
                return Err(corrupt("invalid reservation ids"));
            }
            let slot = slot_of(&g, &r.replica)?;
            let key = shared(&g, &r.request)?;
            holding(&mut g, &key, slot)?.reserved += 1;
            g.replicas.change(slot, Timestamp::ZERO, |x| x.reserved += 1);
            g.reservations.add(Some(r.id), Reservation { req: key, replica: slot, expires_at: r.expires_at });
        }
        g.reservations.next_id = s.next_reservation;
        // Idle times, which must agree with the counts.
        for (slot, since) in idle {
            if (g.replicas.get(slot).count() == 0) != since.is_some() {
                return Err(corrupt("idle time disagrees with the count"));
            }
            g.replicas.set_idle_since(slot, since);
        }
        // Pending creations.
        for (id, mut c) in s.creations {
            if id >= s.next_creation || g.creations.last_key_value().is_some_and(|(last, _)| *last >= id) || c.waiters.is_empty() {
                return Err(corrupt("invalid creations"));
            }
            for w in &mut c.waiters {
                *w = shared(&g, w)?;
                if let Some(e) = g.sticky.get_mut(&**w) {
                    e.waiting += 1;
                }
                g.waiting += 1;
            }
            g.outputs.push_back(GatewayOutput::CreateReplica { creation: super::CreationId(id) });
            g.creations.insert(id, c);
        }
        g.next_creation = s.next_creation;
        // Every sticky entry holds something, and every holding is non-empty.
        if g.sticky.values().any(|e| e.is_empty() || e.holdings().iter().any(|h| h.conns == 0 && h.reserved == 0)) {
            return Err(corrupt("an empty sticky entry"));
        }
        // Gossips.
        for (id, gossip) in s.gossips {
            if id >= s.next_gossip || g.gossips.last_key_value().is_some_and(|(last, _)| *last >= id) || gossip.peers.is_empty() {
                return Err(corrupt("invalid gossips"));
            }
            g.gossips.insert(id, gossip);
        }
        g.next_gossip = s.next_gossip;
        g.current = match s.current {
            Some(id) => Some(slot_of(&g, &id)?),
            None => None,
        };
        g.stats = s.stats;
        g.journal.last_meta = Some(g.meta());
        Ok(g)
    }
}

/// `req`'s holding on `slot`, which the snapshot must have listed.
fn holding<'g>(g: &'g mut Gateway, req: &Arc<str>, slot: super::Slot) -> Result<&'g mut Holding, DecodeError> {
    g.sticky
        .get_mut(req)
        .and_then(|e| e.holdings_mut().iter_mut().find(|h| h.replica == slot))
        .ok_or_else(|| corrupt("a connection or reservation on a replica its request id does not list"))
}

/// The sticky table's shared copy of a request id the snapshot must have listed.
fn shared(g: &Gateway, req: &str) -> Result<Arc<str>, DecodeError> {
    g.sticky.get_key_value(req).map(|(k, _)| k.clone()).ok_or_else(|| corrupt("a request id missing from the sticky entries"))
}
