//! # shardtally
//!
//! An embeddable, no-I/O counter engine. When one counter row, one Redis key or one Durable
//! Object cannot take the write rate, spread increments over [`Shard`]s: each buffers deltas
//! per key and flushes them as a [`Batch`] when enough requests arrived, when traffic went
//! idle or when the oldest delta got old. A [`Global`] aggregator applies every batch exactly
//! once, keeps the totals and tells the host when to persist them. A [`Router`] picks the
//! shard for each increment.
//!
//! Every machine is a pure state machine: it never reads a clock, draws randomness, spawns
//! threads or does I/O. The host feeds inputs stamped with its own time and carries out the
//! outputs, so the same engine runs in a Durable Object, a Python worker, a Node server or a
//! test with a fake clock.
//!
//! ## The run loop
//!
//! After every input, drain the outputs and re-arm one timer:
//!
//! ```text
//! input (with now)  ──►  machine  ──►  take_changes()        → write the changed rows (durable hosts)
//!                                      (or take_state_changed() → persist snapshot())
//!                                 ──►  poll_output()         → send batch / ack / publish / notice
//!                                 ──►  poll_timeout()        → call handle_timeout(now) then
//! ```
//!
//! Outcomes of effects come back as inputs: the [`Ack`] a global returns goes to
//! [`Shard::handle_ack`]; a failed send goes to [`Shard::handle_failure`]; a persisted
//! [`Publish`] goes to [`Global::handle_publish_ack`]; a [`GenerationNotice`] a reset emits
//! goes to [`Shard::handle_generation_notice`] at once.
//!
//! A durable host persists either the whole [`snapshot`](Shard::snapshot) when
//! [`take_state_changed`](Shard::take_state_changed) says so, or — cheaper, since its cost
//! follows the change rather than the number of keys — the rows of
//! [`take_changes`](Shard::take_changes) (see [`journal`]). Both are exact: nothing is
//! reported and no row is yielded for an input that changed nothing.
//!
//! ```
//! use shardtally::*;
//!
//! let shard_config = ShardConfig::builder().flush_after_requests(3).build()?;
//! let mut router = Router::new(RouterConfig::builder().shard_count(2).build()?);
//! let mut shards: Vec<Shard> =
//!     (0..2).map(|i| Shard::new(shard_config, ShardRef { shard: i, incarnation: 1 })).collect();
//! let mut global = Global::new(GlobalConfig::builder().persist_after_writes(1).build()?);
//! let mut store = Vec::new(); // stands in for a database
//!
//! for (i, key) in ["a", "b", "a", "c", "a", "b"].iter().enumerate() {
//!     let now = Timestamp::from_millis(i as u64 * 10);
//!     let shard = &mut shards[router.route(key) as usize];
//!     shard.increment(key, 1, now)?;
//!     // Drain the shard's outputs: deliver batches, route the acks back.
//!     while let Some(ShardOutput::SendBatch(batch)) = shard.poll_output() {
//!         let ack = global.handle_batch(&batch, now)?;
//!         shard.handle_ack(&ack, now)?;
//!     }
//!     // Drain the global's outputs: persist publishes, acknowledge them.
//!     while let Some(out) = global.poll_output() {
//!         if let GlobalOutput::Publish(p) = out {
//!             store.push(p.entries.clone());
//!             global.handle_publish_ack(p.version, now);
//!         }
//!     }
//! }
//! // Whatever is still pending goes out when its timer fires.
//! for shard in &mut shards {
//!     let Some(deadline) = shard.poll_timeout() else { continue };
//!     shard.handle_timeout(deadline);
//!     while let Some(ShardOutput::SendBatch(batch)) = shard.poll_output() {
//!         let ack = global.handle_batch(&batch, deadline)?;
//!         shard.handle_ack(&ack, deadline)?;
//!     }
//! }
//! assert_eq!(global.totals(), vec![("a", 3), ("b", 2), ("c", 1)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Guarantees
//!
//! - **Exactly once.** A shard keeps one batch in flight and re-sends it unchanged until
//!   acknowledged; the global applies each `(shard, incarnation, seq)` once.
//! - **Atomic inputs.** A rejected input returns a typed [`Error`] and changes nothing.
//! - **Checked arithmetic.** Deltas and totals are `i64`; overflow is an error.
//! - **Bounded.** Every table has a configured bound.
//! - **Deterministic.** Same inputs, same seed → byte-identical outputs and snapshots.
//! - **Durable.** [`Shard::snapshot`] / [`Global::snapshot`] capture everything, deadlines
//!   and in-flight batches included; the change journal ([`journal`]) persists the same state
//!   row by row, O(change) per input. Decoding bad bytes is an error, never a panic, and every
//!   encoding carries a CRC-32C checksum ([`DecodeError::Checksum`]).
//! - **Resets stick.** A reset's [`GenerationNotice`]s teach every shard at once; a host that
//!   acknowledges a reset only after every shard learned it never drops an increment accepted
//!   after that acknowledgement, and no increment accepted before a shard learned counts.
//!
//! ## Modules
//!
//! One module per machine: [`shard`], [`global`], [`router`]; plus [`partition`] (stable
//! hashing), [`time`], [`config`] (with [`settings`], the settings as data), [`error`],
//! [`message`], [`writelog`], [`snapshot`] and [`journal`] (row-level persistence). The
//! other machines: [`gateway`] routes clients to replicas under a connection limit and plans
//! messages between them (DOG); [`membership`] gives the live processes of a cluster unique
//! shard indices with epochs; [`buckets`] counts events per key and day with additive
//! rollups (and names the keys of counted HTTP requests); [`outbox`] is a bounded, drop-counting queue in front of a remote sink.
#![cfg_attr(
    feature = "testing",
    doc = "With the `testing` feature, [`testing`] holds a deterministic simulation of shards, globals and a faulty network."
)]
#![cfg_attr(
    not(feature = "testing"),
    doc = "With the `testing` feature, `testing` holds a deterministic simulation of shards, globals and a faulty network."
)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod buckets;
pub mod config;
pub mod error;
pub mod gateway;
pub mod global;
pub mod journal;
mod keys;
pub mod membership;
pub mod message;
pub mod outbox;
pub mod partition;
mod rng;
pub mod router;
pub mod settings;
pub mod shard;
pub mod snapshot;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
mod totals;
pub mod writelog;

