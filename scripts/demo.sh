#!/usr/bin/env bash
# The shardtally demo, in three parts:
#   1. the Rust engine alone: a simulated minute of traffic through 8 shards and a global;
#   2. the Durable Object shim in the real Workers runtime (workerd, through Miniflare): the
#      example Worker takes a burst of increments over 4 shard objects, alarms flush them,
#      and the run's storage writes are compared with do-counter-sharding's design;
#   3. the WebSocket gateway in workerd: the chat example (bindings-wasm/example-chat) on a
#      loopback port, its URL printed, two scripted clients whisper, message their replica
#      and everyone, and list the users by gossip; then it stops.
# Sets up what it needs (wasm32 target, wasm-bindgen CLI, npm packages) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> [1/3] the engine: a simulated minute of traffic (builds the crate on first run)"
cargo run --quiet -p shardtally --example simulated_minute

echo
echo "==> [2/3] Durable Objects in workerd: setting up the WebAssembly package and Miniflare"
sh bindings-wasm/durable-object/scripts/setup.sh
node bindings-wasm/example/demo.mjs

echo
echo "==> [3/3] the WebSocket gateway in workerd: the chat example with two scripted clients"
node bindings-wasm/example-chat/demo.mjs
