//! SPEC §1.8 "cost follows the change": applying a 100-entry batch to a global holding
//! 1 000 keys and one holding 100 000 keys yields the same journal (rows and bytes within 2×
//! of each other, and O(100) either way); a publish in `changes` mode rewrites only the keys
//! it carries.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use shardtally::journal::GlobalRow;
use shardtally::*;

fn key(i: usize) -> String {
    format!("key-{i:06}")
}

/// A global holding `n` keys (delivered in batches of 10 000), its journal taken.
fn global_with(n: usize, mode: PublishMode) -> (Global, Shard) {
    let config =
        GlobalConfig::builder().persist_after_writes(0).persist_after_idle_ms(0).persist_max_age_ms(0).publish_mode(mode).build().unwrap();
    let mut g = Global::new(config);
    let mut s = shard(ShardConfig::builder().flush_after_requests(0).flush_after_idle_ms(0).flush_max_age_ms(0).build().unwrap(), 0);
    for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
        let entries: Vec<(String, i64)> = chunk.iter().map(|i| (key(*i), 1)).collect();
        s.increments(&entries, t(0)).unwrap();
        s.flush(t(0));
        pump(&mut s, &mut g, t(0));
    }
    assert_eq!(g.totals().len(), n);
    // Publish the prefill once, so only later changes are unpublished.
    g.publish(t(0));
    for p in publishes(&mut g) {
        g.handle_publish_ack(p.version, t(0));
    }
    g.take_changes();
    (g, s)
}

/// Rows and encoded bytes of the journal after applying one batch of 100 existing keys.
fn batch_cost(n: usize) -> (usize, usize) {
    let (mut g, mut s) = global_with(n, PublishMode::Changes);
    let entries: Vec<(String, i64)> = (0..100).map(|i| (key(i * (n / 100)), 3)).collect();
    s.increments(&entries, t(1)).unwrap();
    s.flush(t(1));
    let b = batches(&mut s).pop().unwrap();
    assert_eq!(b.len(), 100);
    g.handle_batch(&b, t(1)).unwrap();
    let rows = g.take_changes();
    (rows.len(), rows.iter().map(|r| r.encode().len()).sum())
}

#[test]
fn an_applied_batch_costs_the_same_at_a_thousand_and_a_hundred_thousand_keys() {
    let (rows_small, bytes_small) = batch_cost(1_000);
    let (rows_large, bytes_large) = batch_cost(100_000);
    eprintln!(
        "100-entry batch: {rows_small} rows / {bytes_small} bytes at 1 000 keys, {rows_large} rows / {bytes_large} bytes at 100 000 keys"
    );
    assert!(rows_large <= 2 * rows_small && rows_small <= 2 * rows_large);
    assert!(bytes_large <= 2 * bytes_small && bytes_small <= 2 * bytes_large);
    // O(batch): 100 totals, 100 per-shard deltas and a handful of others.
    assert!(rows_large <= 2 * 100 + 8, "{rows_large} rows");
}

#[test]
fn a_changes_publish_rewrites_only_the_keys_it_carries() {
    let (mut g, mut s) = global_with(100_000, PublishMode::Changes);
    s.increments(&[(key(7), 1), (key(70_000), 1)], t(1)).unwrap();
    s.flush(t(1));
    pump(&mut s, &mut g, t(1));
    g.take_changes();
    assert_eq!(g.publish(t(2)), PublishOutcome::Sent { version: 2 });
    let rows = g.take_changes();
    let totals = rows.iter().filter(|r| matches!(r, GlobalRow::Total { .. })).count();
    assert_eq!(totals, 2, "only the two published keys change (their unpublished flag)");
    let bytes: usize = rows.iter().map(|r| r.encode().len()).sum();
    assert!(rows.len() <= 4 && bytes < 1_000, "{} rows, {bytes} bytes", rows.len());
}

#[test]
fn a_full_publish_costs_one_row_of_every_total() {
    let (mut g, mut s) = global_with(10_000, PublishMode::Full);
    s.increment(&key(7), 1, t(1)).unwrap();
    s.flush(t(1));
    pump(&mut s, &mut g, t(1));
    g.take_changes();
    g.publish(t(2));
    let rows = g.take_changes();
    let publish: Vec<usize> = rows.iter().filter(|r| matches!(r, GlobalRow::PublishInFlight(_))).map(|r| r.encode().len()).collect();
    eprintln!("full publish at 10 000 keys: {} rows, publish row {} bytes", rows.len(), publish[0]);
    // One publish row carrying every total; the totals themselves are not rewritten.
    assert_eq!(publish.len(), 1);
    assert!(publish[0] > 10_000 * 10);
    assert!(rows.len() <= 4);
}
