//! Replays every committed fuzz input (`fuzz/regressions/<target>/*`) on stable.

use shardtally::testing::fuzz;
use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions").join(target);
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir).map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
    entries.sort();
    for path in entries {
        if path.file_name().is_some_and(|f| f.to_string_lossy().starts_with('.')) {
            continue;
        }
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        run(&data);
        n += 1;
    }
    n
}

#[test]
fn committed_sim_ops_inputs_replay() {
    let n = replay("sim_ops", fuzz::sim_ops);
    assert!(n > 0, "no committed sim_ops inputs");
}

#[test]
fn committed_snapshot_decode_inputs_replay() {
    let n = replay("snapshot_decode", fuzz::snapshot_decode);
    assert!(n > 0, "no committed snapshot_decode inputs");
}
