//! `Router`: picks the shard for each increment and tracks shards being drained.

use crate::convert::{self, Num, ObjArg, Options, Str};
use crate::error::{config_error, core_error, decode_error, invalid_argument};
use napi::bindgen_prelude::{Either, Uint8Array, Uint8ArraySlice, Unknown};
use napi::{Env, Result};
use napi_derive::napi;
use shardtally as st;
use shardtally::{RouterConfig, Strategy};

/// Picks a shard for each increment. When the shard count is lowered, shards at or above
/// the new count are reported as draining: call `shard.drain(nowMs)` on each, then
/// `markDrained(shard)` once `shard.isDrained()`. No input needs time.
#[napi]
pub struct Router {
    inner: st::Router,
}

#[napi]
impl Router {
    /// A router with the given strategy and shard count.
    #[napi(constructor, ts_args_type = "options?: RouterOptions")]
    pub fn new(env: &Env, options: Option<ObjArg<'_>>) -> Result<Self> {
        let o = Options::new(env, "options", options)?;
        // `pinnedShard` is read (and checked) first and only used by the 'pinned' strategy.
        let pinned = o.u32("pinnedShard")?;
        let strategy = o.choice("strategy", &["hash", "random", "round_robin", "pinned"], "'hash', 'random', 'round_robin' or 'pinned'")?;
        let strategy = match (strategy, pinned) {
            (Some("pinned"), Some(_)) => Strategy::Pinned,
            (Some("pinned"), None) => {
                return Err(invalid_argument(env, "pinnedShard", "an integer number with strategy 'pinned'", None::<Unknown<'_>>))
            }
            (Some("random"), _) => Strategy::Random,
            (Some("round_robin"), _) => Strategy::RoundRobin,
            _ => Strategy::Hash,
        };
        let mut b = RouterConfig::builder().strategy(strategy).pinned_shard(pinned.filter(|_| strategy == Strategy::Pinned));
        if let Some(v) = o.u32("shardCount")? {
            b = b.shard_count(v);
        }
        if let Some(v) = o.u64("seed")? {
            b = b.seed(v);
        }
        let config = b.build().map_err(|e| config_error(env, &e))?;
        Ok(Router { inner: st::Router::new(config) })
    }

    /// Restores a router from `snapshot()` bytes (strategy, count, random and round-robin
    /// state, draining shards).
    #[napi(factory, ts_args_type = "snapshot: Uint8Array")]
    pub fn restore(env: &Env, snapshot: Either<Uint8ArraySlice<'_>, Unknown<'_>>) -> Result<Self> {
        let bytes = convert::snapshot_bytes(env, snapshot)?;
        Ok(Router { inner: st::Router::restore(&bytes).map_err(|e| decode_error(env, &e))? })
    }

    /// The shard for an increment of `key`, in `0 .. shardCount()` (advances the random and
    /// round-robin state).
    #[napi(ts_args_type = "key: string")]
    pub fn route(&mut self, env: &Env, key: Str<'_>) -> Result<u32> {
        let key = convert::key(env, "key", key)?;
        Ok(self.inner.route(&key))
    }

    /// Changes the shard count; returns the shards that became draining (ascending). Raising
    /// the count takes shards back from draining. Errors: `SHARD_OUT_OF_RANGE` (a count of
    /// zero, or one that leaves the pinned shard outside).
    #[napi(ts_args_type = "count: number")]
    pub fn set_shard_count(&mut self, env: &Env, count: Num<'_>) -> Result<Vec<u32>> {
        let count = convert::uint(env, "count", count, u64::from(u32::MAX))? as u32;
        self.inner.set_shard_count(count).map_err(|e| core_error(env, &e))
    }

    /// Shards at or above the shard count that still have to be drained, ascending.
    #[napi]
    pub fn draining(&self) -> Vec<u32> {
        self.inner.draining()
    }

    /// The host finished draining `shard`. Returns whether it was draining.
    #[napi(ts_args_type = "shard: number")]
    pub fn mark_drained(&mut self, env: &Env, shard: Num<'_>) -> Result<bool> {
        let shard = convert::uint(env, "shard", shard, u64::from(u32::MAX))? as u32;
        Ok(self.inner.mark_drained(shard))
    }

    /// The number of shards increments are routed to.
    #[napi]
    pub fn shard_count(&self) -> u32 {
        self.inner.shard_count()
    }

    /// The routing strategy.
    #[napi(ts_return_type = "RouterStrategy")]
    pub fn strategy(&self) -> String {
        self.inner.strategy().as_str().to_owned()
    }

    /// The pinned shard of the `'pinned'` strategy, or `null`.
    #[napi]
    pub fn pinned_shard(&self) -> Option<u32> {
        self.inner.pinned_shard()
    }

    /// The router's state as versioned bytes (for `Router.restore`).
    #[napi]
    pub fn snapshot(&self) -> Uint8Array {
        Uint8Array::from(self.inner.snapshot())
    }
}
