//! Properties of the gateway over random traces of routes, creation answers and failures,
//! connects, closes (single and duplicate), restarts (snapshot + restore), rebuilds from
//! replica reports, clock jumps (forwards and backwards), expiries and gossip:
//!
//! - every replica's count is its live connections (as the replicas know them) plus its
//!   live reservations, and never negative;
//! - every replica a route offers was below the limit at that moment;
//! - the sticky table holds exactly the request ids with a connection, a reservation or a
//!   pending creation;
//! - a whisper plan names at most one replica, one that holds a connection of the target;
//! - a gossip result lists exactly the peers asked, each once, in peer order;
//! - `take_state_changed()` is true exactly when the snapshot changed;
//! - the change journal: applying every take's `RowOp`s to a `(table, key) → value` store
//!   and rebuilding from the stored pairs gives the live snapshot after every step; a take
//!   is empty exactly when the snapshot did not change and names each row at most once;
//!   a restart rebuilds from the store (`from_rows`) as `restore` does from the snapshot;
//! - snapshots round-trip, and the same trace twice gives identical outputs and bytes.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use proptest::strategy::Strategy;
use proptest::test_runner::TestCaseError;
use shardtally::journal::{GatewayRow, RowStore};
use shardtally::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const G: &str = "g";
const LIMIT: u32 = 3;

#[derive(Clone, Debug)]
enum Op {
    Route(u8),
    RouteBackwards(u8, u16),
    Answer(u8),
    LateAnswer(u8),
    FailCreation(u8),
    ConnectRouted(u8),
    ConnectAny(u8, u8),
    Close(u8),
    ErrorThenClose(u8),
    CloseUnknown(u8),
    Restart,
    Rebuild,
    Report(u8),
    Jump(u16),
    Timeout,
    Gossip(u8),
    GossipReply(u8, u8),
    GossipFail(u8, u8),
    Whisper(u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..10).prop_map(Op::Route),
        1 => (0u8..10, 0u16..2_000).prop_map(|(r, b)| Op::RouteBackwards(r, b)),
        3 => any::<u8>().prop_map(Op::Answer),
        1 => any::<u8>().prop_map(Op::LateAnswer),
        1 => any::<u8>().prop_map(Op::FailCreation),
        5 => any::<u8>().prop_map(Op::ConnectRouted),
        1 => (any::<u8>(), 0u8..10).prop_map(|(r, q)| Op::ConnectAny(r, q)),
        3 => any::<u8>().prop_map(Op::Close),
        2 => any::<u8>().prop_map(Op::ErrorThenClose),
        1 => any::<u8>().prop_map(Op::CloseUnknown),
        1 => Just(Op::Restart),
        1 => Just(Op::Rebuild),
        1 => any::<u8>().prop_map(Op::Report),
        2 => (0u16..3_000).prop_map(Op::Jump),
        2 => Just(Op::Timeout),
        1 => any::<u8>().prop_map(Op::Gossip),
        2 => (any::<u8>(), any::<u8>()).prop_map(|(g, p)| Op::GossipReply(g, p)),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(g, p)| Op::GossipFail(g, p)),
        1 => (any::<u8>(), 0u8..10).prop_map(|(c, q)| Op::Whisper(c, q)),
    ]
}

fn config() -> GatewayConfig {
    GatewayConfig::builder()
        .limit(LIMIT)
        .reservation_ttl_ms(1_500)
        .creation_timeout_ms(2_500)
        .retire_after_idle_ms(4_000)
        .gossip_timeout_ms(1_000)
        .max_replicas(6)
        .build()
        .unwrap()
}

fn pick<T: Clone>(v: &[T], i: u8) -> Option<T> {
    (!v.is_empty()).then(|| v[i as usize % v.len()].clone())
}