pub use buckets::{Buckets, BucketsConfig, BucketsConfigBuilder};
pub use config::{
    GlobalConfig, GlobalConfigBuilder, PublishMode, RouterConfig, RouterConfigBuilder, ShardConfig, ShardConfigBuilder, Strategy,
};
pub use error::{ConfigError, DecodeError, Error};
pub use gateway::{
    Audience, ConnectOutcome, CreationId, Delivery, Gateway, GatewayConfig, GatewayConfigBuilder, GatewayOutput, GatewayStats,
    GatewayTimer, GossipId, GossipPlan, GossipResult, Placement, ReplicaView, ReservationView, Route, RouteReason,
};
pub use global::{Global, GlobalOutput, GlobalStats, GlobalTimer, Publish, PublishOutcome, PublishReason, ResetOutcome};
pub use keys::KeyId;
pub use membership::{
    Assignment, ClusterInfo, LostReason, Membership, MembershipConfig, MembershipConfigBuilder, MembershipOutput, MembershipStats,
    MembershipTimer, ShardInfo, ShardLost,
};
pub use message::{Ack, Batch, BatchEntry, FlushReason, GenerationNotice, ShardRef};
pub use outbox::{Outbox, OutboxConfig, OutboxConfigBuilder};
pub use router::Router;
pub use shard::{CoalescingRoom, Deadline, FlushOutcome, Shard, ShardOutput, ShardStats, ShardTimer};
pub use time::Timestamp;
pub use writelog::{ShardWrites, WriteKind, WriteRecord};

/// The top-level README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
