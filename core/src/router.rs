//! The router: picks the shard for an increment.

use crate::config::{RouterConfig, Strategy};
use crate::error::{DecodeError, Error};
use crate::partition::{jump_hash, key_hash};
use crate::rng::Rng;
use crate::snapshot::{self, Kind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Picks a shard for each increment and tracks shards being drained after the shard count
/// was lowered.
///
/// # Methods by kind
///
/// - **Getters**: [`shard_count`](Self::shard_count), [`strategy`](Self::strategy),
///   [`draining`](Self::draining), [`snapshot`](Self::snapshot).
/// - **Inputs**: [`route`](Self::route) (advances the random or round-robin state),
///   [`set_shard_count`](Self::set_shard_count), [`mark_drained`](Self::mark_drained).
///
/// No input needs time. When the count is lowered, shards at or above the new count are
/// reported as draining: the host calls [`Shard::drain`](crate::Shard::drain) on each, and
/// [`mark_drained`](Self::mark_drained) once [`Shard::is_drained`](crate::Shard::is_drained).
///
/// ```
/// use shardtally::{Router, RouterConfig, Strategy};
/// let mut router = Router::new(RouterConfig::builder().strategy(Strategy::Hash).shard_count(4).build()?);
/// let shard = router.route("page:/home");
/// assert_eq!(router.route("page:/home"), shard); // hashing is sticky
/// assert_eq!(router.set_shard_count(2)?, vec![2, 3]); // shards 2 and 3 must drain
/// assert!(router.route("page:/home") < 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Router {
    strategy: Strategy,
    /// The shard of [`Strategy::Pinned`] (0 otherwise).
    pinned: u32,
    shard_count: u32,
    rng: Rng,
    next: u32,
    draining: BTreeSet<u32>,
}

impl Router {
    /// A router with the configured strategy and shard count.
    pub fn new(config: RouterConfig) -> Router {
        Router {
            strategy: config.strategy(),
            pinned: config.pinned_shard().unwrap_or(0),
            shard_count: config.shard_count(),
            rng: Rng::new(config.seed()),
            next: 0,
            draining: BTreeSet::new(),
        }
    }

    /// The number of shards increments are routed to.
    pub fn shard_count(&self) -> u32 {
        self.shard_count
    }

    /// The routing strategy.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The shard of the [`Strategy::Pinned`] strategy.
    pub fn pinned_shard(&self) -> Option<u32> {
        (self.strategy == Strategy::Pinned).then_some(self.pinned)
    }

    /// Shards at or above the shard count that still have to be drained, ascending.
    pub fn draining(&self) -> Vec<u32> {
        self.draining.iter().copied().collect()
    }

    /// The shard for an increment of `key`, in `0..shard_count()`.
    pub fn route(&mut self, key: &str) -> u32 {
        match self.strategy {
            Strategy::Hash => jump_hash(key_hash(key), self.shard_count),
            Strategy::Random => self.rng.below(u64::from(self.shard_count)) as u32,
            Strategy::RoundRobin => {
                let shard = self.next % self.shard_count;
                self.next = (shard + 1) % self.shard_count;
                shard
            }
            Strategy::Pinned => self.pinned,
        }
    }

    /// Changes the shard count. Returns the shards that became draining (ascending):
    /// those at or above a lowered count. Raising the count again takes shards back from
    /// draining.
    ///
    /// Errors: [`Error::ShardOutOfRange`] for a count of zero, or one that would leave a
    /// pinned shard outside the count.
    pub fn set_shard_count(&mut self, count: u32) -> Result<Vec<u32>, Error> {
        if count == 0 {
            return Err(Error::ShardOutOfRange { shard: 0, shard_count: 0 });
        }
        if let Some(shard) = self.pinned_shard().filter(|s| *s >= count) {
            return Err(Error::ShardOutOfRange { shard, shard_count: count });
        }
        let newly: Vec<u32> = (count..self.shard_count).filter(|s| !self.draining.contains(s)).collect();
        self.draining.extend(newly.iter().copied());
        self.draining.retain(|s| *s >= count);
        self.shard_count = count;
        Ok(newly)
    }

