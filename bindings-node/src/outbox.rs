//! `Outbox`: a bounded queue between a host and a remote sink (SPEC §8).

use crate::js::{self, Num};
use napi::bindgen_prelude::{Array, Uint32ArraySlice, Uint8ArraySlice, Unknown};
use napi::{Env, Result};
use napi_derive::napi;
use shardtally::outbox;
use shardtally_api::{options, views, Naming, Value};

/// An outbox (the native half of the public `Outbox`).
#[napi]
pub struct Outbox {
    inner: outbox::Outbox,
}

#[napi]
impl Outbox {
    /// An outbox from options (its settings).
    #[napi(constructor)]
    pub fn new(env: &Env, names: Vec<String>, values: Array<'_>) -> Result<Self> {
        js::make(env, names, &values, |o| options::new_outbox(Naming::Camel, o)).map(|inner| Outbox { inner })
    }

    /// An outbox from `snapshot()` bytes and its settings.
    #[napi(factory)]
    pub fn restore(env: &Env, bytes: Uint8ArraySlice<'_>, names: Vec<String>, values: Array<'_>) -> Result<Self> {
        js::make(env, names, &values, |o| options::restore_outbox(Naming::Camel, &bytes, o)).map(|inner| Outbox { inner })
    }

    /// An outbox from its stored `(table, value)` pairs (packed: `js::pairs`) and its settings.
    #[napi(factory)]
    pub fn from_rows(
        env: &Env,
        tables: String,
        lens: Uint32ArraySlice<'_>,
        bytes: Uint8ArraySlice<'_>,
        names: Vec<String>,
        values: Array<'_>,
    ) -> Result<Self> {
        let pairs = js::pairs(&tables, &lens, &bytes)?;
        js::make(env, names, &values, |o| options::outbox_from_rows(Naming::Camel, pairs, o)).map(|inner| Outbox { inner })
    }

    /// The row changes since the last call, as `RowOp`s (packed: `js::row_ops`).
    #[napi]
    pub fn take_changes<'e>(&mut self, env: &'e Env) -> Result<Unknown<'e>> {
        js::row_ops(env, self.inner.take_changes().iter().map(|r| r.op()))
    }

    /// Every row of the state, as `put` `RowOp`s.
    #[napi]
    pub fn rows<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        js::row_ops(env, self.inner.rows().iter().map(|r| r.op()))
    }

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
