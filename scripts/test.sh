#!/usr/bin/env bash
# Runs every check and test of shardtally. Sets up what it needs (toolchain target, Python
# venv, npm packages, CLI tools) on a fresh machine; fast when already set up.
# Usage: scripts/test.sh            (what `make test` and CI run)
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

steps=()
hints=()
add() { steps+=("$1"); hints+=("$2"); }

started=$(date +%s)
step_no=0
run() {
  local name=$1 hint=$2; shift 2
  step_no=$((step_no + 1))
  local t0; t0=$(date +%s)
  printf '\n==> [%s] %s\n' "$step_no" "$name"
  if ! "$@"; then
    printf '\nFAILED: %s\n  what to do: %s\n' "$name" "$hint" >&2
    exit 1
  fi
  printf '    (%s: %ss)\n' "$name" $(( $(date +%s) - t0 ))
}

# 1. Toolchain.
ensure_toolchain() {
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
  done
  rustup target list --installed | grep -q '^wasm32-unknown-unknown$' || rustup target add wasm32-unknown-unknown
}
run "toolchain (rustfmt, clippy, wasm32 target)" "check that rustup works and the crates/rustup mirrors are reachable" ensure_toolchain

# 2. Rust: formatting, lints, docs, portability, tests.
run "cargo fmt --check" "run: cargo fmt --all" cargo fmt --all --check
run "cargo clippy -D warnings" "fix the lints above (cargo clippy --workspace --all-targets)" \
  cargo clippy --workspace --all-targets --quiet -- -D warnings
run "cargo doc (warnings are errors)" "fix the rustdoc warnings above (missing docs, broken links)" \
  env RUSTDOCFLAGS="-D warnings" cargo doc -p shardtally --all-features --no-deps --quiet
run "core builds for wasm32-unknown-unknown" "core must stay pure and portable: no clock, threads, I/O or getrandom" \
  cargo build -p shardtally --target wasm32-unknown-unknown --quiet
run "fuzz targets compile" "fix fuzz/ (its own workspace; see fuzz/README.md)" \
  cargo check --manifest-path fuzz/Cargo.toml --quiet
if command -v cargo-nextest >/dev/null 2>&1; then
  run "Rust tests (nextest)" "rerun the failing test with: cargo nextest run --workspace <name>" \
    cargo nextest run --workspace --no-fail-fast --status-level fail --final-status-level slow
else
  run "Rust tests (cargo test)" "rerun the failing test with: cargo test --workspace <name>" \
    cargo test --workspace --quiet
fi
run "Rust doctests" "fix the example in the docs named above" cargo test --workspace --doc --quiet
run "benchmarks still run (criterion test mode)" "run: cargo test -p shardtally-benches --benches" \
  cargo test -p shardtally-benches --benches --quiet

# 3. Bindings and hosts: each script sets up its own tools and prints its own summary. The
#    PostgreSQL host tests share one throwaway server on a loopback port (or the server named
#    by SHARDTALLY_PG_URL), started here and stopped when this script exits.
. scripts/postgres.sh
trap pg_stop EXIT
run "PostgreSQL for the host tests" "install PostgreSQL (Debian: apt-get install postgresql) or set SHARDTALLY_PG_URL" pg_start
for part in bindings-python bindings-node bindings-wasm bindings-wasm/durable-object; do
  if [ -x "$part/scripts/test.sh" ]; then
    run "$part" "see $part/README.md; rerun with: $part/scripts/test.sh" "$part/scripts/test.sh"
  fi
done

# 4. The benchmarks of every language still run and write their JSON rows (tiny sizes; reuses
#    the builds above: scripts/bench.sh --smoke builds only what is missing).
run "benchmarks: smoke run of every language" "rerun with: scripts/bench.sh --smoke (make bench for the full run)" \
  scripts/bench.sh --smoke

printf '\nAll checks passed in %ss.\n' $(( $(date +%s) - started ))