    /// The host finished draining `shard`. Returns whether it was draining.
    pub fn mark_drained(&mut self, shard: u32) -> bool {
        self.draining.remove(&shard)
    }

    /// The router's state as versioned bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        let strategy = match self.strategy {
            Strategy::Random => (0, 0),
            Strategy::Hash => (1, 0),
            Strategy::RoundRobin => (2, 0),
            Strategy::Pinned => (3, self.pinned),
        };
        snapshot::encode(
            Kind::RouterSnapshot,
            &RouterState {
                strategy,
                shard_count: self.shard_count,
                rng: self.rng.clone(),
                next: self.next,
                draining: self.draining.iter().copied().collect(),
            },
        )
    }

    /// Restores a router from [`snapshot`](Self::snapshot) bytes (strategy, count, random
    /// and round-robin state, draining shards).
    pub fn restore(bytes: &[u8]) -> Result<Router, DecodeError> {
        let s: RouterState = snapshot::decode(Kind::RouterSnapshot, bytes)?;
        let (strategy, pinned) = match s.strategy {
            (0, 0) => (Strategy::Random, 0),
            (1, 0) => (Strategy::Hash, 0),
            (2, 0) => (Strategy::RoundRobin, 0),
            (3, shard) if shard < s.shard_count => (Strategy::Pinned, shard),
            _ => return Err(DecodeError::corrupt("unknown strategy")),
        };
        if s.shard_count == 0 || s.next >= s.shard_count || s.draining.iter().any(|d| *d < s.shard_count) {
            return Err(DecodeError::corrupt("invalid shard count"));
        }
        Ok(Router { strategy, pinned, shard_count: s.shard_count, rng: s.rng, next: s.next, draining: s.draining.into_iter().collect() })
    }
}

#[derive(Serialize, Deserialize)]
struct RouterState {
    strategy: (u8, u32),
    shard_count: u32,
    rng: Rng,
    next: u32,
    draining: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(strategy: Strategy, n: u32) -> Router {
        Router::new(RouterConfig::builder().strategy(strategy).shard_count(n).seed(9).build().unwrap())
    }

    fn pinned(shard: u32, n: u32) -> Router {
        Router::new(RouterConfig::builder().strategy(Strategy::Pinned).pinned_shard(Some(shard)).shard_count(n).build().unwrap())
    }

    #[test]
    fn round_robin_cycles() {
        let mut r = router(Strategy::RoundRobin, 3);
        let got: Vec<u32> = (0..7).map(|_| r.route("k")).collect();
        assert_eq!(got, vec![0, 1, 2, 0, 1, 2, 0]);
        r.set_shard_count(2).unwrap();
        assert!((0..10).all(|_| r.route("k") < 2));
    }

    #[test]
    fn random_is_seeded_and_in_range() {
        let mut a = router(Strategy::Random, 5);
        let mut b = router(Strategy::Random, 5);
        let xs: Vec<u32> = (0..100).map(|_| a.route("k")).collect();
        let ys: Vec<u32> = (0..100).map(|_| b.route("k")).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().all(|s| *s < 5));
        assert!((0..5).all(|s| xs.contains(&s)));
    }

    #[test]
    fn pinned_and_draining() {
        let mut r = pinned(1, 4);
        assert_eq!(r.route("anything"), 1);
        assert_eq!(r.set_shard_count(1), Err(Error::ShardOutOfRange { shard: 1, shard_count: 1 }));
        assert_eq!(r.set_shard_count(2), Ok(vec![2, 3]));
        assert_eq!(r.set_shard_count(3), Ok(vec![]), "raising takes shard 2 back");
        assert_eq!(r.draining(), vec![3]);
        assert!(r.mark_drained(3));
        assert!(!r.mark_drained(3));
        assert_eq!(r.set_shard_count(0), Err(Error::ShardOutOfRange { shard: 0, shard_count: 0 }));
    }

    #[test]
    fn snapshot_round_trip_keeps_state() {
        let mut r = router(Strategy::RoundRobin, 4);
        r.route("a");
        r.set_shard_count(3).unwrap();
        let back = Router::restore(&r.snapshot()).unwrap();
        assert_eq!(back, r);
        assert!(Router::restore(b"sht\x03\x01\xff").is_err());
    }
}
