#!/bin/sh
# Tests of the shardtally Durable Object shim, in workerd through Miniflare.
# Sets itself up first (scripts/setup.sh: builds the shardtally-wasm package through its own
# build script, which is quick when bindings-wasm/scripts/test.sh already built it, and runs
# `npm install` when package-lock.json changed), makes Debian's chromium available for the
# browser tests (scripts/chromium.sh), type-checks src/index.d.ts (test/types), then
# runs `node --test` over test/*.test.js (one Miniflare instance per file, two files at a time).
set -eu

HERE=$(cd "$(dirname "$0")/.." && pwd)
sh "$HERE/scripts/setup.sh"
# Headless Chromium for the browser tests (apt-get install once when missing).
sh "$HERE/scripts/chromium.sh"
cd "$HERE"
# src/index.d.ts against the package's typing (tsc from bindings-wasm's tools, which the
# build in setup.sh installs).
printf '[shardtally-do] tsc --noEmit -p test/types (src/index.d.ts)\n'
"$HERE/../node_modules/.bin/tsc" --noEmit -p test/types || {
    printf '[shardtally-do] FAILED: src/index.d.ts does not type-check against test/types/usage.ts\n' >&2
    exit 1
}
# The load script at a smoke size (the figures need the full run: see README): it must run
# end to end and count every increment exactly once.
printf '[shardtally-do] load script, smoke size (node bench/load.mjs --smoke)\n'
node bench/load.mjs --smoke || {
    printf '[shardtally-do] FAILED: the load script (smoke size)\n' >&2
    printf '[shardtally-do]   -> rerun: node bindings-wasm/durable-object/bench/load.mjs --smoke\n' >&2
    exit 1
}
# The scale bench at a smoke size (1000 and 20000 counters; the figures need the full run:
# see README): a batch must cost the same whatever the number of counters, totals exact.
printf '[shardtally-do] scale bench, smoke size (node bench/scale.mjs --smoke)\n'
node bench/scale.mjs --smoke || {
    printf '[shardtally-do] FAILED: the scale bench (smoke size)\n' >&2
    printf '[shardtally-do]   -> rerun: node bindings-wasm/durable-object/bench/scale.mjs --smoke\n' >&2
    exit 1
}
printf '[shardtally-do] running the Durable Object tests in workerd (node --test)\n'
exec node --test --test-concurrency=2 test/*.test.js
