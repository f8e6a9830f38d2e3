//! Helpers shared by the gateway scenario tests.

#![allow(dead_code, clippy::unwrap_used)]

use shardtally::*;
use std::sync::Arc;

/// The group every test gateway routes for.
pub const G: &str = "g";

/// A timestamp in ms.
pub fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// A gateway of group [`G`] with this limit and default settings otherwise.
pub fn gateway(limit: u32) -> Gateway {
    with(GatewayConfig::builder().limit(limit))
}

/// A gateway of group [`G`] with these settings.
pub fn with(config: GatewayConfigBuilder) -> Gateway {
    Gateway::new(config.build().unwrap(), G).unwrap()
}

/// Every output since the last call.
pub fn outputs(gw: &mut Gateway) -> Vec<GatewayOutput> {
    std::iter::from_fn(|| gw.poll_output()).collect()
}

/// Shared strings, for comparing with outputs.
pub fn ids(v: &[&str]) -> Vec<Arc<str>> {
    v.iter().map(|s| Arc::from(*s)).collect()
}

/// Routes `req`, which must land on an existing replica, and connects it as `conn`.
pub fn join(gw: &mut Gateway, req: &str, conn: &str, now: u64) -> Arc<str> {
    let Route::Replica { replica, .. } = gw.route(req, t(now)).unwrap() else { panic!("{req} should join an existing replica") };
    assert_eq!(gw.handle_connect(G, &replica, conn, req, t(now)).unwrap(), ConnectOutcome::Reserved);
    replica
}

/// Routes `req`, which must ask for a new replica; the host creates `replica`, the client
/// connects as `conn`. Returns the outputs after the creation (introductions).
pub fn create(gw: &mut Gateway, req: &str, replica: &str, conn: &str, now: u64) -> Vec<GatewayOutput> {
    let Route::Pending { creation } = gw.route(req, t(now)).unwrap() else { panic!("{req} should wait for a new replica") };
    assert_eq!(outputs(gw), vec![GatewayOutput::CreateReplica { creation }]);
    let placed = gw.handle_replica_created(creation, replica, t(now)).unwrap();
    assert_eq!(placed.requests, ids(&[req]));
    gw.handle_connect(G, replica, conn, req, t(now)).unwrap();
    outputs(gw)
}

/// Connections plus reservations of a replica.
pub fn count(gw: &Gateway, replica: &str) -> u32 {
    gw.replica(replica).unwrap().count()
}

/// Applies `f`, which must fail with `err`, and checks that nothing changed.
pub fn rejected<T: std::fmt::Debug>(gw: &mut Gateway, err: Error, f: impl FnOnce(&mut Gateway) -> Result<T, Error>) {
    let before = gw.snapshot();
    let _ = gw.take_state_changed();
    assert_eq!(f(gw).unwrap_err(), err);
    assert_eq!(gw.snapshot(), before, "a rejected input changed the state");
    assert!(!gw.take_state_changed());
    assert_eq!(gw.poll_output(), None);
}
