//! The outbox: a bounded queue between a host and a remote sink that never blocks, counts
//! every drop by reason, reconnects with seeded jitter after a failure, re-sends a failed
//! message once and keeps buffering whatever happens (`count`'s client worker died after one
//! failed reconnect and stranded its queue).
//!
//! ```
//! use shardtally::outbox::{OfferOutcome, Outbox, OutboxConfig, OutboxOutput};
//! use shardtally::Timestamp;
//!
//! let mut outbox = Outbox::new(OutboxConfig::builder().capacity(2).build()?);
//! let t = Timestamp::from_millis(0);
//! assert_eq!(outbox.offer(b"a".to_vec(), t), OfferOutcome::Queued { id: 1 });
//! outbox.offer(b"b".to_vec(), t);
//! assert!(matches!(outbox.offer(b"c".to_vec(), t), OfferOutcome::Dropped(_)), "full: dropped, counted");
//!
//! // One message in flight at a time (max_in_flight = 1).
//! let Some(OutboxOutput::Send { id, message, .. }) = outbox.poll_output() else { unreachable!() };
//! assert_eq!((id, message.as_slice()), (1, &b"a"[..]));
//! assert!(outbox.poll_output().is_none());
//! outbox.sent(id, t);
//! assert!(matches!(outbox.poll_output(), Some(OutboxOutput::Send { id: 2, .. })));
//!
//! // A failure: reconnect after a seeded delay in [200, 5000) ms, then re-send once.
//! outbox.failed(2, t);
//! let reconnect = outbox.poll_timeout().unwrap();
//! assert!((200..5_000).contains(&reconnect.as_millis()));
//! outbox.handle_timeout(reconnect);
//! assert_eq!(outbox.poll_output(), Some(OutboxOutput::Reconnect));
//! assert!(matches!(outbox.poll_output(), Some(OutboxOutput::Send { id: 2, attempt: 2, .. })));
//! outbox.sent(2, reconnect);
//! assert_eq!(outbox.stats().delivered, 2);
//! # Ok::<(), shardtally::ConfigError>(())
//! ```

mod config;
mod rows;

pub use config::{OutboxConfig, OutboxConfigBuilder};
pub use rows::{OutboxMeta, OutboxRow, OutboxTable};

use crate::error::DecodeError;
use crate::rng::Rng;
use crate::shard::Deadline;
use crate::snapshot::{self, Kind};
use crate::time::Timestamp;
use rows::{OutboxJournal, Touch};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Transmissions of a message before it is given up: the first send and one re-send.
const MAX_ATTEMPTS: u32 = 2;

/// Why a message was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Offered while `capacity` messages were held.
    Full,
    /// Offered after [`Outbox::close`].
    Closed,
    /// Larger than `max_message_bytes`.
    TooLarge,
    /// Its send failed, and so did the one re-send.
    GaveUp,
}

impl DropReason {
    /// Every reason, in a stable order.
    pub const ALL: [DropReason; 4] = [DropReason::Full, DropReason::Closed, DropReason::TooLarge, DropReason::GaveUp];

    /// The reason as a stable lower-case string.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Full => "full",
            DropReason::Closed => "closed",
            DropReason::TooLarge => "too_large",
            DropReason::GaveUp => "gave_up",
        }
    }
}

/// What [`Outbox::offer`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OfferOutcome {
    /// Held under this id until delivered or given up.
    Queued {
        /// The message's id (from 1, increasing), used by `Send`, `sent` and `failed`.
        id: u64,
    },
    /// Not accepted; counted under the reason.
    Dropped(DropReason),
}

/// What an outbox asks its host to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutboxOutput {
    /// Send this message to the sink, then report [`Outbox::sent`] or [`Outbox::failed`].
    Send {
        /// The message's id.
        id: u64,
        /// 1 for the first transmission, 2 for the re-send after a failure.
        attempt: u32,
        /// The message.
        message: Vec<u8>,
    },
    /// Re-establish the connection to the sink (the reconnect delay after a failure is
    /// over); sending resumes with the next outputs.
    Reconnect,
    /// The re-send of this message failed too: it is dropped (counted as `gave_up`), handed
    /// back for the host to log or dead-letter.
    GaveUp {
        /// The message's id.
        id: u64,
        /// The message.
        message: Vec<u8>,
    },
    /// Closed and everything held was delivered or given up. Emitted once.
    Drained,
}

