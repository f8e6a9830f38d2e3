#!/usr/bin/env bash
# Builds the `shardtally` Node package and runs its whole test suite:
#   1. `npm install` of the pinned dev tools (@napi-rs/cli, typescript; skipped while
#      package-lock.json is unchanged),
#   2. the shared JS API and typings copied from bindings-js (bindings-js/scripts/copy.mjs),
#      and the PostgreSQL migrations from the Python package (scripts/migrations.mjs),
#   3. the native addon, built by `napi build` (which also writes the loader binding.js and
#      its internal typing binding.d.ts),
#   4. `tsc --noEmit` over the TypeScript usage files (ESM and CommonJS),
#   5. `node --test`: every public method, the golden traces, bad inputs, snapshots, the
#      buffer, parity with the WebAssembly and Python packages, the benchmark in smoke mode
#      and the `npm pack` install check.
#
# Works on a fresh machine (needs node >= 20 with npm, and cargo); idempotent and fast when
# already set up. Environment knobs:
#   SHARDTALLY_NODE_TARGET_DIR  cargo target dir for the addon
#                               (default: $CARGO_TARGET_DIR/node, else <repo>/target/node)
#   SHARDTALLY_NODE_PROFILE     dev (default: fast to build, enough for tests) or release
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
# The PostgreSQL host tests need a server: the one SHARDTALLY_PG_URL names (make test starts
# one for every package), else a throwaway one on a loopback port for this run.
if [ -z "${SHARDTALLY_PG_URL:-}" ]; then
    exec "$root/scripts/postgres.sh" "${BASH_SOURCE[0]}" "$@"
fi
start=$(date +%s)

step() { printf '==> [node %3ss] %s\n' "$(($(date +%s) - start))" "$*"; }
fail() {
    printf 'error: %s\n' "$1" >&2
    shift
    for hint in "$@"; do printf '  hint: %s\n' "$hint" >&2; done
    exit 1
}
trap 'rc=$?; [ $rc -eq 0 ] || printf "bindings-node/scripts/test.sh failed (exit %s) at: %s\n" "$rc" "$BASH_COMMAND" >&2' EXIT

command -v node >/dev/null || fail "node not found" "install Node.js >= 20 with npm (Debian: apt-get install nodejs npm)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
    fail "Node.js >= 20 is required, found $(node --version)"
command -v npm >/dev/null || fail "npm not found" "install npm (Debian: apt-get install npm)"
command -v cargo >/dev/null || fail "cargo not found" "install Rust with rustup (https://rustup.rs)"

target_dir="${SHARDTALLY_NODE_TARGET_DIR:-${CARGO_TARGET_DIR:-$root/target}/node}"
profile="${SHARDTALLY_NODE_PROFILE:-dev}"
cd "$here"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

# 1. Dev tools. `npm install`, not `npm ci`: the registry mirror only carries the linux-x64
# variants of the optional platform packages the lockfile lists, which `npm ci` rejects.
lock_stamp="node_modules/.shardtally-lock"
if [ ! -f "$lock_stamp" ] || ! cmp -s package-lock.json "$lock_stamp"; then
    step "npm install (dev tools from package-lock.json)"
    npm install --no-save --loglevel=error ||
        fail "npm install failed" "check that the npm registry is reachable (npm config get registry)"
    cp package-lock.json "$lock_stamp"
else
    step "node_modules up to date"
fi

# 2. The shared JavaScript API and the one public typing, and the PostgreSQL migrations of
# the Python package (build outputs, git-ignored).
step "copy the shared JS API (bindings-js/scripts/copy.mjs) and the migrations (scripts/migrations.mjs)"
node ../bindings-js/scripts/copy.mjs cjs . ./binding.js || fail "copying bindings-js failed" "run: node bindings-js/scripts/copy.mjs cjs bindings-node ./binding.js"
node scripts/migrations.mjs || fail "copying the migrations failed" "run: node bindings-node/scripts/migrations.mjs"

# 3. The addon and its loader (binding.js, binding.d.ts: internal; the public typing is
# index.d.ts, checked below and by test/surface.test.mjs against the runtime exports).
step "napi build (profile $profile, target $target_dir)"
build_args=(--platform --js binding.js --dts binding.d.ts)
[ "$profile" = release ] && build_args+=(--release)
[ "$profile" = release ] || [ "$profile" = dev ] || build_args+=(--profile "$profile")
CARGO_TARGET_DIR="$target_dir" npx napi build "${build_args[@]}" ||
    fail "napi build failed" "run: cd bindings-node && npm run build"

# 4. TypeScript users: the ESM and CommonJS usage files must type-check.
step "tsc --noEmit (types/usage.mts, types/usage.cts)"
npx tsc --noEmit -p types/tsconfig.json || fail "TypeScript usage files do not type-check" "see the errors above"

# 5. Tests; node's summary ends the output.
step "node --test ($(($(date +%s) - start)) s so far)"
node --test --test-reporter=spec test/
