#!/bin/sh
# Builds the shardtally-wasm package into bindings-wasm/pkg/:
#   1. the Rust crate for wasm32-unknown-unknown with a size profile (opt-level "z", fat LTO,
#      one codegen unit, panic = abort),
#   2. the JS glue with `wasm-bindgen --target web` (the CLI version must equal the
#      `wasm-bindgen` crate version in Cargo.lock),
#   3. `wasm-opt -Oz` from the npm `binaryen` package,
#   4. the shared JavaScript API and typings, copied from bindings-js (api.js, index.d.ts,
#      surface.d.ts: the package's public half; the wasm-bindgen module is its native half).
# Sets up what is missing (the wasm32 target, wasm-bindgen-cli, npm tools) and is quick
# when nothing changed. Environment:
#   CARGO_TARGET_DIR   where cargo builds (default: <repo>/target/wasm)
#   SHARDTALLY_WASM_SKIP_OPT=1   skip wasm-opt (faster, larger module)
set -eu

HERE=$(cd "$(dirname "$0")/.." && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PKG="$HERE/pkg"
TARGET=wasm32-unknown-unknown
PROFILE=wasm-release
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target/wasm}"
export CARGO_INCREMENTAL=0

say() { printf '[shardtally-wasm] %s\n' "$*"; }
fail() {
    printf '[shardtally-wasm] FAILED: %s\n' "$1" >&2
    shift
    for hint in "$@"; do printf '[shardtally-wasm]   -> %s\n' "$hint" >&2; done
    exit 1
}

# One build at a time: the Durable Object tests and this package's tests may both call this
# script, and two runs must not write pkg/ at once.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$PKG/.build-lock"
    flock 9
fi

command -v cargo >/dev/null 2>&1 || fail "cargo not found" "install Rust with rustup (https://rustup.rs), then re-run"
command -v node >/dev/null 2>&1 || fail "node not found" "install Node.js 20 or newer, then re-run"
command -v npm >/dev/null 2>&1 || fail "npm not found" "install npm (it ships with Node.js), then re-run"

# 1. The wasm32 target.
if command -v rustup >/dev/null 2>&1; then
    if ! rustup target list --installed | grep -qx "$TARGET"; then
        say "installing the $TARGET target (rustup target add $TARGET)"
        rustup target add "$TARGET" || fail "rustup target add $TARGET" "check network access to static.rust-lang.org"
    fi
elif ! rustc --print target-libdir --target "$TARGET" >/dev/null 2>&1; then
    fail "the $TARGET target is missing and rustup is not available" "install the $TARGET standard library for your rustc"
fi

# 2. wasm-bindgen-cli, the exact version of the wasm-bindgen crate in Cargo.lock: the one on
#    PATH, else the one in cargo's bin directory, else installed there.
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' "$ROOT/Cargo.lock")
[ -n "$WB_VERSION" ] || fail "could not read the wasm-bindgen version from Cargo.lock" "run: cargo generate-lockfile"
CARGO_BIN="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin"
wb_version() { "$1" --version 2>/dev/null | awk '{ print $2 }' || true; }
WB=wasm-bindgen
if [ "$(wb_version "$WB")" != "$WB_VERSION" ]; then
    WB="$CARGO_BIN/wasm-bindgen"
fi
if [ "$(wb_version "$WB")" != "$WB_VERSION" ]; then
    FOUND=$(wb_version wasm-bindgen)
    say "installing wasm-bindgen-cli $WB_VERSION (found: ${FOUND:-none}; takes 2-4 min, once per machine)"
    # Not --locked: a dependency pinned by the CLI's lockfile may be missing from the registry.
    # No default features: they only add TLS for the test runner's downloads.
    env -u CARGO_TARGET_DIR cargo install wasm-bindgen-cli --version "$WB_VERSION" --no-default-features \
        || fail "cargo install wasm-bindgen-cli --version $WB_VERSION" "check access to crates.io, then re-run"
    [ "$(wb_version "$WB")" = "$WB_VERSION" ] || fail "wasm-bindgen $WB_VERSION was installed but $WB does not run it" \
        "set CARGO_HOME / CARGO_INSTALL_ROOT as during the install, or put its bin directory on PATH"
