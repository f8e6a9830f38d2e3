//! Persistence hints are exact: after every input, `take_state_changed()` is true exactly
//! when the machine's snapshot changed, and `take_changes()` is empty exactly when it did not
//! — for shards, a global and a tiered mid-level global, under random inputs (a Durable
//! Object pays for every write a spurious report causes, and loses state a missing one hides).

#![allow(clippy::unwrap_used)]

mod common;
use common::world::{act, World};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn a_change_is_reported_exactly_when_the_snapshot_changes(seed in any::<u64>(), acts in proptest::collection::vec(act(), 1..150)) {
        let mut w = World::new(seed);
        for (i, a) in acts.iter().enumerate() {
            w.apply(a);
            if let Err(e) = w.check(false) {
                return Err(TestCaseError::fail(format!("after input {i} ({a:?}): {e}")));
            }
        }
    }
}

/// The random inputs above do reach both outcomes (inputs that change nothing, too).
#[test]
fn the_inputs_exercise_changes_and_no_ops() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut w = World::new(3);
    for _ in 0..2_000 {
        let a = act().new_tree(&mut runner).unwrap().current();
        w.apply(&a);
        w.check(false).unwrap();
    }
    assert!(w.changed_inputs > 500 && w.quiet_inputs > 100, "changed {} quiet {}", w.changed_inputs, w.quiet_inputs);
}
