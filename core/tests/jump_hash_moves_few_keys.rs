//! Growing from `n` to `n + 1` buckets, jump consistent hash moves about `1 / (n + 1)` of the
//! keys, and only to the new bucket; modulo, for contrast, moves most of them.

use shardtally::partition::{jump_hash, key_hash, owner_mod};

const KEYS: usize = 100_000;

#[test]
fn growing_by_one_moves_about_one_in_n_plus_one_keys() {
    let hashes: Vec<u64> = (0..KEYS).map(|i| key_hash(&format!("user:{i}"))).collect();
    for n in [1u32, 2, 3, 5, 10, 16, 50, 100] {
        let moved: Vec<&u64> = hashes.iter().filter(|h| jump_hash(**h, n) != jump_hash(**h, n + 1)).collect();
        // Each key moves with probability p = 1/(n+1): binomial mean N p, standard deviation
        // sqrt(N p (1 - p)) — at most 158 keys here. Allow five standard deviations.
        let p = 1.0 / f64::from(n + 1);
        let mean = KEYS as f64 * p;
        let sd = (KEYS as f64 * p * (1.0 - p)).sqrt();
        let count = moved.len() as f64;
        assert!((count - mean).abs() <= 5.0 * sd, "{n} -> {}: moved {count}, expected {mean:.0} ± {:.0}", n + 1, 5.0 * sd);
        assert!(moved.iter().all(|h| jump_hash(**h, n + 1) == n), "{n} -> {}: keys move only to the new bucket", n + 1);
    }
}

#[test]
fn modulo_moves_most_keys_for_contrast() {
    let hashes: Vec<u64> = (0..KEYS).map(|i| key_hash(&format!("user:{i}"))).collect();
    let moved = hashes.iter().filter(|h| owner_mod(**h, 10) != owner_mod(**h, 11)).count();
    // A key stays only when h mod 10 == h mod 11, i.e. h mod 110 < 10: about 1 in 11 stays.
    assert!(moved > KEYS * 85 / 100, "moved {moved}");
}

#[test]
fn buckets_fill_evenly() {
    let n = 16u32;
    let mut counts = vec![0usize; n as usize];
    for i in 0..KEYS {
        counts[jump_hash(key_hash(&format!("user:{i}")), n) as usize] += 1;
    }
    let mean = KEYS / n as usize; // 6250, standard deviation about 77
    assert!(counts.iter().all(|c| c.abs_diff(mean) < 400), "{counts:?}");
}
