//! The default assignment moves as few holders as possible: survivors keep their index
//! while it is below the new count, and holes are filled. The seed's order-preserving
//! compaction (option `"compact"`) renumbers every survivor above a hole.

#![allow(clippy::unwrap_used)]

mod membership_support;
use membership_support::*;
use shardtally::*;

const C: &str = "c";

/// Five holders a..e at 0..4; `dead` crash after 5000; `newcomer` (if any) joins at 6000.
/// Returns the assignments after the next reshard (10000) and the moves it made.
fn run(assignment: Assignment, dead: &[&str], newcomer: Option<&str>) -> (Vec<(String, u32, u32)>, u64) {
    let config = spec_config().to_builder().assignment(assignment).build().unwrap();
    let mut h = Host::new(config);
    for holder in ["a", "b", "c", "d", "e"] {
        h.join(C, holder);
    }
    h.run_until(5_000);
    assert_eq!(view(&h.m, C, 5_000).iter().map(|v| v.1).collect::<Vec<u32>>(), vec![0, 1, 2, 3, 4]);
    let moves_before = h.m.stats().moves;
    for holder in dead {
        h.stop(C, holder);
    }
    h.run_until(6_000);
    if let Some(n) = newcomer {
        h.join(C, n);
    }
    h.run_until(10_000);
    (view(&h.m, C, 10_000), h.m.stats().moves - moves_before)
}

fn v(items: &[(&str, u32, u32)]) -> Vec<(String, u32, u32)> {
    items.iter().map(|(h, s, n)| (h.to_string(), *s, *n)).collect()
}

#[test]
fn one_death_moves_one_holder_instead_of_every_one_above_it() {
    let (minimal, moved) = run(Assignment::Minimal, &["b"], None);
    assert_eq!(minimal, v(&[("a", 0, 4), ("e", 1, 4), ("c", 2, 4), ("d", 3, 4)]));
    assert_eq!(moved, 1, "only e (index 4, out of range) moves");

    let (compact, moved) = run(Assignment::Compact, &["b"], None);
    assert_eq!(compact, v(&[("a", 0, 4), ("c", 1, 4), ("d", 2, 4), ("e", 3, 4)]));
    assert_eq!(moved, 3, "c, d and e each move down one");
}

#[test]
fn a_newcomer_fills_the_hole() {
    let (minimal, moved) = run(Assignment::Minimal, &["b"], Some("f"));
    assert_eq!(minimal, v(&[("a", 0, 5), ("f", 1, 5), ("c", 2, 5), ("d", 3, 5), ("e", 4, 5)]));
    assert_eq!(moved, 0);

    let (compact, moved) = run(Assignment::Compact, &["b"], Some("f"));
    assert_eq!(compact, v(&[("a", 0, 5), ("c", 1, 5), ("d", 2, 5), ("e", 3, 5), ("f", 4, 5)]));
    assert_eq!(moved, 3);
}

#[test]
fn several_deaths_fill_the_lowest_holes_from_the_top() {
    // b and c die: count 3; d (3) and e (4) are out of range and take holes 1 and 2 in order.
    let (minimal, moved) = run(Assignment::Minimal, &["b", "c"], None);
    assert_eq!(minimal, v(&[("a", 0, 3), ("d", 1, 3), ("e", 2, 3)]));
    assert_eq!(moved, 2);
    // a and e die: b, c, d keep 1, 2 and... 3 is out of range for 3, so d takes hole 0.
    let (minimal, moved) = run(Assignment::Minimal, &["a", "e"], None);
    assert_eq!(minimal, v(&[("d", 0, 3), ("b", 1, 3), ("c", 2, 3)]));
    assert_eq!(moved, 1);
}

#[test]
fn newcomers_are_placed_in_the_order_they_registered() {
    let mut m = Membership::new(spec_config());
    m.register(C, "zed", t(0)).unwrap();
    for (i, holder) in ["mia", "abe", "kim"].iter().enumerate() {
        m.register(C, holder, t(100 + i as u64)).unwrap();
    }
    for holder in ["zed", "mia", "abe", "kim"] {
        m.heartbeat(C, holder, t(3_000)).unwrap();
    }
    m.handle_timeout(t(5_000));
    assert_eq!(view(&m, C, 5_000), v(&[("zed", 0, 4), ("mia", 1, 4), ("abe", 2, 4), ("kim", 3, 4)]), "registration order, not name order");
}
