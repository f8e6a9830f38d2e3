//! Gateway benchmarks, against an ahash `HashMap<String, u32>` baseline in the same run.
//!
//! A gateway of 10 000 replicas (limit 128) holds 1 000 000 request ids, each with one open
//! connection, rebuilt from replica reports. Measured:
//!
//! - `gateway_route/sticky`: `Gateway::route` of a request id it already holds (a sticky
//!   route: hash lookups, a reservation with its expiry, the replica re-indexed), against
//!   `hashmap/get` of an existing key;
//! - `gateway_route/new_id`: `route` of an id it has never seen (the replica being filled or
//!   the least loaded), against `hashmap/insert` of a new `String` key.
//!
//! Reservations made while measuring are expired between timed chunks (not timed), so the
//! gateway stays at its size. A counting global allocator gives the bytes allocated per
//! sticky entry (with its connection) and per baseline map entry; it wraps both sides, so
//! it adds the same small cost to each.
//!
//! `cargo bench -p shardtally-benches --bench gateway` prints the table at the end; test
//! mode (`cargo test -p shardtally-benches --benches`) runs a 100-replica, 10 000-id gateway
//! once, quickly.

use ahash::AHashMap;
use cap::Cap;
use criterion::{Criterion, Throughput};
use shardtally::*;
use shardtally_benches::{criterion_dir, mean_ns};
use std::alloc::System;
use std::hint::black_box;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

const LIMIT: u32 = 128;
/// Routes per timed chunk; reservations are expired after each chunk.
const CHUNK: usize = 1_000;
const GROUP: &str = "g";

/// Replicas and request ids of this run.
#[derive(Clone, Copy)]
struct Size {
    replicas: usize,
    ids: usize,
}

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench") && !std::env::args().any(|a| a == "--test")
}

fn req(i: usize) -> String {
    format!("client-{i:08}")
}

/// A gateway holding `size.ids` request ids, one connection each, spread evenly over
/// `size.replicas` replicas, as replica reports rebuild it after a restart.
fn build(size: Size) -> Gateway {
    let config = GatewayConfig::builder()
        .limit(LIMIT)
        .max_replicas(size.replicas)
        .max_request_ids(size.ids + 10 * CHUNK)
        .max_reservations(10 * CHUNK)
        .reservation_ttl_ms(10_000)
        .build()
        .expect("config");
    let mut gw = Gateway::new(config, GROUP).expect("gateway");
    let per = size.ids / size.replicas;
    for r in 0..size.replicas {
        let conns: Vec<(String, String)> = (r * per..(r + 1) * per).map(|i| (format!("s{i}"), req(i))).collect();
        gw.handle_report(GROUP, &format!("replica-{r:05}"), &conns, Timestamp::ZERO).expect("report");
    }
    gw
}

/// Bytes allocated while `f` builds something, and the thing.
fn allocated_by<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATOR.allocated();
    let value = f();
    (ALLOCATOR.allocated().saturating_sub(before), value)
}

/// Times `route` over `ids` in chunks, expiring the reservations after each chunk.
fn time_routes(gw: &mut Gateway, now: &mut u64, iters: u64, mut next_id: impl FnMut() -> String) -> Duration {
    let mut spent = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        let ids: Vec<String> = (0..n).map(|_| next_id()).collect();
        let t = Timestamp::from_millis(*now);
        let start = Instant::now();
        for id in &ids {
            black_box(gw.route(black_box(id), t).expect("route"));
        }
        spent += start.elapsed();
        *now += 20_000;
        gw.handle_timeout(Timestamp::from_millis(*now));
        left -= n as u64;
    }
    spent
}

fn routing(c: &mut Criterion, size: Size) -> (f64, f64) {
    let (gateway_bytes, mut gw) = allocated_by(|| build(size));
    let (map_bytes, mut map) = allocated_by(|| {
        let mut m: AHashMap<String, u32> = AHashMap::new();
        for i in 0..size.ids {
            m.insert(req(i), (i / (size.ids / size.replicas)) as u32);
        }
        m
    });
    assert_eq!(gw.request_ids(), size.ids);
    let mut group = c.benchmark_group("gateway_route");
    group.throughput(Throughput::Elements(1));
    let mut now = 1_000u64;
    let mut cursor = 0usize;
    group.bench_function("sticky", |b| {
        b.iter_custom(|iters| {
            time_routes(&mut gw, &mut now, iters, || {
                cursor = (cursor + 7_919) % size.ids;
                req(cursor)
            })
        })
    });
    assert_eq!(gw.stats().routes, gw.stats().sticky_routes, "every route was sticky");
    let mut fresh = 0usize;
    group.bench_function("new_id", |b| {
        b.iter_custom(|iters| {
            time_routes(&mut gw, &mut now, iters, || {
                fresh += 1;
                format!("fresh-{fresh:09}")
            })
        })
    });
    assert_eq!(gw.request_ids(), size.ids, "expired reservations left no sticky entry behind");
    group.bench_function("hashmap_get", |b| {
        b.iter_custom(|iters| {
            let ids: Vec<String> = (0..iters as usize).map(|i| req(i * 7_919 % size.ids)).collect();
            let start = Instant::now();
            for id in &ids {
                black_box(map.get(black_box(id.as_str())));
            }
            start.elapsed()
        })
    });
    let mut fresh = 0usize;
    group.bench_function("hashmap_insert", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                let n = left.min(CHUNK);
                let ids: Vec<String> = (0..n)
                    .map(|_| {
                        fresh += 1;
                        format!("fresh-{fresh:09}")
                    })
                    .collect();
                let start = Instant::now();
                for id in &ids {
                    // The key is copied in, as the gateway copies the request id.
                    map.insert(black_box(id.as_str()).to_owned(), 1);
                }
                spent += start.elapsed();
                for id in &ids {
                    map.remove(id.as_str());
                }
                left -= n;
            }
            spent
        })
    });
    group.finish();
    (gateway_bytes as f64 / size.ids as f64, map_bytes as f64 / size.ids as f64)
}

/// Prints ns per route and the ratio to the baseline, then the memory figures.
fn report(size: Size, per_entry: (f64, f64)) {
    let dir = criterion_dir();
    println!("\ngateway: {} replicas (limit {LIMIT}), {} request ids with one connection each", size.replicas, size.ids);
    println!("{:<16} {:>10} {:<16} {:>10} {:>7}", "gateway path", "ns/op", "baseline", "ns/op", "ratio");
    for (func, base) in [("sticky", "hashmap_get"), ("new_id", "hashmap_insert")] {
        let (Some(a), Some(b)) = (mean_ns(&dir, "gateway_route", func), mean_ns(&dir, "gateway_route", base)) else { continue };
        println!("{func:<16} {a:>10.1} {base:<16} {b:>10.1} {:>6.1}x", a / b);
    }
    let (gateway, map) = per_entry;
    println!(
        "memory: {gateway:.0} bytes allocated per sticky entry (request id, its connection, replica tables); \
         HashMap<String, u32>: {map:.0} bytes per entry ({:.1}x)",
        gateway / map
    );
}

fn main() {
    let full = full_run();
    let size = if full { Size { replicas: 10_000, ids: 1_000_000 } } else { Size { replicas: 100, ids: 10_000 } };
    let mut c = Criterion::default().output_directory(&criterion_dir()).configure_from_args();
    let per_entry = routing(&mut c, size);
    c.final_summary();
    if full {
        report(size, per_entry);
    }
}
