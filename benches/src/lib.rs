//! Benchmarks of shardtally, each against a plain hash map doing the same work in the same
//! run: `benches/table.rs` (ns per increment of every case of `make bench`, at 1 to 1 000 000
//! keys), `benches/memory.rs` (bytes per counter), and the criterion benches
//! `benches/engine.rs` and `benches/gateway.rs`. Run them with `cargo bench -p
//! shardtally-benches`; each prints a table at the end, and table, memory and engine also
//! write it as JSON (see [`json_path`]). `make bench` (scripts/bench.sh) runs table and memory
//! and merges their rows with the other languages'.

use shardtally::{Global, GlobalConfig, Shard, ShardConfig, ShardRef};
use std::path::{Path, PathBuf};

/// A shard with no automatic flushes (a benchmark measures the increment path alone) and
/// these key limits.
pub fn quiet_shard(max_pending_keys: usize, max_interned_keys: usize) -> Shard {
    let config = ShardConfig::builder()
        .flush_after_requests(0)
        .flush_after_idle_ms(0)
        .flush_max_age_ms(0)
        .max_pending_keys(max_pending_keys)
        .max_interned_keys(max_interned_keys)
        .build()
        .expect("valid config");
    Shard::new(config, ShardRef { shard: 0, incarnation: 1 })
}

/// A global that never persists on its own, holding up to `max_keys` (at least 100) keys.
pub fn quiet_global(max_keys: usize) -> Global {
    let config = GlobalConfig::builder()
        .persist_after_writes(0)
        .persist_after_idle_ms(0)
        .persist_max_age_ms(0)
        .max_keys(max_keys.max(100))
        .build()
        .expect("valid config");
    Global::new(config)
}

/// Where criterion writes its estimates for this run.
pub fn criterion_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target"));
    target.join("criterion")
}

/// Where a bench writes its JSON table: `$SHARDTALLY_BENCH_JSON_DIR/<name>.json` when that
/// variable is set, else `<criterion dir>/<name>.json`.
pub fn json_path(name: &str) -> PathBuf {
    let dir = std::env::var_os("SHARDTALLY_BENCH_JSON_DIR").map(PathBuf::from).unwrap_or_else(criterion_dir);
    dir.join(format!("{name}.json"))
}

/// Writes `rows` as a JSON array to [`json_path`]`(name)`, reporting where (or why not).
pub fn write_json(name: &str, rows: &[serde_json::Value]) {
    let path = json_path(name);
    let text = serde_json::Value::Array(rows.to_vec()).to_string();
    let written = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, text + "\n"));
    match written {
        Ok(()) => println!("wrote {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

/// Whether criterion measures in this run (`cargo bench`), rather than running each
/// benchmark once as a smoke test (`cargo test --benches`, `cargo bench -- --test`).
pub fn measuring() -> bool {
    std::env::args().any(|a| a == "--bench") && !std::env::args().any(|a| a == "--test")
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

/// The benchmark keys: `/api/v1/resource/0`, `/api/v1/resource/1`, ...
pub fn keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("/api/v1/resource/{i}")).collect()
}

/// A pseudo-random walk over `0..n` (stride 7919, a prime), `len` steps long: every key is
/// visited before any repeats when `len <= n`, and consecutive steps are far apart.
pub fn walk(n: usize, len: usize) -> Vec<usize> {
    (0..len).map(|i| (i * 7919) % n).collect()
}