/// Which of an outbox's timers a deadline belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutboxTimer {
    /// The reconnect delay after a failure is over.
    Reconnect,
    /// An in-flight message has gone unanswered for `send_timeout_ms`.
    SendTimeout,
}

impl OutboxTimer {
    /// The timer's name as a stable lower-case string.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxTimer::Reconnect => "reconnect",
            OutboxTimer::SendTimeout => "send_timeout",
        }
    }
}

/// Counters of an outbox (kept across snapshots).
///
/// Conservation: `offered == delivered + dropped_full + dropped_closed + dropped_too_large +
/// gave_up + ` the messages held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxStats {
    /// Offers, accepted or not.
    pub offered: u64,
    /// Offers accepted.
    pub queued: u64,
    /// Messages the host reported sent.
    pub delivered: u64,
    /// Offers dropped because the outbox was full.
    pub dropped_full: u64,
    /// Offers dropped because the outbox was closed.
    pub dropped_closed: u64,
    /// Offers dropped because they were too large.
    pub dropped_too_large: u64,
    /// Messages dropped after their re-send failed.
    pub gave_up: u64,
    /// Failed sends (reported or timed out).
    pub failures: u64,
    /// Of those, sends that timed out.
    pub timeouts: u64,
    /// Re-sends (second transmissions).
    pub resends: u64,
    /// Reconnects asked of the host.
    pub reconnects: u64,
}

