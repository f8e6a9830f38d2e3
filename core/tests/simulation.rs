//! Conservation under every fault kind, over many seeded scenarios.
//!
//! Each scenario is a small random topology (1–4 shards, 1–4 keys, flat or two-level) driven
//! through random steps with drops, duplicates, reordering, transport failures, crashes at
//! both effect boundaries, double timeouts, a backwards clock, resets and failing publishes.
//! Resets happen at the top global in flat and two-level trees; their generation notices
//! travel the faulty network like every other message.
//! After every step: accepted = totals + pending + in flight (per key, resets accounted for),
//! and every host that handled an input reported a change exactly when its snapshot changed,
//! took journal rows exactly then, and (in every fourth scenario, after every change) rebuilds
//! from its stored rows to the same snapshot; restarts alternate between the snapshot and the
//! rows.
//! At the end: everything delivered, totals equal accepted increments exactly.

#![allow(clippy::unwrap_used)]

use shardtally::testing::{Sim, SimConfig};
use std::time::Instant;

/// Scenarios per test function; there are `PARTS` functions so the runner spreads them over
/// cores. Total per run: `PARTS * SCENARIOS` = 100 000.
const SCENARIOS: u64 = 12_500;
const PARTS: u64 = 8;
const STEPS: u64 = 60;

fn run_part(part: u64) {
    let start = Instant::now();
    let (mut steps, mut accepted, mut crashes, mut resets, mut notices) = (0, 0, 0, 0, 0);
    for i in 0..SCENARIOS {
        let seed = part * SCENARIOS + i;
        let mut sim = Sim::new(SimConfig::random(seed));
        if let Err(v) = sim.run_random(STEPS) {
            panic!("{v}");
        }
        let report = match sim.quiesce() {
            Ok(r) => r,
            Err(v) => panic!("{v}"),
        };
        steps += report.steps;
        accepted += report.accepted;
        crashes += report.crashes;
        resets += report.resets;
        notices += report.notices;
    }
    assert!(accepted > SCENARIOS, "the scenarios accepted almost nothing");
    assert!(crashes > 0 && resets > 0 && notices > 0, "faults were not exercised");
    eprintln!(
        "part {part}: {SCENARIOS} scenarios, {steps} steps checked, {accepted} requests accepted, {crashes} restarts, {resets} resets, {notices} notices in {:.2?}",
        start.elapsed()
    );
}

macro_rules! parts {
    ($($name:ident = $part:expr),*) => {
        $(
            #[test]
            fn $name() {
                run_part($part);
            }
        )*
        #[test]
        fn parts_cover_one_hundred_thousand_scenarios() {
            let names = [$(stringify!($name)),*];
            assert_eq!(names.len() as u64, PARTS);
            assert!(PARTS * SCENARIOS >= 100_000);
        }
    };
}

parts!(
    conservation_part_0 = 0,
    conservation_part_1 = 1,
    conservation_part_2 = 2,
    conservation_part_3 = 3,
    conservation_part_4 = 4,
    conservation_part_5 = 5,
    conservation_part_6 = 6,
    conservation_part_7 = 7
);