/// The host's side: which connections are really open, and what it asked for.
struct Host {
    gw: Gateway,
    now: u64,
    /// `(replica, connection) → request id`: the truth the replicas would report.
    conns: BTreeMap<(String, String), String>,
    next_replica: u32,
    next_conn: u32,
    /// Creations asked for, by the current gateway.
    asked: BTreeSet<CreationId>,
    /// Gossips in flight: id → the peers asked.
    gossips: BTreeMap<u64, Vec<Arc<str>>>,
    log: Vec<String>,
    /// The host's row store: every take of the gateway's journal applied in order.
    store: RowStore,
}

impl Host {
    fn replica_ids(&self) -> Vec<String> {
        self.gw.replicas().iter().map(|r| r.id.to_string()).collect()
    }

    fn open(&self) -> Vec<(String, String)> {
        self.conns.keys().cloned().collect()
    }

    fn fresh_conn(&mut self) -> String {
        self.next_conn += 1;
        format!("s{}", self.next_conn)
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let now = Timestamp::from_millis(self.now);
        match op {
            Op::Route(q) => self.route(&format!("q{q}"), now)?,
            Op::RouteBackwards(q, back) => {
                self.route(&format!("q{q}"), Timestamp::from_millis(self.now.saturating_sub(u64::from(*back))))?
            }
            Op::Answer(i) => {
                if let Some((creation, waiters)) = pick(&self.gw.pending_creations(), *i) {
                    self.next_replica += 1;
                    let id = format!("R{}", self.next_replica);
                    let placed = self.gw.handle_replica_created(creation, &id, now).unwrap();
                    prop_assert_eq!(&placed.requests, &waiters);
                    self.log.push(format!("created {id}: {placed:?}"));
                }
            }
            Op::LateAnswer(i) => {
                // The host answers a creation the gateway already gave up on.
                let pending: BTreeSet<CreationId> = self.gw.pending_creations().into_iter().map(|(c, _)| c).collect();
                let late: Vec<CreationId> = self.asked.difference(&pending).copied().collect();
                if let Some(creation) = pick(&late, *i) {
                    self.next_replica += 1;
                    let id = format!("R{}", self.next_replica);
                    match self.gw.handle_replica_created(creation, &id, now) {
                        Ok(placed) => prop_assert!(placed.requests.is_empty()),
                        Err(e) => prop_assert_eq!(e, Error::TableFull { table: "replicas", limit: 6 }),
                    }
                }
            }
            Op::FailCreation(i) => {
                if let Some((creation, waiters)) = pick(&self.gw.pending_creations(), *i) {
                    prop_assert_eq!(self.gw.handle_creation_failed(creation, now), Some(waiters));
                }
            }
            Op::ConnectRouted(i) => {
                if let Some(r) = pick(&self.gw.reservations(), *i) {
                    let conn = self.fresh_conn();
                    let outcome = self.gw.handle_connect(G, &r.replica, &conn, &r.request, now).unwrap();
                    prop_assert_eq!(outcome, ConnectOutcome::Reserved);
                    self.conns.insert((r.replica.to_string(), conn), r.request.to_string());
                }
            }
            Op::ConnectAny(i, q) => {
                if let Some(replica) = pick(&self.replica_ids(), *i) {
                    let conn = self.fresh_conn();
                    let req = format!("q{q}");
                    let before = self.gw.replica(&replica).unwrap().count();
                    match self.gw.handle_connect(G, &replica, &conn, &req, now) {
                        Ok(o) => {
                            prop_assert!(o != ConnectOutcome::Unreserved || before < LIMIT);
                            self.conns.insert((replica, conn), req);
                        }
                        Err(e) => prop_assert_eq!(e, Error::ReplicaFull { replica, limit: LIMIT }),
                    }
                }
            }
            Op::Close(i) => {
                if let Some((replica, conn)) = pick(&self.open(), *i) {
                    prop_assert!(self.gw.handle_close(G, &replica, &conn, now).unwrap());
                    self.conns.remove(&(replica, conn));
                }
            }
            Op::ErrorThenClose(i) => {
                if let Some((replica, conn)) = pick(&self.open(), *i) {
                    let before = self.gw.replica(&replica).unwrap().count();
                    prop_assert!(self.gw.handle_close(G, &replica, &conn, now).unwrap());
                    prop_assert!(!self.gw.handle_close(G, &replica, &conn, now).unwrap());
                    prop_assert_eq!(self.gw.replica(&replica).unwrap().count(), before - 1);
                    self.conns.remove(&(replica, conn));
                }
            }
            Op::CloseUnknown(i) => {
                if let Some(replica) = pick(&self.replica_ids(), *i) {
                    prop_assert!(!self.gw.handle_close(G, &replica, "never", now).unwrap());
                }
            }
            Op::Restart => {
                // From the snapshot, and from the rows stored so far: the same gateway.
                let bytes = self.gw.snapshot();
                let restored = Gateway::restore(&bytes, config()).unwrap();
                prop_assert_eq!(restored.snapshot(), bytes.clone());
                let rebuilt = Gateway::from_rows(self.store.gateway_rows().unwrap(), config()).unwrap();
                prop_assert_eq!(rebuilt.snapshot(), bytes);
                prop_assert_eq!(rebuilt.next_deadline(), restored.next_deadline());
                self.gw = if self.now % 2 == 0 { restored } else { rebuilt };
                self.drain()?; // re-offered creation requests
            }
            Op::Rebuild => {
                // The gateway restarts empty (and so does its store); every replica reports
                // what it really holds.
                let replicas = self.replica_ids();
                self.gw = Gateway::new(config(), G).unwrap();
                self.store = RowStore::new();
                self.gossips.clear();
                self.asked.clear();
                for r in replicas {
                    self.report(&r, now)?;
                }
            }
            Op::Report(i) => {
                if let Some(replica) = pick(&self.replica_ids(), *i) {
                    self.report(&replica, now)?;
                }
            }
            Op::Jump(ms) => {
                self.now += u64::from(*ms);
                self.timeout(Timestamp::from_millis(self.now))?;
            }
            Op::Timeout => {
                if let Some(at) = self.gw.poll_timeout() {
                    self.now = self.now.max(at.as_millis());
                    self.timeout(at)?;
                }
            }
            Op::Gossip(i) => {
                if let Some(replica) = pick(&self.replica_ids(), *i) {
                    if let Ok(plan) = self.gw.gossip(G, &replica, now) {
                        prop_assert!(!plan.peers.iter().any(|p| **p == *replica));
                        self.gossips.insert(plan.gossip.raw(), plan.peers.clone());
                        self.log.push(format!("gossip {plan:?}"));
                    }
                }
            }
            Op::GossipReply(g, p) | Op::GossipFail(g, p) => {
                let ids: Vec<u64> = self.gossips.keys().copied().collect();
                if let Some(id) = pick(&ids, *g) {
                    if let Some(peer) = pick(&self.gossips[&id], *p) {
                        let gossip = GossipId::from_raw(id);
                        let r = match op {
                            Op::GossipReply(..) => self.gw.handle_gossip_reply(G, gossip, &peer, peer.as_bytes(), now),
                            _ => self.gw.handle_gossip_failure(G, gossip, &peer, now),
                        };
                        self.log.push(format!("answer {id} {peer}: {r:?}"));
                    }
                }
            }
            Op::Whisper(c, q) => {
                if let Some((replica, conn)) = pick(&self.open(), *c) {
                    let target = format!("q{q}");
                    let plan = self.gw.whisper(G, &replica, &conn, &target).unwrap();
                    prop_assert!(plan.len() <= 1, "whisper to {} planned {:?}", target, plan);
                    if let Some(d) = plan.first() {
                        prop_assert!(self.conns[&(replica.clone(), conn.clone())] != target, "whisper to self");
                        let holds = self.conns.iter().any(|((r, _), q)| **r == *d.replica && *q == target);
                        prop_assert!(holds, "{} does not hold {}", d.replica, target);
                    }
                }
            }
        }
        self.drain()
    }

