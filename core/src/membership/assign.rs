//! Giving out indices at a reshard: minimal movement or the seed's compaction.

use super::config::Assignment;

/// A holder entering a reshard: its index in the previous epoch, if any, and its
/// registration order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) current: Option<u32>,
    pub(crate) joined: u64,
}

/// The new index of each candidate (same order), a permutation of `0..candidates.len()`.
///
/// The caller guarantees that current indices are distinct and that there are at most
/// `u32::MAX` candidates (the holder table is bounded far below).
pub(crate) fn assign(mode: Assignment, candidates: &[Candidate]) -> Vec<u32> {
    let n = candidates.len();
    // Survivors by their old index first, then newcomers by registration order.
    let rank = |i: &usize| {
        let c = candidates[*i];
        (c.current.is_none(), c.current, c.joined)
    };
    let mut out = vec![0u32; n];
    match mode {
        Assignment::Compact => {
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by_key(rank);
            for (index, i) in order.into_iter().enumerate() {
                out[i] = index as u32;
            }
        }
        Assignment::Minimal => {
            let mut taken = vec![false; n];
            let mut movers = Vec::new();
            for (i, c) in candidates.iter().enumerate() {
                match c.current.map(|s| s as usize) {
                    Some(s) if s < n && !taken[s] => {
                        taken[s] = true;
                        out[i] = s as u32;
                    }
                    _ => movers.push(i),
                }
            }
            movers.sort_by_key(rank);
            let holes = (0..n).filter(|s| !taken[*s]);
            for (i, hole) in movers.into_iter().zip(holes) {
                out[i] = hole as u32;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(current: Option<u32>, joined: u64) -> Candidate {
        Candidate { current, joined }
    }

    #[test]
    fn minimal_keeps_in_range_indices_and_fills_holes() {
        // Survivors 0, 2, 5 and two newcomers: 0 and 2 stay, 5 takes hole 1, newcomers 3 and 4.
        let cands = [c(Some(5), 1), c(Some(0), 2), c(None, 9), c(Some(2), 3), c(None, 7)];
        assert_eq!(assign(Assignment::Minimal, &cands), vec![1, 0, 4, 2, 3]);
    }

    #[test]
    fn compact_renumbers_in_order() {
        let cands = [c(Some(5), 1), c(Some(0), 2), c(None, 9), c(Some(2), 3), c(None, 7)];
        assert_eq!(assign(Assignment::Compact, &cands), vec![2, 0, 4, 1, 3]);
    }

    #[test]
    fn every_result_is_a_permutation() {
        for mode in [Assignment::Minimal, Assignment::Compact] {
            let cands: Vec<Candidate> = (0..20u32).map(|i| c(if i % 3 == 0 { None } else { Some((i * 7) % 31) }, u64::from(i))).collect();
            let mut got = assign(mode, &cands);
            got.sort_unstable();
            assert_eq!(got, (0..20).collect::<Vec<u32>>());
        }
        assert!(assign(Assignment::Minimal, &[]).is_empty());
    }
}