impl OutboxStats {
    /// Drops for one reason.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        match reason {
            DropReason::Full => self.dropped_full,
            DropReason::Closed => self.dropped_closed,
            DropReason::TooLarge => self.dropped_too_large,
            DropReason::GaveUp => self.gave_up,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Message {
    id: u64,
    /// Transmissions so far.
    attempts: u32,
    bytes: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Flight {
    message: Message,
    deadline: Timestamp,
}

/// A bounded, never-blocking queue of messages for a remote sink.
///
/// # Run loop
///
/// ```text
/// loop {
///     feed one input:  offer / sent / failed / close / handle_timeout
///     write take_changes() to the row store                     // durable hosts
///       (or: if take_state_changed() { persist snapshot() })
///     while let Some(out) = poll_output() { send / reconnect / dead-letter / finish }
///     arm a timer for poll_timeout()
/// }
/// ```
///
/// # Methods by kind
///
/// - **Getters** (`&self`): [`config`](Self::config), [`len`](Self::len),
///   [`is_empty`](Self::is_empty), [`queued_ids`](Self::queued_ids),
///   [`in_flight_ids`](Self::in_flight_ids), [`is_reconnecting`](Self::is_reconnecting),
///   [`is_closed`](Self::is_closed), [`is_drained`](Self::is_drained),
///   [`stats`](Self::stats), [`next_deadline`](Self::next_deadline),
///   [`snapshot`](Self::snapshot), [`rows`](Self::rows).
/// - **Inputs** (take `now`): [`offer`](Self::offer), [`sent`](Self::sent),
///   [`failed`](Self::failed), [`close`](Self::close),
///   [`handle_timeout`](Self::handle_timeout).
/// - **Outputs**: [`poll_output`](Self::poll_output), [`poll_timeout`](Self::poll_timeout),
///   [`take_state_changed`](Self::take_state_changed), [`take_changes`](Self::take_changes)
///   (the change journal, see [`OutboxRow`]).
/// - **Rebuilding**: [`new`](Self::new), [`restore`](Self::restore) (a snapshot),
///   [`from_rows`](Self::from_rows) (stored journal rows).
///
/// # Time
///
/// `now` is milliseconds on the host's clock; a `now` earlier than one already seen is
/// treated as the latest seen. `handle_timeout` fires every deadline `<= now` and is a no-op
/// when called early or twice.
///
/// # Delivery
///
/// Messages go out in offer order, at most `max_in_flight` unanswered at a time, re-sends
/// first. A failed send (reported with [`failed`](Self::failed), or unanswered for
/// `send_timeout_ms`) pauses sending for a reconnect delay drawn from
/// `[reconnect_min_ms, reconnect_max_ms)` by the seeded generator; then
/// [`OutboxOutput::Reconnect`] asks the host to reconnect and the failed message is re-sent
/// once. If the re-send fails too, the message is dropped ([`OutboxOutput::GaveUp`], counted).
/// Nothing is fatal: offers are accepted during reconnects and after any number of failures,
/// up to `capacity`. Delivery is at least once: a send that timed out may still have
/// arrived. [`close`](Self::close) stops new offers and drains what is held.
#[derive(Debug)]
pub struct Outbox {
    config: OutboxConfig,
    now: Timestamp,
    next_id: u64,
    queue: VecDeque<Message>,
    /// Failed once, waiting to be re-sent (before `queue`), by id.
    retry: BTreeMap<u64, Message>,
    in_flight: BTreeMap<u64, Flight>,
    reconnect_at: Option<Timestamp>,
    closed: bool,
    drained_reported: bool,
    rng: Rng,
    stats: OutboxStats,
    outputs: VecDeque<OutboxOutput>,
    state_changed: bool,
    journal: OutboxJournal,
}

impl Outbox {
    /// An empty, open outbox.
    pub fn new(config: OutboxConfig) -> Outbox {
        Outbox {
            rng: Rng::new(config.seed()),
            config,
            now: Timestamp::ZERO,
            next_id: 1,
            queue: VecDeque::new(),
            retry: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            reconnect_at: None,
            closed: false,
            drained_reported: false,
            stats: OutboxStats::default(),
            outputs: VecDeque::new(),
            state_changed: false,
            journal: OutboxJournal::default(),
        }
    }

    // ----- getters -----

    /// The configuration in force.
    pub fn config(&self) -> &OutboxConfig {
        &self.config
    }

    /// Messages held: queued, waiting to be re-sent, or in flight (at most `capacity`).
    pub fn len(&self) -> usize {
        self.queue.len() + self.retry.len() + self.in_flight.len()
    }

    /// Whether no message is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ids of the messages waiting to be sent, in sending order (re-sends first).
    pub fn queued_ids(&self) -> Vec<u64> {
        self.retry.keys().copied().chain(self.queue.iter().map(|m| m.id)).collect()
    }

    /// Ids of the messages sent and not yet answered, ascending.
    pub fn in_flight_ids(&self) -> Vec<u64> {
        self.in_flight.keys().copied().collect()
    }

    /// Whether sending is paused until a reconnect.
    pub fn is_reconnecting(&self) -> bool {
        self.reconnect_at.is_some()
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Closed and nothing held.
    pub fn is_drained(&self) -> bool {
        self.closed && self.is_empty()
    }

    /// Activity counters.
    pub fn stats(&self) -> OutboxStats {
        self.stats
    }

    /// The next deadline and which timer it belongs to (on a tie, the send timeout).
    pub fn next_deadline(&self) -> Option<Deadline<OutboxTimer>> {
        let reconnect = self.reconnect_at.map(|at| Deadline { at, timer: OutboxTimer::Reconnect });
        Deadline::earlier(reconnect, self.send_deadline().map(|(at, _)| Deadline { at, timer: OutboxTimer::SendTimeout }))
    }

    // ----- inputs -----

    /// Offers a message. Never blocks: when closed, when the message is larger than
    /// `max_message_bytes` or when `capacity` messages are held (checked in that order), it
    /// is dropped and counted under that reason.
    pub fn offer(&mut self, message: Vec<u8>, now: Timestamp) -> OfferOutcome {
        let now = self.observe(now);
        self.stats.offered += 1;
        let outcome = if self.closed {
            self.stats.dropped_closed += 1;
            OfferOutcome::Dropped(DropReason::Closed)
        } else if message.len() > self.config.max_message_bytes() {
            self.stats.dropped_too_large += 1;
            OfferOutcome::Dropped(DropReason::TooLarge)
        } else if self.len() >= self.config.capacity() {
            self.stats.dropped_full += 1;
            OfferOutcome::Dropped(DropReason::Full)
        } else {
            let id = self.next_id;
            self.next_id += 1;
            self.queue.push_back(Message { id, attempts: 0, bytes: message });
            self.touch(Touch::Message(id));
            self.stats.queued += 1;
            OfferOutcome::Queued { id }
        };
        self.pump(now);
        outcome
    }

    /// The sink accepted message `id`. Returns `false` (and changes nothing, not even the
    /// clock) when `id` is not in flight.
    pub fn sent(&mut self, id: u64, now: Timestamp) -> bool {
        if !self.in_flight.contains_key(&id) {
            return false;
        }
        let now = self.observe(now);
        self.in_flight.remove(&id);
        self.touch(Touch::Message(id));
        self.touch(Touch::Send(id));
        self.stats.delivered += 1;
        self.pump(now);
        true
    }

    /// Sending message `id` failed: a reconnect is scheduled (unless one is) and the message
    /// is re-sent after it — or, if this was its re-send, dropped as `gave_up`. Returns
    /// `false` (and changes nothing, not even the clock) when `id` is not in flight.
    pub fn failed(&mut self, id: u64, now: Timestamp) -> bool {
        let Some(flight) = self.in_flight.remove(&id) else { return false };
        let now = self.observe(now);
        self.fail(flight.message, now);
        self.pump(now);
        true
    }

    /// Stops accepting offers (later ones are dropped as `closed`); what is held is still
    /// delivered, and [`OutboxOutput::Drained`] follows once nothing is held. Closing twice
    /// changes nothing.
    pub fn close(&mut self, now: Timestamp) {
        if self.closed {
            return;
        }
        let now = self.observe(now);
        self.closed = true;
        self.pump(now);
    }

    /// Fires every deadline `<= now`: send timeouts (treated as failures) and the
    /// reconnect. Early or repeated calls change nothing.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let now = now.max(self.now);
        if self.next_deadline().is_none_or(|d| d.at > now) {
            return;
        }
        let now = self.observe(now);
        while let Some(d) = self.next_deadline().filter(|d| d.at <= now) {
            match d.timer {
                OutboxTimer::Reconnect => {
                    self.reconnect_at = None;
                    self.stats.reconnects += 1;
                    self.outputs.push_back(OutboxOutput::Reconnect);
                }
                OutboxTimer::SendTimeout => {
                    let Some((_, id)) = self.send_deadline() else { break };
                    let Some(flight) = self.in_flight.remove(&id) else { break };
                    self.stats.timeouts += 1;
                    self.fail(flight.message, now);
                }
            }
        }
        self.pump(now);
    }

    // ----- outputs -----

    /// The next thing the host must do, if any.
    pub fn poll_output(&mut self) -> Option<OutboxOutput> {
        self.outputs.pop_front()
    }

    /// The earliest deadline: call [`handle_timeout`](Self::handle_timeout) then.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.next_deadline().map(|d| d.at)
    }

    /// Whether the state changed since the last call (exactly when
    /// [`snapshot`](Self::snapshot) would differ; then a durable host persists it).
    pub fn take_state_changed(&mut self) -> bool {
        std::mem::take(&mut self.state_changed)
    }

    // ----- snapshots -----

    /// The whole state as versioned bytes: held messages, in-flight sends and their
    /// deadlines, the reconnect deadline, the generator and the counters.
    pub fn snapshot(&self) -> Vec<u8> {
        snapshot::encode(
            Kind::OutboxSnapshot,
            &OutboxState {
                now: self.now,
                next_id: self.next_id,
                queue: self.queue.iter().cloned().collect(),
                retry: self.retry.values().cloned().collect(),
                in_flight: self.in_flight.values().cloned().collect(),
                reconnect_at: self.reconnect_at,
                closed: self.closed,
                drained_reported: self.drained_reported,
                rng: self.rng.clone(),
                stats: self.stats,
            },
        )
    }

    /// Restores an outbox from [`snapshot`](Self::snapshot) bytes. Messages that were in
    /// flight are offered again by [`poll_output`](Self::poll_output) (same id and attempt):
    /// the host may have crashed before sending them.
    pub fn restore(bytes: &[u8], config: OutboxConfig) -> Result<Outbox, DecodeError> {
        Outbox::from_state(snapshot::decode(Kind::OutboxSnapshot, bytes)?, config)
    }

    /// An outbox from its state (a decoded snapshot, or rebuilt journal rows), validated.
    fn from_state(s: OutboxState, config: OutboxConfig) -> Result<Outbox, DecodeError> {
        fn corrupt(reason: impl Into<String>) -> DecodeError {
            DecodeError::corrupt(reason)
        }
        if s.next_id == 0 {
            return Err(corrupt("next id 0"));
        }
        let held = s.queue.len() + s.retry.len() + s.in_flight.len();
        if held > config.capacity() {
            return Err(corrupt(format!("{held} messages held, capacity {}", config.capacity())));
        }
        if s.in_flight.len() > config.max_in_flight() {
            return Err(corrupt(format!("{} messages in flight, at most {}", s.in_flight.len(), config.max_in_flight())));
        }
        if s.drained_reported && !s.closed {
            return Err(corrupt("drained but not closed"));
        }
        let mut o = Outbox::new(config);
        let mut last_queued = 0;
        for m in s.queue {
            if m.attempts != 0 || m.id <= last_queued {
                return Err(corrupt("queued messages out of order"));
            }
            last_queued = m.id;
            o.check_message(&m, s.next_id)?;
            o.queue.push_back(m);
        }
        for m in s.retry {
            if m.attempts != 1 {
                return Err(corrupt("a message to re-send was not sent once"));
            }
            o.check_message(&m, s.next_id)?;
            o.retry.insert(m.id, m);
        }
        for f in s.in_flight {
            if !(1..=MAX_ATTEMPTS).contains(&f.message.attempts) {
                return Err(corrupt("an in-flight message with an impossible attempt"));
            }
            o.check_message(&f.message, s.next_id)?;
            o.in_flight.insert(f.message.id, f);
        }
        if o.len() != held {
            return Err(corrupt("a message id held twice"));
        }
        o.now = s.now;
        o.next_id = s.next_id;
        o.reconnect_at = s.reconnect_at;
        o.closed = s.closed;
        o.drained_reported = s.drained_reported;
        o.rng = s.rng;
        o.stats = s.stats;
        for f in o.in_flight.values() {
            o.outputs.push_back(OutboxOutput::Send { id: f.message.id, attempt: f.message.attempts, message: f.message.bytes.clone() });
        }
        // The store holds the state so far; what the window fills below is journaled.
        o.journal.last_meta = Some(o.meta());
        // A larger window than the snapshot's fills now.
        let now = o.now;
        o.pump(now);
        Ok(o)
    }

    // ----- internals -----

    fn observe(&mut self, now: Timestamp) -> Timestamp {
        self.now = self.now.max(now);
        self.state_changed = true;
        self.now
    }

    /// The earliest send deadline and its message (the lowest id on a tie).
    fn send_deadline(&self) -> Option<(Timestamp, u64)> {
        self.in_flight.iter().map(|(id, f)| (f.deadline, *id)).min()
    }

    /// A send failed: schedule a reconnect, then re-send once or give up.
    fn fail(&mut self, message: Message, now: Timestamp) {
        self.stats.failures += 1;
        if self.reconnect_at.is_none() {
            let span = self.config.reconnect_max_ms() - self.config.reconnect_min_ms();
            let delay = self.config.reconnect_min_ms() + self.rng.below(span);
            self.reconnect_at = Some(now.saturating_add(delay));
        }
        self.touch(Touch::Send(message.id));
        if message.attempts >= MAX_ATTEMPTS {
            self.touch(Touch::Message(message.id));
            self.stats.gave_up += 1;
            self.outputs.push_back(OutboxOutput::GaveUp { id: message.id, message: message.bytes });
        } else {
            self.retry.insert(message.id, message);
        }
    }

    /// Sends what the window allows (unless reconnecting) and reports a finished drain.
    fn pump(&mut self, now: Timestamp) {
        while self.reconnect_at.is_none() && self.in_flight.len() < self.config.max_in_flight() {
            let Some(mut message) = self.retry.pop_first().map(|(_, m)| m).or_else(|| self.queue.pop_front()) else { break };
            message.attempts += 1;
            if message.attempts > 1 {
                self.stats.resends += 1;
            }
            self.outputs.push_back(OutboxOutput::Send { id: message.id, attempt: message.attempts, message: message.bytes.clone() });
            let deadline = now.saturating_add(self.config.send_timeout_ms());
            self.touch(Touch::Send(message.id));
            self.in_flight.insert(message.id, Flight { message, deadline });
            self.state_changed = true;
        }
        if self.is_drained() && !self.drained_reported {
            self.drained_reported = true;
            self.outputs.push_back(OutboxOutput::Drained);
            self.state_changed = true;
        }
    }

    fn check_message(&self, m: &Message, next_id: u64) -> Result<(), DecodeError> {
        if m.id == 0 || m.id >= next_id {
            return Err(DecodeError::corrupt(format!("message id {} was never issued", m.id)));
        }
        if m.bytes.len() > self.config.max_message_bytes() {
            return Err(DecodeError::corrupt(format!("message {} is larger than max_message_bytes", m.id)));
        }
        Ok(())
    }
}

/// The serialized form of an outbox.
#[derive(Serialize, Deserialize)]
struct OutboxState {
    now: Timestamp,
    next_id: u64,
    queue: Vec<Message>,
    retry: Vec<Message>,
    in_flight: Vec<Flight>,
    reconnect_at: Option<Timestamp>,
    closed: bool,
    drained_reported: bool,
    rng: Rng,
    stats: OutboxStats,
}
