//! SPEC §1.8: after every input, the rows a machine's journal yielded so far, applied to an
//! empty row store (one ordered map per table), rebuild a machine whose snapshot equals the
//! live one's — for shards, a global and a tiered mid-level global, under random inputs
//! (increments, interning, flushes, deliveries with lost acks, failures, rejections,
//! resets and their notices, publishes, timers, a backwards clock).

#![allow(clippy::unwrap_used)]

mod common;
use common::world::{act, World};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn rows_rebuild_every_machine_after_every_input(seed in any::<u64>(), acts in proptest::collection::vec(act(), 1..120)) {
        let mut w = World::new(seed);
        for (i, a) in acts.iter().enumerate() {
            w.apply(a);
            if let Err(e) = w.check(true) {
                return Err(TestCaseError::fail(format!("after input {i} ({a:?}): {e}")));
            }
        }
    }
}
