#!/bin/sh
# The shardtally-wasm test command: builds the package (setting up the wasm32 target,
# wasm-bindgen-cli and the npm tools when missing; see scripts/build.sh), type-checks the
# .d.ts against test/types.ts, then runs the binding tests in Node with `node --test`.
set -eu

HERE=$(cd "$(dirname "$0")/.." && pwd)
START=$(date +%s)

say() { printf '[shardtally-wasm] %s\n' "$*"; }

sh "$HERE/scripts/build.sh"

cd "$HERE"
say "tsc --noEmit -p test (the .d.ts accepts the documented usage)"
if ! node_modules/.bin/tsc --noEmit -p test; then
    say "FAILED: the TypeScript declarations do not match test/types.ts" >&2
    say "  -> read the errors above; the declarations come from the Rust doc attributes in src/" >&2
    exit 1
fi

say "node --test test/*.test.mjs"
if ! node --test --test-reporter=spec test/*.test.mjs; then
    say "FAILED: binding tests (see the failing tests above)" >&2
    say "  -> rerun one file with: node --test bindings-wasm/test/<file>.test.mjs" >&2
    exit 1
fi

