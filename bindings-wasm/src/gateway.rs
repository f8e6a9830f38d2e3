//! `Gateway`: routes requests to replicas with a connection limit each (SPEC §6).

use crate::js::{self, JsResult};
use shardtally::{self as st, CreationId, GossipId};
use shardtally_api::{options, views, Value};
use wasm_bindgen::prelude::*;

/// A gateway (the native half of the public `Gateway`).
#[wasm_bindgen(js_name = Gateway)]
pub struct JsGateway {
    inner: st::Gateway,
}

fn id(argument: &str, v: &JsValue) -> JsResult<u64> {
    js::uint(argument, v, u64::MAX)
}

crate::machine!(JsGateway, Gateway, |inner| JsGateway { inner }, options::new_gateway, options::restore_gateway, rows: options::gateway_from_rows);

#[wasm_bindgen(js_class = Gateway)]
impl JsGateway {
    /// Picks the replica for a request; a `Route`.
    pub fn route(&mut self, request: &str, now_ms: f64) -> JsResult<JsValue> {
        let now = js::time(now_ms)?;
        js::out(self.inner.route(request, now).map(|r| views::route(&r)))
    }

    /// The host created the replica of `creation`; a `Placement`.
    #[wasm_bindgen(js_name = handleReplicaCreated)]
    pub fn handle_replica_created(&mut self, creation: JsValue, replica: &str, now_ms: f64) -> JsResult<JsValue> {
        let creation = CreationId::from_raw(id("creation", &creation)?);
        let now = js::time(now_ms)?;
        js::out(self.inner.handle_replica_created(creation, replica, now).map(|p| views::placement(&p)))
    }

    /// The host could not create a replica; the requests released, or `null`.
    #[wasm_bindgen(js_name = handleCreationFailed)]
    pub fn handle_creation_failed(&mut self, creation: JsValue, now_ms: f64) -> JsResult<JsValue> {
        let creation = CreationId::from_raw(id("creation", &creation)?);
        let now = js::time(now_ms)?;
        Ok(js::to_js(&self.inner.handle_creation_failed(creation, now).map(|r| views::strings(&r)).into()))
    }

    /// A connection opened on a replica; a `ConnectOutcome`.
    #[wasm_bindgen(js_name = handleConnect)]
    pub fn handle_connect(&mut self, group: &str, replica: &str, connection: &str, request: &str, now_ms: f64) -> JsResult<JsValue> {
        let now = js::time(now_ms)?;
        js::out(self.inner.handle_connect(group, replica, connection, request, now).map(views::connect_outcome))
    }

    /// A connection closed (idempotent); whether it was open.
    #[wasm_bindgen(js_name = handleClose)]
    pub fn handle_close(&mut self, group: &str, replica: &str, connection: &str, now_ms: f64) -> JsResult<bool> {
        let now = js::time(now_ms)?;
        self.inner.handle_close(group, replica, connection, now).map_err(js::error)
    }

    /// A replica's open connections (`[connection, request]` pairs, packed as keys).
    #[wasm_bindgen(js_name = handleReport)]
    pub fn handle_report(&mut self, group: &str, replica: &str, joined: &str, lens: &[u32], now_ms: f64) -> JsResult<()> {
        let now = js::time(now_ms)?;
        let ids = shardtally_api::js::split_keys(joined, lens).filter(|k| k.len() % 2 == 0).ok_or_else(|| js::internal("pairs"))?;
        let pairs: Vec<(&str, &str)> = ids.chunks(2).map(|p| (p[0], p[1])).collect();
        self.inner.handle_report(group, replica, &pairs, now).map_err(js::error)
    }

    /// Asks every peer of a replica; a `GossipPlan`.
    pub fn gossip(&mut self, group: &str, replica: &str, now_ms: f64) -> JsResult<JsValue> {
        let now = js::time(now_ms)?;
        js::out(self.inner.gossip(group, replica, now).map(|p| views::gossip_plan(&p)))
    }