    fn route(&mut self, req: &str, now: Timestamp) -> Result<(), TestCaseError> {
        let before: BTreeMap<String, u32> = self.gw.replicas().iter().map(|r| (r.id.to_string(), r.count())).collect();
        let r = self.gw.route(req, now);
        if let Ok(Route::Replica { replica, .. }) = &r {
            prop_assert!(before[&**replica] < LIMIT, "{} offered at {}/{}", replica, before[&**replica], LIMIT);
        }
        self.log.push(format!("route {req}: {r:?}"));
        Ok(())
    }

    fn report(&mut self, replica: &str, now: Timestamp) -> Result<(), TestCaseError> {
        let listed: Vec<(String, String)> =
            self.conns.iter().filter(|((r, _), _)| r == replica).map(|((_, c), q)| (c.clone(), q.clone())).collect();
        self.gw.handle_report(G, replica, &listed, now).unwrap();
        prop_assert_eq!(self.gw.connections(replica).unwrap(), listed.iter().map(|(c, q)| (c.as_str(), q.as_str())).collect::<Vec<_>>());
        Ok(())
    }

    fn timeout(&mut self, at: Timestamp) -> Result<(), TestCaseError> {
        self.gw.handle_timeout(at);
        let clock = at.max(Timestamp::from_millis(self.now));
        for r in self.gw.reservations() {
            prop_assert!(r.expires_at > clock, "reservation {:?} outlived {}", r, clock);
        }
        Ok(())
    }

