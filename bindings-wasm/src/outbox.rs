//! `Outbox`: a bounded queue between a host and a remote sink (SPEC §8).

use crate::js::{self, JsResult};
use shardtally::outbox;
use shardtally_api::{options, views, Value};
use wasm_bindgen::prelude::*;

/// An outbox (the native half of the public `Outbox`).
#[wasm_bindgen(js_name = Outbox)]
pub struct JsOutbox {
    inner: outbox::Outbox,
}

crate::machine!(JsOutbox, Outbox, |inner| JsOutbox { inner }, options::new_outbox, options::restore_outbox, rows: options::outbox_from_rows);

#[wasm_bindgen(js_class = Outbox)]
impl JsOutbox {
    /// Queues a message (never blocks); an `OfferOutcome`.
    pub fn offer(&mut self, message: Vec<u8>, now_ms: f64) -> JsResult<JsValue> {
        let now = js::time(now_ms)?;
        Ok(js::to_js(&views::offer_outcome(self.inner.offer(message, now)).into()))
    }

    /// The sink took message `id`; whether it was in flight.
    pub fn sent(&mut self, id: JsValue, now_ms: f64) -> JsResult<bool> {
        let id = js::uint("id", &id, u64::MAX)?;
        Ok(self.inner.sent(id, js::time(now_ms)?))
    }

    /// Sending message `id` failed; whether it was in flight.
    pub fn failed(&mut self, id: JsValue, now_ms: f64) -> JsResult<bool> {
        let id = js::uint("id", &id, u64::MAX)?;
        Ok(self.inner.failed(id, js::time(now_ms)?))
    }

    /// Stops taking offers and drains.
    pub fn close(&mut self, now_ms: f64) -> JsResult<()> {
        self.inner.close(js::time(now_ms)?);
        Ok(())
    }

    /// Messages held.
    pub fn len(&self) -> f64 {
        self.inner.len() as f64
    }

    /// Whether no message is held.
    #[wasm_bindgen(js_name = isEmpty)]
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Ids of the queued messages, in order.
    #[wasm_bindgen(js_name = queuedIds)]
    pub fn queued_ids(&self) -> JsValue {
        ids(self.inner.queued_ids())
    }

    /// Ids of the messages in flight.
    #[wasm_bindgen(js_name = inFlightIds)]
    pub fn in_flight_ids(&self) -> JsValue {
        ids(self.inner.in_flight_ids())
    }

    /// Whether a reconnect is scheduled.
    #[wasm_bindgen(js_name = isReconnecting)]
    pub fn is_reconnecting(&self) -> bool {
        self.inner.is_reconnecting()
    }

    /// Whether `close` was called.
    #[wasm_bindgen(js_name = isClosed)]
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Closed and nothing held.
    #[wasm_bindgen(js_name = isDrained)]
    pub fn is_drained(&self) -> bool {
        self.inner.is_drained()
    }
}

fn ids(v: Vec<u64>) -> JsValue {
    js::to_js(&Value::List(v.into_iter().map(Value::from).collect()))
}

crate::run_loop!(JsOutbox, Outbox);
