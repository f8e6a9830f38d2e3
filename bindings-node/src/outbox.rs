//! `Outbox`: a bounded queue between a host and a remote sink (SPEC §8).

use crate::js::{self, Num};
use napi::bindgen_prelude::{Uint8ArraySlice, Unknown};
use napi::{Env, Result};
use napi_derive::napi;
use shardtally::outbox;
use shardtally_api::{options, views, Value};

/// An outbox (the native half of the public `Outbox`).
#[napi]
pub struct Outbox {
    inner: outbox::Outbox,
}

crate::machine!(Outbox, |inner| Outbox { inner }, options::new_outbox, options::restore_outbox, rows: options::outbox_from_rows);

#[napi]
impl Outbox {
    /// Queues a message (never blocks); an `OfferOutcome`.
    #[napi]
    pub fn offer<'e>(&mut self, env: &'e Env, message: Uint8ArraySlice<'_>, now_ms: f64) -> Result<Unknown<'e>> {
        let now = js::time(env, now_ms)?;
        js::to_js(env, &views::offer_outcome(self.inner.offer(message.to_vec(), now)).into())
    }

    /// The sink took message `id`; whether it was in flight.
    #[napi]
    pub fn sent(&mut self, env: &Env, id: Num, now_ms: f64) -> Result<bool> {
        let id = js::uint(env, "id", &id, u64::MAX)?;
        Ok(self.inner.sent(id, js::time(env, now_ms)?))
    }

    /// Sending message `id` failed; whether it was in flight.
    #[napi]
    pub fn failed(&mut self, env: &Env, id: Num, now_ms: f64) -> Result<bool> {
        let id = js::uint(env, "id", &id, u64::MAX)?;
        Ok(self.inner.failed(id, js::time(env, now_ms)?))
    }

    /// Stops taking offers and drains.
    #[napi]
    pub fn close(&mut self, env: &Env, now_ms: f64) -> Result<()> {
        self.inner.close(js::time(env, now_ms)?);
        Ok(())
    }

    /// Messages held.
    #[napi]
    pub fn len(&self) -> f64 {
        self.inner.len() as f64
    }

    /// Whether no message is held.
    #[napi]
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Ids of the queued messages, in order.
    #[napi]
    pub fn queued_ids<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        ids(env, self.inner.queued_ids())
    }

    /// Ids of the messages in flight.
    #[napi]
    pub fn in_flight_ids<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        ids(env, self.inner.in_flight_ids())
    }

    /// Whether a reconnect is scheduled.
    #[napi]
    pub fn is_reconnecting(&self) -> bool {
        self.inner.is_reconnecting()
    }

    /// Whether `close` was called.
    #[napi]
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Closed and nothing held.
    #[napi]
    pub fn is_drained(&self) -> bool {
        self.inner.is_drained()
    }
}

fn ids(env: &Env, v: Vec<u64>) -> Result<Unknown<'_>> {
    js::to_js(env, &Value::List(v.into_iter().map(Value::from).collect()))
}

crate::run_loop!(Outbox);
