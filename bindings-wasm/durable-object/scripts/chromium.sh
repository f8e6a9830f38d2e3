#!/bin/sh
# Makes Debian's headless Chromium available for the browser tests (driven by
# playwright-core, never by `npx playwright install`). Installs it with apt-get when
# /usr/bin/chromium is missing (~40 s, once per machine); does nothing when it is there.
# Shared by every browser test of this package; scripts/test.sh runs it. Prints the
# binary's path on stdout (progress goes to stderr): CHROMIUM=$(sh scripts/chromium.sh).
# Environment: SHARDTALLY_CHROMIUM=/path/to/chromium uses another binary instead.
set -eu

say() { printf '[shardtally-do] %s\n' "$*" >&2; }
fail() {
    printf '[shardtally-do] FAILED: %s\n' "$1" >&2
    shift
    for hint in "$@"; do printf '[shardtally-do]   -> %s\n' "$hint" >&2; done
    exit 1
}

BIN=${SHARDTALLY_CHROMIUM:-/usr/bin/chromium}
if [ -x "$BIN" ]; then
    printf '%s\n' "$BIN"
    exit 0
fi
[ -z "${SHARDTALLY_CHROMIUM:-}" ] || fail "SHARDTALLY_CHROMIUM=$BIN is not an executable" "point it at a Chromium binary or unset it"
command -v apt-get >/dev/null 2>&1 \
    || fail "chromium is missing and apt-get is not available" "install Chromium and set SHARDTALLY_CHROMIUM=/path/to/chromium"
SUDO=
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || fail "chromium is missing and installing it needs root" "run: sudo apt-get install -y --no-install-recommends chromium"
    SUDO=sudo
fi
say "installing chromium for the browser tests (apt-get, ~40 s, once)"
$SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || {
    say "apt-get install failed; updating the package lists and trying again"
    $SUDO apt-get update >/dev/null 2>&1 || true
    $SUDO apt-get install -y --no-install-recommends chromium >/dev/null \
        || fail "apt-get could not install chromium" "run: apt-get update && apt-get install -y --no-install-recommends chromium"
}
[ -x "$BIN" ] || fail "chromium installed but $BIN is missing" "set SHARDTALLY_CHROMIUM=/path/to/chromium"
say "chromium ready: $("$BIN" --version 2>/dev/null || echo "$BIN")"
printf '%s\n' "$BIN"
