//! SPEC §1.8 "cost follows the change" for the gateway: routing, connecting and closing one
//! client writes the same few journal rows (and bytes within 2× of each other) whether the
//! gateway holds 10 request ids or 100 000.

#![allow(clippy::unwrap_used)]

use shardtally::journal::GatewayRow;
use shardtally::*;

const G: &str = "g";

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// Rows and encoded bytes of a take.
fn cost(rows: &[GatewayRow]) -> (usize, usize) {
    (rows.len(), rows.iter().map(|r| r.op().key.len() + r.encode().len()).sum())
}

/// Routes and connects request id `req` as connection `conn`, creating a replica when the
/// gateway asks for one.
fn join(gw: &mut Gateway, req: &str, conn: &str, now: Timestamp) {
    let replica = match gw.route(req, now).unwrap() {
        Route::Replica { replica, .. } => replica,
        Route::Pending { creation } => {
            while gw.poll_output().is_some() {}
            let id = format!("replica-{:04}", creation.raw());
            gw.handle_replica_created(creation, &id, now).unwrap().replica
        }
    };
    assert_eq!(gw.handle_connect(G, &replica, conn, req, now).unwrap(), ConnectOutcome::Reserved);
    while gw.poll_output().is_some() {}
}

/// `(route, connect, close)` costs of one more client on a gateway holding `n` clients.
fn client_cost(n: usize) -> [(usize, usize); 3] {
    let config = GatewayConfig::builder().limit(1_024).max_replicas(200).build().unwrap();
    let mut gw = Gateway::new(config, G).unwrap();
    for i in 0..n {
        join(&mut gw, &format!("request-{i:06}"), &format!("socket-{i:06}"), t(1));
    }
    assert_eq!(gw.request_ids(), n);
    gw.take_changes();
    let Route::Replica { replica, .. } = gw.route("request-new", t(2)).unwrap() else { panic!("the last replica has room") };
    let route = cost(&gw.take_changes());
    gw.handle_connect(G, &replica, "socket-new", "request-new", t(3)).unwrap();
    let connect = cost(&gw.take_changes());
    assert!(gw.handle_close(G, &replica, "socket-new", t(4)).unwrap());
    let close = cost(&gw.take_changes());
    [route, connect, close]
}

#[test]
fn a_client_costs_the_same_rows_at_ten_and_a_hundred_thousand_request_ids() {
    let small = client_cost(10);
    let large = client_cost(100_000);
    for (what, (s, l)) in ["route", "connect", "close"].iter().zip(small.iter().zip(large.iter())) {
        eprintln!("{what}: {} rows / {} bytes at 10 request ids, {} rows / {} bytes at 100 000", s.0, s.1, l.0, l.1);
        assert!(l.0 <= 4 && s.0 <= 4, "{what}: O(1) rows ({} and {})", s.0, l.0);
        assert!(l.1 <= 2 * s.1 && s.1 <= 2 * l.1, "{what}: bytes within 2x ({} and {})", s.1, l.1);
        assert!(l.1 < 1_000, "{what}: {} bytes", l.1);
    }
}