    fn drain(&mut self) -> Result<(), TestCaseError> {
        while let Some(out) = self.gw.poll_output() {
            match &out {
                GatewayOutput::CreateReplica { creation } => {
                    self.asked.insert(*creation);
                }
                GatewayOutput::Retire { replica } => {
                    prop_assert!(!self.conns.keys().any(|(r, _)| **r == **replica), "retired {} with connections", replica);
                }
                GatewayOutput::GossipDone(result) => {
                    let asked = self.gossips.remove(&result.gossip.raw());
                    if let Some(asked) = asked {
                        let mut answered: Vec<Arc<str>> = result.replies.iter().map(|(p, _)| p.clone()).collect();
                        answered.extend(result.failed.iter().cloned());
                        answered.extend(result.missing.iter().cloned());
                        let order = |p: &Arc<str>| asked.iter().position(|a| a == p);
                        answered.sort_by_key(order);
                        prop_assert_eq!(&answered, &asked);
                        for list in [
                            result.replies.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(),
                            result.failed.clone(),
                            result.missing.clone(),
                        ] {
                            let positions: Vec<Option<usize>> = list.iter().map(order).collect();
                            prop_assert!(positions.windows(2).all(|w| w[0] < w[1]), "not in peer order: {:?}", list);
                        }
                    }
                }
                _ => {}
            }
            self.log.push(format!("{out:?}"));
        }
        Ok(())
    }

    /// The invariants that hold after every step.
    fn check(&self) -> Result<(), TestCaseError> {
        let reservations = self.gw.reservations();
        let mut requests: BTreeSet<String> = BTreeSet::new();
        for view in self.gw.replicas() {
            let live: Vec<(String, String)> =
                self.conns.iter().filter(|((r, _), _)| **r == *view.id).map(|((_, c), q)| (c.clone(), q.clone())).collect();
            let known: Vec<(String, String)> =
                self.gw.connections(&view.id).unwrap().into_iter().map(|(c, q)| (c.to_owned(), q.to_owned())).collect();
            prop_assert_eq!(&known, &live, "connections of {}", view.id);
            let reserved = reservations.iter().filter(|r| r.replica == view.id).count() as u32;
            prop_assert_eq!(view.connections, live.len() as u32);
            prop_assert_eq!(view.reservations, reserved);
            prop_assert_eq!(view.count(), view.connections + view.reservations);
        }
        // Connections the host holds on replicas the gateway no longer knows would be lost.
        let known: BTreeSet<String> = self.replica_ids().into_iter().collect();
        prop_assert!(self.conns.keys().all(|(r, _)| known.contains(r)));
        requests.extend(self.conns.values().cloned());
        requests.extend(reservations.iter().map(|r| r.request.to_string()));
        for (_, waiters) in self.gw.pending_creations() {
            requests.extend(waiters.iter().map(|w| w.to_string()));
        }
        prop_assert_eq!(self.gw.request_ids(), requests.len());
        for q in &requests {
            let holds = self.conns.iter().any(|(_, x)| x == q) || reservations.iter().any(|r| *r.request == **q);
            prop_assert_eq!(self.gw.sticky(q).is_some(), holds, "sticky entry of {}", q);
        }
        Ok(())
    }
}

