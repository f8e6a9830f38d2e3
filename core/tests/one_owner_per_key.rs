//! Every key has exactly one owner for every shard count, and the owner is in range:
//! by `mod`, by `range` (where [`shard_range`] lets a holder test its own keys) and by jump
//! consistent hash.

use proptest::prelude::*;
use shardtally::partition::{jump_hash, key_hash, owner_mod, owner_range, shard_range};

/// The shards whose range holds `h`, out of `candidates`.
fn range_holders(h: u64, n: u32, candidates: impl Iterator<Item = u32>) -> Vec<u32> {
    candidates.filter(|s| shard_range(*s, n).is_some_and(|r| r.contains(&h))).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn small_counts_have_exactly_one_owner(key in ".{0,24}", n in 1u32..=64) {
        let h = key_hash(&key);
        prop_assert!(owner_mod(h, n) < n);
        prop_assert!(jump_hash(h, n) < n);
        let by_range = owner_range(h, n);
        prop_assert!(by_range < n);
        // Test every shard's range: exactly one holds the key, the one owner_range names.
        prop_assert_eq!(range_holders(h, n, 0..n), vec![by_range]);
        prop_assert_eq!(range_holders(h, n, 0..n + 3), vec![by_range], "no range beyond the count");
    }

    #[test]
    fn any_hash_and_any_count_have_one_owner(h in any::<u64>(), n in 1u32..=u32::MAX) {
        prop_assert!(owner_mod(h, n) < n);
        prop_assert!(jump_hash(h, n) < n);
        let s = owner_range(h, n);
        prop_assert!(s < n);
        // Ranges are contiguous and ascending, so holding h in s and not in its neighbours
        // means no other shard holds it.
        let lo = s.saturating_sub(1);
        let hi = s.saturating_add(1).min(n - 1);
        prop_assert_eq!(range_holders(h, n, lo..=hi), vec![s]);
        let r = shard_range(s, n).unwrap();
        if s > 0 {
            prop_assert_eq!(shard_range(s - 1, n).map(|p| p.end().wrapping_add(1)), Some(*r.start()));
        }
        if s + 1 < n {
            prop_assert_eq!(shard_range(s + 1, n).map(|p| *p.start()), Some(r.end().wrapping_add(1)));
        }
    }
}

#[test]
fn the_extreme_hashes_belong_to_the_first_and_last_shard() {
    for n in [1u32, 2, 3, 1_000, u32::MAX] {
        assert_eq!(range_holders(0, n, 0..n.min(5)), vec![0]);
        assert_eq!(owner_range(u64::MAX, n), n - 1);
        assert!(shard_range(n - 1, n).is_some_and(|r| r.contains(&u64::MAX)));
    }
}
