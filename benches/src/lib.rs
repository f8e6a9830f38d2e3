//! Benchmarks of shardtally live in `benches/engine.rs`; run them with `cargo bench -p
//! shardtally-benches`. Every group measures the engine and a baseline (an ahash
//! `HashMap<String, i64>` doing the same work) in the same run, and the run ends with a table
//! of ratios read from criterion's estimates.

use std::path::{Path, PathBuf};

/// Where criterion writes its estimates for this run.
pub fn criterion_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target"));
    target.join("criterion")
}

/// The time per iteration, in ns, that criterion estimated for `group/function` in its last
/// run: the slope of its linear regression when it has one (what criterion prints as
/// `time`), otherwise the mean.
pub fn mean_ns(dir: &Path, group: &str, function: &str) -> Option<f64> {
    let path = dir.join(group).join(function).join("new").join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["slope"]["point_estimate"].as_f64().or_else(|| v["mean"]["point_estimate"].as_f64())
}
