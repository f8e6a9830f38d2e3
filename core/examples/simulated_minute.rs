//! A simulated minute of traffic: 8 shards behind a hash router feed one global.
//!
//! Run with `make demo` (or `cargo run -p shardtally --example simulated_minute`). Time is a
//! plain integer the example advances itself; nothing sleeps. A host loop delivers batches,
//! routes acknowledgements back, persists publishes into a map standing in for a database,
//! and fires timers when their deadlines come. A few batch deliveries fail on purpose, to show
//! retries counting nothing twice.

use shardtally::*;
use std::collections::BTreeMap;

const SHARDS: u32 = 8;
const KEYS: usize = 40;
const MINUTE_MS: u64 = 60_000;

/// A tiny deterministic generator for the example's traffic (the engine needs none).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let shard_config = ShardConfig::builder().flush_after_requests(100).flush_after_idle_ms(2_000).flush_max_age_ms(10_000).build()?;
    let global_config =
        GlobalConfig::builder().persist_after_writes(20).persist_after_idle_ms(3_000).publish_mode(PublishMode::Changes).build()?;
    let mut router = Router::new(RouterConfig::builder().strategy(Strategy::Hash).shard_count(SHARDS).build()?);
    let mut shards: Vec<Shard> = (0..SHARDS).map(|i| Shard::new(shard_config, ShardRef { shard: i, incarnation: 1 })).collect();
    let mut global = Global::new(global_config);
    let keys: Vec<String> = (0..KEYS).map(|i| format!("/page/{i}")).collect();

    let mut rng = Lcg(2026);
    let mut sent: BTreeMap<String, i64> = BTreeMap::new();
    let mut database: BTreeMap<String, i64> = BTreeMap::new();
    let mut flushes: BTreeMap<&'static str, u64> = BTreeMap::new();
    let (mut publishes, mut failures, mut increments) = (0u64, 0u64, 0u64);

    println!("shardtally demo: {SHARDS} shards, {KEYS} keys, one simulated minute of traffic");
    let mut now = 0u64;
    let mut next_report = 10_000;
    while now < MINUTE_MS {
        // Bursty traffic: busy for 40 s, then a quiet tail so idle flushes show up too.
        now += if now < 40_000 { 1 + rng.next(3) } else { 50 + rng.next(400) };
        let ts = Timestamp::from_millis(now);
        // Skewed keys: low-numbered pages are hot.
        let key = &keys[(rng.next(KEYS as u64) * rng.next(KEYS as u64) / KEYS as u64) as usize];
        let shard = router.route(key) as usize;
        shards[shard].increment(key, 1, ts)?;
        *sent.entry(key.clone()).or_insert(0) += 1;
        increments += 1;

        // Fire every timer that is due on any machine.
        for s in shards.iter_mut() {
            if s.poll_timeout().is_some_and(|d| d <= ts) {
                s.handle_timeout(ts);
            }
        }
        if global.poll_timeout().is_some_and(|d| d <= ts) {
            global.handle_timeout(ts);
        }
        host_step(&mut shards, &mut global, ts, &mut rng, &mut flushes, &mut failures);
        publishes += persist(&mut global, &mut database, ts);

        if now >= next_report {
            println!(
                "  t={:>2}s  {:>6} increments, {:>4} batches, {:>3} publishes, {} failed deliveries retried",
                now / 1_000,
                increments,
                flushes.values().sum::<u64>(),
                publishes,
                failures
            );
            next_report += 10_000;
        }
    }

    // End of the minute: let every remaining deadline fire, jumping the clock to each.
    while let Some(at) = shards.iter().filter_map(Shard::poll_timeout).chain(global.poll_timeout()).min() {
        now = now.max(at.as_millis());
        let ts = Timestamp::from_millis(now);
        for s in shards.iter_mut() {
            s.handle_timeout(ts);
        }
        global.handle_timeout(ts);
        host_step(&mut shards, &mut global, ts, &mut rng, &mut flushes, &mut failures);
        publishes += persist(&mut global, &mut database, ts);
    }

    println!("\nflushed batches by reason:");
    for (reason, n) in &flushes {
        println!("  {reason:<9} {n}");
    }
    let stats = global.stats();
    println!(
        "global: {} batches applied, {} duplicates ignored, {} publishes (last version {})",
        stats.total_writes,
        stats.duplicates,
        publishes,
        global.published_version()
    );
    println!("storage writes: {publishes} publishes for {increments} increments (one write per increment would be {increments})");
    println!("\nhottest keys (database = sent):");
    let mut top: Vec<(&String, &i64)> = database.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (k, v) in top.iter().take(5) {
        println!("  {k:<10} {v}");
    }
    let exact = database == sent && global.totals().iter().all(|(k, v)| sent.get(*k) == Some(v));
    println!("\ntotals exact: {exact} ({} keys, {} increments)", database.len(), database.values().sum::<i64>());
    if !exact {
        return Err("totals differ from what was sent".into());
    }
    Ok(())
}

/// Delivers every batch (failing about one in twenty), routes acks back, and repeats until
/// no shard has output left.
fn host_step(
    shards: &mut [Shard],
    global: &mut Global,
    now: Timestamp,
    rng: &mut Lcg,
    flushes: &mut BTreeMap<&'static str, u64>,
    failures: &mut u64,
) {
    loop {
        let mut any = false;
        for s in shards.iter_mut() {
            while let Some(ShardOutput::SendBatch(batch)) = s.poll_output() {
                any = true;
                *flushes.entry(batch.reason().as_str()).or_insert(0) += 1;
                if rng.next(20) == 0 {
                    *failures += 1;
                    s.handle_failure(batch.seq(), now);
                    continue;
                }
                match global.handle_batch(&batch, now) {
                    Ok(ack) => {
                        s.handle_ack(&ack, now).ok();
                    }
                    Err(_) => {
                        s.handle_failure(batch.seq(), now);
                    }
                }
            }
        }
        if !any {
            return;
        }
    }
}

/// Writes every publish into the database and acknowledges it. Returns how many.
fn persist(global: &mut Global, database: &mut BTreeMap<String, i64>, now: Timestamp) -> u64 {
    let mut n = 0;
    while let Some(out) = global.poll_output() {
        if let GlobalOutput::Publish(p) = out {
            for (k, v) in &p.entries {
                database.insert(k.to_string(), *v);
            }
            global.handle_publish_ack(p.version, now);
            n += 1;
        }
    }
    n
}
