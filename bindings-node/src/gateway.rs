//! `Gateway`: routes requests to replicas with a connection limit each (SPEC §6).

use crate::js::{self, Num};
use napi::bindgen_prelude::{Uint32ArraySlice, Uint8ArraySlice, Unknown};
use napi::{Env, Result};
use napi_derive::napi;
use shardtally::{self as st, CreationId, GossipId};
use shardtally_api::{options, views, AnyError, Value};

/// A gateway (the native half of the public `Gateway`).
#[napi]
pub struct Gateway {
    inner: st::Gateway,
}

fn id(env: &Env, argument: &str, v: &Num) -> Result<u64> {
    js::uint(env, argument, v, u64::MAX)
}

crate::machine!(Gateway, |inner| Gateway { inner }, options::new_gateway, options::restore_gateway, rows: options::gateway_from_rows);

#[napi]
impl Gateway {
    /// Picks the replica for a request; a `Route`.
    #[napi]
    pub fn route<'e>(&mut self, env: &'e Env, request: String, now_ms: f64) -> Result<Unknown<'e>> {
        let now = js::time(env, now_ms)?;
        js::out(env, self.inner.route(&request, now).map(|r| views::route(&r)))
    }

    /// The host created the replica of `creation`; a `Placement`.
    #[napi]
    pub fn handle_replica_created<'e>(&mut self, env: &'e Env, creation: Num, replica: String, now_ms: f64) -> Result<Unknown<'e>> {
        let creation = CreationId::from_raw(id(env, "creation", &creation)?);
        let now = js::time(env, now_ms)?;
        js::out(env, self.inner.handle_replica_created(creation, &replica, now).map(|p| views::placement(&p)))
    }

    /// The host could not create a replica; the requests released, or `null`.
    #[napi]
    pub fn handle_creation_failed<'e>(&mut self, env: &'e Env, creation: Num, now_ms: f64) -> Result<Unknown<'e>> {
        let creation = CreationId::from_raw(id(env, "creation", &creation)?);
        let now = js::time(env, now_ms)?;
        js::to_js(env, &self.inner.handle_creation_failed(creation, now).map(|r| views::strings(&r)).into())
    }

    /// A connection opened on a replica; a `ConnectOutcome`.
    #[napi]
    pub fn handle_connect<'e>(
        &mut self,
        env: &'e Env,
        group: String,
        replica: String,
        connection: String,
        request: String,
        now_ms: f64,
    ) -> Result<Unknown<'e>> {
        let now = js::time(env, now_ms)?;
        js::out(env, self.inner.handle_connect(&group, &replica, &connection, &request, now).map(views::connect_outcome))
    }

    /// A connection closed (idempotent); whether it was open.
    #[napi]
    pub fn handle_close(&mut self, env: &Env, group: String, replica: String, connection: String, now_ms: f64) -> Result<bool> {
        let now = js::time(env, now_ms)?;
        self.inner.handle_close(&group, &replica, &connection, now).map_err(|e| js::error(env, e))
    }

    /// A replica's open connections (`[connection, request]` pairs, packed as keys).
    #[napi]
    pub fn handle_report(
        &mut self,
        env: &Env,
        group: String,
        replica: String,
        joined: String,
        lens: Uint32ArraySlice<'_>,
        now_ms: f64,
    ) -> Result<()> {
        let now = js::time(env, now_ms)?;
        let ids = shardtally_api::js::split_keys(&joined, &lens).filter(|k| k.len() % 2 == 0).ok_or_else(|| js::internal("pairs"))?;
        let pairs: Vec<(&str, &str)> = ids.chunks(2).map(|p| (p[0], p[1])).collect();
        self.inner.handle_report(&group, &replica, &pairs, now).map_err(|e| js::error(env, e))
    }

    /// Asks every peer of a replica; a `GossipPlan`.
    #[napi]
    pub fn gossip<'e>(&mut self, env: &'e Env, group: String, replica: String, now_ms: f64) -> Result<Unknown<'e>> {
        let now = js::time(env, now_ms)?;
        js::out(env, self.inner.gossip(&group, &replica, now).map(|p| views::gossip_plan(&p)))
    }

    /// A peer answered a gossip; whether the gossip was waiting for it.
    #[napi]
    pub fn handle_gossip_reply(
        &mut self,
        env: &Env,
        group: String,
        gossip: Num,
        peer: String,
        payload: Uint8ArraySlice<'_>,
        now_ms: f64,
    ) -> Result<bool> {
        let gossip = GossipId::from_raw(id(env, "gossip", &gossip)?);
        let now = js::time(env, now_ms)?;
        self.inner.handle_gossip_reply(&group, gossip, &peer, &payload, now).map_err(|e| js::error(env, e))
    }

    /// A peer could not answer a gossip; whether the gossip was waiting for it.
    #[napi]
    pub fn handle_gossip_failure(&mut self, env: &Env, group: String, gossip: Num, peer: String, now_ms: f64) -> Result<bool> {
        let gossip = GossipId::from_raw(id(env, "gossip", &gossip)?);
        let now = js::time(env, now_ms)?;
        self.inner.handle_gossip_failure(&group, gossip, &peer, now).map_err(|e| js::error(env, e))
    }

    /// Who receives a message on the sender's own replica; `[Delivery]`.
    #[napi]
    pub fn emit<'e>(&self, env: &'e Env, group: String, replica: String, sender: String, include_sender: bool) -> Result<Unknown<'e>> {
        deliveries(env, self.inner.emit(&group, &replica, &sender, include_sender))
    }

    /// Who receives a message on every replica; `[Delivery]`.
    #[napi]
    pub fn broadcast<'e>(&self, env: &'e Env, group: String, replica: String, sender: String, include_sender: bool) -> Result<Unknown<'e>> {
        deliveries(env, self.inner.broadcast(&group, &replica, &sender, include_sender))
    }

    /// Who receives a message for one request id; `[Delivery]`.
    #[napi]
    pub fn whisper<'e>(&self, env: &'e Env, group: String, replica: String, sender: String, target: String) -> Result<Unknown<'e>> {
        deliveries(env, self.inner.whisper(&group, &replica, &sender, &target))
    }

    /// The group this gateway routes for.
    #[napi]
    pub fn group(&self) -> String {
        self.inner.group().to_owned()
    }

    /// Every replica, in creation order.
    #[napi]
    pub fn replicas<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        js::to_js(env, &views::replica_views(&self.inner.replicas()))
    }

    /// One replica, or `null`.
    #[napi]
    pub fn replica<'e>(&self, env: &'e Env, id: String) -> Result<Unknown<'e>> {
        js::to_js(env, &self.inner.replica(&id).map(|r| views::replica_view(&r)).into())
    }

    /// A replica's open connections, or `null`.
    #[napi]
    pub fn connections<'e>(&self, env: &'e Env, replica: String) -> Result<Unknown<'e>> {
        js::to_js(env, &self.inner.connections(&replica).map(|c| views::connections(&c)).into())
    }

    /// The replica a request id is on, or `null`.
    #[napi]
    pub fn sticky<'e>(&self, env: &'e Env, request: String) -> Result<Unknown<'e>> {
        js::to_js(env, &self.inner.sticky(&request).into())
    }

    /// Request ids with a connection, a reservation or a pending creation.
    #[napi]
    pub fn request_ids(&self) -> f64 {
        self.inner.request_ids() as f64
    }

    /// Live reservations, oldest first.
    #[napi]
    pub fn reservations<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        js::to_js(env, &views::reservation_views(&self.inner.reservations()))
    }

    /// Creations waiting for the host.
    #[napi]
    pub fn pending_creations<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        js::to_js(env, &views::pending_creations(&self.inner.pending_creations()))
    }

    /// Gossips in flight.
    #[napi]
    pub fn gossips<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        js::to_js(env, &Value::List(self.inner.gossips().into_iter().map(|g| g.raw().into()).collect()))
    }

    /// The replica being filled, or `null`.
    #[napi]
    pub fn current<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        js::to_js(env, &self.inner.current().into())
    }
}

fn deliveries<'e>(env: &'e Env, plan: std::result::Result<Vec<st::Delivery>, st::Error>) -> Result<Unknown<'e>> {
    js::out(env, plan.map(|p| views::deliveries(&p)).map_err(AnyError::from))
}

crate::run_loop!(Gateway);
