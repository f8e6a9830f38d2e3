#!/usr/bin/env bash
# Builds the `shardtally` Python package and runs its whole test suite:
#   1. a virtualenv with the pinned test tools (created once, reused while
#      requirements-test.txt is unchanged),
#   2. the wheel, built by maturin (the package's own build backend) and installed,
#   3. mypy.stubtest (the hand-written stubs against the compiled module) and mypy --strict
#      over the tests, example and benchmark,
#   4. pytest with warnings as errors (the golden traces of traces/, properties, the SQLite example).
#
# Works on a fresh machine (needs python3 >= 3.10 with venv, and cargo); idempotent and fast
# when already set up. Environment knobs:
#   SHARDTALLY_PY_VENV        virtualenv to use  (default ~/.cache/shardtally/python-venv)
#   SHARDTALLY_PY_TARGET_DIR  cargo target dir for the wheel build
#                             (default: $CARGO_TARGET_DIR/python, else <repo>/target/python)
#   SHARDTALLY_PY_PROFILE     release (default) or dev
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
# The PostgreSQL host tests need a server: the one SHARDTALLY_PG_URL names (make test starts
# one for every package), else a throwaway one on a loopback port for this run.
if [ -z "${SHARDTALLY_PG_URL:-}" ]; then
    exec "$root/scripts/postgres.sh" "${BASH_SOURCE[0]}" "$@"
fi
start=$(date +%s)

step() { printf '==> [python %3ss] %s\n' "$(($(date +%s) - start))" "$*"; }
fail() {
    printf 'error: %s\n' "$1" >&2
    shift
    for hint in "$@"; do printf '  hint: %s\n' "$hint" >&2; done
    exit 1
}
trap 'rc=$?; [ $rc -eq 0 ] || printf "bindings-python/scripts/test.sh failed (exit %s) at: %s\n" "$rc" "$BASH_COMMAND" >&2' EXIT

python="${PYTHON:-python3}"
command -v "$python" >/dev/null || fail "python3 not found" "install Python >= 3.10 (Debian: apt-get install python3 python3-venv)"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
    fail "Python >= 3.10 is required, found $("$python" --version 2>&1)"
command -v cargo >/dev/null || fail "cargo not found" "install Rust with rustup (https://rustup.rs)"

venv="${SHARDTALLY_PY_VENV:-$HOME/.cache/shardtally/python-venv}"
target_dir="${SHARDTALLY_PY_TARGET_DIR:-${CARGO_TARGET_DIR:-$root/target}/python}"
profile="${SHARDTALLY_PY_PROFILE:-release}"
reqs="$here/requirements-test.txt"

# 1. Virtualenv with the pinned tools, keyed by the requirements and the interpreter.
stamp_want="$(cat "$reqs"; "$python" -c 'import sys; print(sys.version)')"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.shardtally-stamp" 2>/dev/null)" != "$stamp_want" ]; then
    step "creating virtualenv $venv"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv" ||
        fail "could not create a virtualenv" "Debian: apt-get install python3-venv"
    step "installing test tools ($(grep -v '^#' "$reqs" | tr '\n' ' '))"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$reqs" ||
        fail "pip install -r requirements-test.txt failed" "check that PyPI is reachable (pip config list)"
    printf '%s' "$stamp_want" >"$venv/.shardtally-stamp"
else
    step "virtualenv ready ($venv)"
fi
py="$venv/bin/python"

# 2. Build the wheel with maturin and install it (the same backend `pip install .` uses).
step "building the wheel (maturin, profile $profile, target $target_dir)"
wheels="$target_dir/wheels-test"
rm -rf "$wheels"
profile_args=(--release)
[ "$profile" = release ] || profile_args=(--profile "$profile")
(cd "$here" && CARGO_TARGET_DIR="$target_dir" "$venv/bin/maturin" build --quiet "${profile_args[@]}" \
    --interpreter "$py" --out "$wheels") ||
    fail "maturin build failed" "run: cd bindings-python && maturin build --release"
wheel=$(ls "$wheels"/shardtally-*.whl 2>/dev/null | head -n 1)
[ -n "$wheel" ] || fail "maturin produced no wheel" "run: cd bindings-python && maturin build --release"
step "installing $(basename "$wheel")"
"$py" -m pip install --quiet --disable-pip-version-check --no-deps --no-index --force-reinstall "$wheel"

# 3. Static checks: stubs against the compiled module, then mypy over the Python users.
cd "$here"
cache="$HOME/.cache/shardtally"
mkdir -p "$cache/stubtest"
export MYPY_CACHE_DIR="$cache/mypy" HYPOTHESIS_STORAGE_DIRECTORY="$cache/hypothesis"
step "mypy.stubtest shardtally"
(cd "$cache/stubtest" && "$py" -m mypy.stubtest shardtally) ||
    fail "stubtest found drift between python/shardtally/*.pyi and the compiled module" "update the .pyi stubs"
typed=()
for d in tests examples bench; do compgen -G "$d/*.py" >/dev/null && typed+=("$d"); done
step "mypy --strict ${typed[*]:-(nothing to check)}"
[ ${#typed[@]} -eq 0 ] || "$py" -m mypy --strict --no-error-summary "${typed[@]}" ||
    fail "mypy found type errors" "fix the annotations (the stubs are the contract)"

# 4. The test suite; pytest's summary line ends the output.
step "pytest (warnings are errors; $(($(date +%s) - start)) s so far)"
"$py" -m pytest -q -W error -p no:cacheprovider tests