fi

# 3. npm tools (binaryen's wasm-opt, TypeScript for the type test).
if [ ! -x "$HERE/node_modules/.bin/wasm-opt" ] || [ ! -x "$HERE/node_modules/.bin/tsc" ] \
    || [ ! -e "$HERE/node_modules/shardtally-wasm/package.json" ] \
    || [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
    say "installing npm tools (npm install in bindings-wasm/)"
    (cd "$HERE" && npm install --no-audit --no-fund --loglevel=error) \
        || fail "npm install in $HERE" "check access to the npm registry, then re-run"
fi

# 4. The Rust crate. The size profile is passed on the command line so it applies whatever
#    the workspace manifest says (it is the [profile.wasm-release] table in the README).
say "cargo build --target $TARGET --profile $PROFILE (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
cd "$ROOT"
cargo build --quiet -p shardtally-wasm --target "$TARGET" --profile "$PROFILE" \
    --config "profile.$PROFILE.inherits=\"release\"" \
    --config "profile.$PROFILE.opt-level=\"z\"" \
    --config "profile.$PROFILE.lto=true" \
    --config "profile.$PROFILE.codegen-units=1" \
    --config "profile.$PROFILE.panic=\"abort\"" \
    --config "profile.$PROFILE.debug=false" \
    || fail "cargo build of shardtally-wasm for $TARGET" "read the compiler errors above"
RAW="$CARGO_TARGET_DIR/$TARGET/$PROFILE/shardtally_wasm.wasm"

# 5. JS glue and wasm-opt, skipped when the module did not change since the last build.
STAMP="$PKG/.build-stamp"
SUM="$(cksum <"$RAW") wb=$WB_VERSION opt=${SHARDTALLY_WASM_SKIP_OPT:-0} $(cksum <"$HERE/scripts/build.sh")"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$SUM" ] && [ -f "$PKG/shardtally_wasm_bg.wasm" ] \
    && [ -f "$PKG/shardtally_wasm.js" ] && [ -f "$PKG/shardtally_wasm.d.ts" ]; then
    say "wasm-bindgen + wasm-opt: up to date"
else
    say "wasm-bindgen --target web --out-dir pkg"
    rm -f "$STAMP"
    "$WB" --target web --out-dir "$PKG" --out-name shardtally_wasm "$RAW" \
        || fail "wasm-bindgen" "the CLI must be version $WB_VERSION (cargo install wasm-bindgen-cli --version $WB_VERSION)"
    if [ "${SHARDTALLY_WASM_SKIP_OPT:-0}" != 1 ]; then
        say "wasm-opt -Oz"
        "$HERE/node_modules/.bin/wasm-opt" -Oz --strip-debug --strip-producers \
            "$PKG/shardtally_wasm_bg.wasm" -o "$PKG/shardtally_wasm_bg.wasm" \
            || fail "wasm-opt -Oz" "reinstall the npm tools: (cd bindings-wasm && rm -rf node_modules && npm install)"
    fi
    echo "$SUM" >"$STAMP"
fi

cp "$HERE/README.md" "$PKG/README.md"
node "$ROOT/bindings-js/scripts/copy.mjs" esm "$PKG" || fail "copying bindings-js into pkg/" "run: node bindings-js/scripts/copy.mjs esm bindings-wasm/pkg"

SIZE=$(wc -c <"$PKG/shardtally_wasm_bg.wasm" | tr -d ' ')
GZ=$(gzip -9 -c "$PKG/shardtally_wasm_bg.wasm" | wc -c | tr -d ' ')
say "pkg/shardtally_wasm_bg.wasm: $SIZE bytes ($GZ bytes gzipped)"
