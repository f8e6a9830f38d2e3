//! `Membership`: holders of named clusters get a unique shard index each (SPEC §7).

use crate::js::{self, JsResult};
use shardtally as st;
use shardtally_api::{options, views, Naming, Value};
use wasm_bindgen::prelude::*;

/// A membership machine (the native half of the public `Membership`).
#[wasm_bindgen(js_name = Membership)]
pub struct JsMembership {
    inner: st::Membership,
}

crate::machine!(JsMembership, Membership, |inner| JsMembership { inner }, options::new_membership, options::restore_membership);

#[wasm_bindgen(js_class = Membership)]
impl JsMembership {
    /// A membership machine from `snapshotCluster()` rows (packed: `bytes` cut at `lens`).
    #[wasm_bindgen(js_name = restoreClusters)]
    pub fn restore_clusters(bytes: &[u8], lens: &[u32], names: Vec<String>, values: Vec<JsValue>) -> JsResult<JsMembership> {
        let rows = shardtally_api::js::split_bytes(bytes, lens.iter().copied()).ok_or_else(|| js::internal("snapshots"))?;
        js::make(names, values, |o| options::restore_membership_clusters(Naming::Camel, rows, o)).map(|inner| JsMembership { inner })
    }

    /// A holder joins a cluster.
    pub fn register(&mut self, cluster: &str, holder: &str, now_ms: f64) -> JsResult<()> {
        let now = js::time(now_ms)?;
        self.inner.register(cluster, holder, now).map_err(js::error)
    }

    /// A holder is alive.
    pub fn heartbeat(&mut self, cluster: &str, holder: &str, now_ms: f64) -> JsResult<()> {
        let now = js::time(now_ms)?;
        self.inner.heartbeat(cluster, holder, now).map_err(js::error)
    }

    /// A holder leaves a cluster.
    pub fn unregister(&mut self, cluster: &str, holder: &str, now_ms: f64) -> JsResult<()> {
        let now = js::time(now_ms)?;
        self.inner.unregister(cluster, holder, now).map_err(js::error)
    }

    /// Removes a cluster without live holders.
    #[wasm_bindgen(js_name = removeCluster)]
    pub fn remove_cluster(&mut self, cluster: &str, now_ms: f64) -> JsResult<()> {
        let now = js::time(now_ms)?;
        self.inner.remove_cluster(cluster, now).map_err(js::error)
    }

    /// A holder's assignment; a `ShardInfo`.
    #[wasm_bindgen(js_name = shardInfo)]
    pub fn shard_info(&self, cluster: &str, holder: &str, now_ms: f64) -> JsResult<JsValue> {
        let now = js::time(now_ms)?;
        js::out(self.inner.shard_info(cluster, holder, now).map(|i| views::shard_info(&i)))
    }

    /// A cluster's assignments, by index.
    pub fn assignments(&self, cluster: &str, now_ms: f64) -> JsResult<JsValue> {
        let now = js::time(now_ms)?;
        js::out(self.inner.assignments(cluster, now).map(|all| views::shard_infos(&all)))
    }

    /// A cluster at a glance, or `null`.
    #[wasm_bindgen(js_name = clusterInfo)]
    pub fn cluster_info(&self, cluster: &str) -> JsValue {
        js::to_js(&self.inner.cluster_info(cluster).map(|c| views::cluster_info(&c)).into())
    }

    /// Cluster names.
    pub fn clusters(&self) -> JsValue {
        js::to_js(&views::strings(&self.inner.clusters()))
    }

    /// Clusters changed since the last call.
    #[wasm_bindgen(js_name = takeChangedClusters)]
    pub fn take_changed_clusters(&mut self) -> JsValue {
        js::to_js(&views::strings(&self.inner.take_changed_clusters()))
    }

    /// One cluster's state as versioned bytes, or `null`.
    #[wasm_bindgen(js_name = snapshotCluster)]
    pub fn snapshot_cluster(&self, cluster: &str) -> JsValue {
        js::to_js(&Value::from(self.inner.snapshot_cluster(cluster)))
    }
}

crate::run_loop!(JsMembership, Membership);