    /// A peer answered a gossip; whether the gossip was waiting for it.
    #[wasm_bindgen(js_name = handleGossipReply)]
    pub fn handle_gossip_reply(&mut self, group: &str, gossip: JsValue, peer: &str, payload: &[u8], now_ms: f64) -> JsResult<bool> {
        let gossip = GossipId::from_raw(id("gossip", &gossip)?);
        let now = js::time(now_ms)?;
        self.inner.handle_gossip_reply(group, gossip, peer, payload, now).map_err(js::error)
    }

    /// A peer could not answer a gossip; whether the gossip was waiting for it.
    #[wasm_bindgen(js_name = handleGossipFailure)]
    pub fn handle_gossip_failure(&mut self, group: &str, gossip: JsValue, peer: &str, now_ms: f64) -> JsResult<bool> {
        let gossip = GossipId::from_raw(id("gossip", &gossip)?);
        let now = js::time(now_ms)?;
        self.inner.handle_gossip_failure(group, gossip, peer, now).map_err(js::error)
    }

    /// Who receives a message on the sender's own replica; `[Delivery]`.
    pub fn emit(&self, group: &str, replica: &str, sender: &str, include_sender: bool) -> JsResult<JsValue> {
        js::out(self.inner.emit(group, replica, sender, include_sender).map(|p| views::deliveries(&p)))
    }

    /// Who receives a message on every replica; `[Delivery]`.
    pub fn broadcast(&self, group: &str, replica: &str, sender: &str, include_sender: bool) -> JsResult<JsValue> {
        js::out(self.inner.broadcast(group, replica, sender, include_sender).map(|p| views::deliveries(&p)))
    }

    /// Who receives a message for one request id; `[Delivery]`.
    pub fn whisper(&self, group: &str, replica: &str, sender: &str, target: &str) -> JsResult<JsValue> {
        js::out(self.inner.whisper(group, replica, sender, target).map(|p| views::deliveries(&p)))
    }

    /// The group this gateway routes for.
    pub fn group(&self) -> String {
        self.inner.group().to_owned()
    }

    /// Every replica, in creation order.
    pub fn replicas(&self) -> JsValue {
        js::to_js(&views::replica_views(&self.inner.replicas()))
    }

    /// One replica, or `null`.
    pub fn replica(&self, id: &str) -> JsValue {
        js::to_js(&self.inner.replica(id).map(|r| views::replica_view(&r)).into())
    }

    /// A replica's open connections, or `null`.
    pub fn connections(&self, replica: &str) -> JsValue {
        js::to_js(&self.inner.connections(replica).map(|c| views::connections(&c)).into())
    }

    /// The replica a request id is on, or `null`.
    pub fn sticky(&self, request: &str) -> JsValue {
        js::to_js(&self.inner.sticky(request).into())
    }

    /// Request ids with a connection, a reservation or a pending creation.
    #[wasm_bindgen(js_name = requestIds)]
    pub fn request_ids(&self) -> f64 {
        self.inner.request_ids() as f64
    }

    /// Live reservations, oldest first.
    pub fn reservations(&self) -> JsValue {
        js::to_js(&views::reservation_views(&self.inner.reservations()))
    }

    /// Creations waiting for the host.
    #[wasm_bindgen(js_name = pendingCreations)]
    pub fn pending_creations(&self) -> JsValue {
        js::to_js(&views::pending_creations(&self.inner.pending_creations()))
    }

    /// Gossips in flight.
    pub fn gossips(&self) -> JsValue {
        js::to_js(&Value::List(self.inner.gossips().into_iter().map(|g| g.raw().into()).collect()))
    }

    /// The replica being filled, or `null`.
    pub fn current(&self) -> JsValue {
        js::to_js(&self.inner.current().into())
    }
}

crate::run_loop!(JsGateway, Gateway);
