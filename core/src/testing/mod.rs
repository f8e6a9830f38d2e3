//! A deterministic simulation of shards, globals and a faulty network (feature `testing`).
//!
//! [`Sim`] wires N shards to a global — or, in a two-level tree, to mid-level globals that
//! forward to a top-level global — through a [`Network`] that can drop, duplicate, reorder
//! and delay batches, acknowledgements and generation notices. Every simulated host is
//! *durable*: after each input it persists its snapshot and its change journal (into a
//! [`RowStore`](crate::journal::RowStore)), then sends its outputs; it checks that the change
//! report, the journal and the snapshot agree, and (for every fourth seed) that the rows
//! rebuild the same machine; restarts alternate between the snapshot and the rows. A crash can hit any input at
//! either effect boundary (before the persist, or after it and before the sends); the host
//! comes back from its last persisted snapshot or rows. Timeouts can fire twice, the clock
//! can step backwards, publishes can fail, keys can be reset (at the top global, also in
//! two-level trees). Everything is driven by a seed and
//! nothing sleeps: the clock jumps.
//!
//! After every step [`Sim::check`] verifies conservation per key:
//! accepted increments (that still count after resets) = global total + pending + in flight
//! (not yet applied). [`Sim::quiesce`] then delivers everything and verifies that totals equal
//! accepted increments exactly and that the published store agrees.
//!
//! ```
//! use shardtally::testing::{Sim, SimConfig};
//!
//! for seed in 0..20 {
//!     let mut sim = Sim::new(SimConfig::random(seed));
//!     sim.run_random(40).expect("invariant holds");
//!     sim.quiesce().expect("totals exact at quiescence");
//! }
//! ```

pub mod fuzz;
mod network;
mod sim;

pub use network::{Message, Network, Node};
pub use sim::{CrashPoint, Faults, Op, Sim, SimConfig, SimReport, Violation};
