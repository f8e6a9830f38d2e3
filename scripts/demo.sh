#!/usr/bin/env bash
# Runs the shardtally demo: a simulated minute of traffic through shards and a global.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> building the demo (first run compiles the crate)"
cargo run --quiet -p shardtally --example simulated_minute
