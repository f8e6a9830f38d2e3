//! Bodies of the fuzz targets in `fuzz/`, shared with the stable test that replays committed
//! crashers (`core/tests/fuzz_regressions.rs`).

use super::{Op, Sim, SimConfig};
use crate::journal::{GatewayRow, GlobalRow, OutboxRow, ShardRow};
use crate::outbox::{Outbox, OutboxConfig};
use crate::{Ack, Batch, Gateway, GatewayConfig, GenerationNotice, Global, GlobalConfig, Router, Shard, ShardConfig};

/// Decodes arbitrary bytes with every decoder, as they are and with a valid checksum
/// appended (so the body decoders are reached). None may panic; whatever decodes must
/// re-encode to a snapshot that decodes to the same bytes again.
pub fn snapshot_decode(data: &[u8]) {
    decode_all(data);
    decode_all(&crate::snapshot::seal(data));
}

fn decode_all(data: &[u8]) {
    if let Ok(s) = Shard::restore(data, ShardConfig::default()) {
        let bytes = s.snapshot();
        let again = Shard::restore(&bytes, ShardConfig::default()).map(|s| s.snapshot());
        assert_eq!(again.as_deref(), Ok(&bytes[..]), "shard snapshot does not round-trip");
    }
    if let Ok(g) = Global::restore(data, GlobalConfig::default()) {
        let bytes = g.snapshot();
        let again = Global::restore(&bytes, GlobalConfig::default()).map(|g| g.snapshot());
        assert_eq!(again.as_deref(), Ok(&bytes[..]), "global snapshot does not round-trip");
    }
    if let Ok(r) = Router::restore(data) {
        assert_eq!(Router::restore(&r.snapshot()).as_ref(), Ok(&r));
    }
    if let Ok(b) = Batch::decode(data) {
        assert_eq!(Batch::decode(&b.encode()).as_ref(), Ok(&b));
    }
    if let Ok(a) = Ack::decode(data) {
        assert_eq!(Ack::decode(&a.encode()).as_ref(), Ok(&a));
    }
    if let Ok(n) = GenerationNotice::decode(data) {
        assert_eq!(GenerationNotice::decode(&n.encode()).as_ref(), Ok(&n));
    }
    if let Ok(r) = ShardRow::decode(data) {
        assert_eq!(ShardRow::decode(&r.encode()).as_ref(), Ok(&r));
        // A lone row never panics a rebuild (it lacks the other rows, or validates).
        let _ = Shard::from_rows([r.clone(), r], ShardConfig::default());
    }
    if let Ok(r) = GlobalRow::decode(data) {
        assert_eq!(GlobalRow::decode(&r.encode()).as_ref(), Ok(&r));
        let _ = Global::from_rows([r], GlobalConfig::default());
    }
    if let Ok(r) = GatewayRow::decode(data) {
        assert_eq!(GatewayRow::decode(&r.encode()).as_ref(), Ok(&r));
        let _ = Gateway::from_rows([r.clone(), r], GatewayConfig::default());
    }
    if let Ok(r) = OutboxRow::decode(data) {
        assert_eq!(OutboxRow::decode(&r.encode()).as_ref(), Ok(&r));
        let _ = Outbox::from_rows([r], OutboxConfig::default());
    }
}

/// Runs a simulation from fuzzer bytes: the first 8 bytes pick the configuration, the rest
/// are a sequence of [`Op`]s. Panics on any broken invariant.
#[cfg(feature = "arbitrary")]
pub fn sim_ops(data: &[u8]) {
    use arbitrary::{Arbitrary, Unstructured};
    let mut u = Unstructured::new(data);
    let Ok(seed) = u64::arbitrary(&mut u) else { return };
    let Ok(ops) = Vec::<Op>::arbitrary(&mut u) else { return };
    run_ops(seed, ops);
}

/// Applies `ops` to a simulation configured from `seed`, then quiesces.
pub fn run_ops(seed: u64, ops: Vec<Op>) {
    let mut sim = Sim::new(SimConfig::random(seed));
    for op in ops.into_iter().take(2_000) {
        if let Err(v) = sim.apply(op) {
            panic!("{v}");
        }
    }
    if let Err(v) = sim.quiesce() {
        panic!("{v}");
    }
}
