#!/bin/sh
# Makes bindings-wasm/durable-object ready to run (tests, load script, the example's demo):
#   1. builds the shardtally-wasm package (bindings-wasm/scripts/build.sh: quick when it is
#      already built, e.g. right after bindings-wasm/scripts/test.sh),
#   2. installs this package's npm dependencies when package-lock.json changed
#      (`npm install`, not `npm ci`: the lockfile names other platforms' optional packages).
# Idempotent. Environment: SHARDTALLY_DO_SKIP_BUILD=1 skips step 1 (the package must exist).
set -eu

HERE=$(cd "$(dirname "$0")/.." && pwd)
WASM=$(cd "$HERE/.." && pwd)

say() { printf '[shardtally-do] %s\n' "$*"; }
fail() {
    printf '[shardtally-do] FAILED: %s\n' "$1" >&2
    shift
    for hint in "$@"; do printf '[shardtally-do]   -> %s\n' "$hint" >&2; done
    exit 1
}

command -v node >/dev/null 2>&1 || fail "node not found" "install Node.js 20 or newer, then re-run"
command -v npm >/dev/null 2>&1 || fail "npm not found" "install npm (it ships with Node.js), then re-run"
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || fail "Node.js $(node --version) is too old" "install Node.js 20 or newer (miniflare 4.20260426.0 is the newest that accepts Node 20)"

if [ "${SHARDTALLY_DO_SKIP_BUILD:-0}" != 1 ]; then
    say "building the shardtally-wasm package (bindings-wasm/scripts/build.sh)"
    sh "$WASM/scripts/build.sh" || fail "the shardtally-wasm build failed" "run: sh bindings-wasm/scripts/build.sh and fix what it reports"
fi
[ -f "$WASM/pkg/shardtally_wasm_bg.wasm" ] || fail "bindings-wasm/pkg is not built" "run: sh bindings-wasm/scripts/build.sh"

cd "$HERE"
STAMP=node_modules/.shardtally-lock
LOCK_SUM=$(cksum < package-lock.json)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$LOCK_SUM" ] || [ ! -d node_modules/miniflare ] || [ ! -d node_modules/esbuild ]; then
    say "installing npm dependencies (npm install in bindings-wasm/durable-object)"
    npm install --no-audit --no-fund --loglevel=error \
        || fail "npm install failed in bindings-wasm/durable-object" "check access to the npm registry, then re-run"
    printf '%s\n' "$LOCK_SUM" > "$STAMP"
fi
say "ready"
