//! `Membership`: holders of named clusters get a unique shard index each (SPEC §7).

use crate::js;
use napi::bindgen_prelude::{Array, Uint32ArraySlice, Uint8ArraySlice, Unknown};
use napi::{Env, Result};
use napi_derive::napi;
use shardtally as st;
use shardtally_api::{options, views, Naming, Value};

/// A membership machine (the native half of the public `Membership`).
#[napi]
pub struct Membership {
    inner: st::Membership,
}

crate::machine!(Membership, |inner| Membership { inner }, options::new_membership, options::restore_membership);

#[napi]
impl Membership {
    /// A membership machine from `snapshotCluster()` rows (packed: `bytes` cut at `lens`).
    #[napi(factory)]
    pub fn restore_clusters(
        env: &Env,
        bytes: Uint8ArraySlice<'_>,
        lens: Uint32ArraySlice<'_>,
        names: Vec<String>,
        values: Array<'_>,
    ) -> Result<Self> {
        let rows = shardtally_api::js::split_bytes(&bytes, lens.iter().copied()).ok_or_else(|| js::internal("snapshots"))?;
        js::make(env, names, &values, |o| options::restore_membership_clusters(Naming::Camel, rows, o)).map(|inner| Membership { inner })
    }

    /// A holder joins a cluster.
    #[napi]
    pub fn register(&mut self, env: &Env, cluster: String, holder: String, now_ms: f64) -> Result<()> {
        let now = js::time(env, now_ms)?;
        self.inner.register(&cluster, &holder, now).map_err(|e| js::error(env, e))
    }

    /// A holder is alive.
    #[napi]
    pub fn heartbeat(&mut self, env: &Env, cluster: String, holder: String, now_ms: f64) -> Result<()> {
        let now = js::time(env, now_ms)?;
        self.inner.heartbeat(&cluster, &holder, now).map_err(|e| js::error(env, e))
    }

    /// A holder leaves a cluster.
    #[napi]
    pub fn unregister(&mut self, env: &Env, cluster: String, holder: String, now_ms: f64) -> Result<()> {
        let now = js::time(env, now_ms)?;
        self.inner.unregister(&cluster, &holder, now).map_err(|e| js::error(env, e))
    }

    /// Removes a cluster without live holders.
    #[napi]
    pub fn remove_cluster(&mut self, env: &Env, cluster: String, now_ms: f64) -> Result<()> {
        let now = js::time(env, now_ms)?;
        self.inner.remove_cluster(&cluster, now).map_err(|e| js::error(env, e))
    }

    /// A holder's assignment; a `ShardInfo`.
    #[napi]
    pub fn shard_info<'e>(&self, env: &'e Env, cluster: String, holder: String, now_ms: f64) -> Result<Unknown<'e>> {
        let now = js::time(env, now_ms)?;
        js::out(env, self.inner.shard_info(&cluster, &holder, now).map(|i| views::shard_info(&i)))
    }

    /// A cluster's assignments, by index.
    #[napi]
    pub fn assignments<'e>(&self, env: &'e Env, cluster: String, now_ms: f64) -> Result<Unknown<'e>> {
        let now = js::time(env, now_ms)?;
        js::out(env, self.inner.assignments(&cluster, now).map(|all| views::shard_infos(&all)))
    }

    /// A cluster at a glance, or `null`.
    #[napi]
    pub fn cluster_info<'e>(&self, env: &'e Env, cluster: String) -> Result<Unknown<'e>> {
        js::to_js(env, &self.inner.cluster_info(&cluster).map(|c| views::cluster_info(&c)).into())
    }

    /// Cluster names.
    #[napi]
    pub fn clusters<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        js::to_js(env, &views::strings(&self.inner.clusters()))
    }

    /// Clusters changed since the last call.
    #[napi]
    pub fn take_changed_clusters<'e>(&mut self, env: &'e Env) -> Result<Unknown<'e>> {
        js::to_js(env, &views::strings(&self.inner.take_changed_clusters()))
    }

    /// One cluster's state as versioned bytes, or `null`.
    #[napi]
    pub fn snapshot_cluster<'e>(&self, env: &'e Env, cluster: String) -> Result<Unknown<'e>> {
        js::to_js(env, &Value::from(self.inner.snapshot_cluster(&cluster)))
    }
}

crate::run_loop!(Membership);
