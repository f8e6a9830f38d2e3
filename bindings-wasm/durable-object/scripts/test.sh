#!/bin/sh
# Tests of the shardtally Durable Object shim, in workerd through Miniflare.
# Sets itself up first (scripts/setup.sh: builds the shardtally-wasm package through its own
# build script, which is quick when bindings-wasm/scripts/test.sh already built it, and runs
# `npm install` when package-lock.json changed), then runs `node --test` over
# test/*.test.js (one Miniflare instance per file, two files at a time).
set -eu

HERE=$(cd "$(dirname "$0")/.." && pwd)
sh "$HERE/scripts/setup.sh"
cd "$HERE"
printf '[shardtally-do] running the Durable Object tests in workerd (node --test)\n'
exec node --test --test-concurrency=2 test/*.test.js