/// Takes the journal into the host's store and checks it against the live gateway.
fn journal(h: &mut Host, op: &Op, changed: bool) -> Result<(), TestCaseError> {
    let rows = h.gw.take_changes();
    match op {
        // A restored or rebuilt gateway starts with an empty journal: the store holds it.
        Op::Restart => prop_assert!(rows.is_empty(), "journal after a restart: {:?}", rows),
        Op::Rebuild => {
            prop_assert!(matches!(rows.first(), Some(GatewayRow::Meta(_))), "a new gateway's first take starts with its meta row")
        }
        _ => prop_assert_eq!(rows.is_empty(), !changed, "journal after {:?}: {:?}", op, rows),
    }
    let ops: Vec<_> = rows.iter().map(GatewayRow::op).collect();
    let named: BTreeSet<(&str, &[u8])> = ops.iter().map(|o| (o.table, o.key.as_slice())).collect();
    prop_assert_eq!(named.len(), ops.len(), "a row named twice in one take: {:?}", rows);
    h.store.apply_gateway(&rows);
    let rebuilt = Gateway::from_rows(h.store.gateway_rows().unwrap(), config()).unwrap();
    prop_assert_eq!(rebuilt.snapshot(), h.gw.snapshot(), "rebuilt from the store after {:?}", op);
    prop_assert!(h.gw.take_changes().is_empty(), "a second take is empty");
    let mut all = RowStore::new();
    all.apply_gateway(&h.gw.rows());
    prop_assert_eq!(all.pairs().collect::<Vec<_>>(), h.store.pairs().collect::<Vec<_>>(), "rows() is what the store holds");
    Ok(())
}

/// Runs a trace, checking the invariants at every step; returns the log and final bytes.
fn run(ops: &[Op]) -> Result<(Vec<String>, Vec<u8>), TestCaseError> {
    let mut h = Host {
        gw: Gateway::new(config(), G).unwrap(),
        now: 0,
        conns: BTreeMap::new(),
        next_replica: 0,
        next_conn: 0,
        asked: BTreeSet::new(),
        gossips: BTreeMap::new(),
        log: Vec::new(),
        store: RowStore::new(),
    };
    h.store.apply_gateway(&h.gw.take_changes());
    for op in ops {
        let before = h.gw.snapshot();
        let _ = h.gw.take_state_changed();
        let replaces = matches!(op, Op::Restart | Op::Rebuild);
        h.step(op)?;
        let after = h.gw.snapshot();
        let changed = h.gw.take_state_changed();
        if !replaces {
            prop_assert_eq!(changed, before != after, "take_state_changed after {:?}", op);
        }
        journal(&mut h, op, before != after)?;
        h.check()?;
    }
    let bytes = h.gw.snapshot();
    let restored = Gateway::restore(&bytes, config()).unwrap();
    prop_assert_eq!(restored.snapshot(), bytes.clone());
    prop_assert_eq!(restored.replicas(), h.gw.replicas());
    prop_assert_eq!(restored.next_deadline(), h.gw.next_deadline());
    Ok((h.log, bytes))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn gateway_invariants_hold_over_random_traces(ops in proptest::collection::vec(op(), 0..120)) {
        let first = run(&ops)?;
        let second = run(&ops)?;
        prop_assert_eq!(first, second, "the same trace gave different outputs or bytes");
    }
}
