#!/usr/bin/env bash
# Runs the benchmarks of every language in one go and prints one table: ns per increment of
# each case (and bytes per counter) next to a baseline doing the same work in the same run —
# an ahash HashMap<String, i64> in Rust, a dict in Python, a JS Map in Node and WebAssembly —
# and the ratio. Writes the same rows as JSON (path printed at the end).
#
#   scripts/bench.sh            full run (`make bench`): builds the Rust bench, the Python
#                               wheel, the Node addon and the wasm package in release mode
#                               first (setting up the venv and npm tools like the test scripts)
#   scripts/bench.sh --smoke    tiny sizes, a few seconds per language: checks that every case
#                               runs and that the JSON parses (part of `make test`); reuses what
#                               the test scripts built and builds only what is missing
#   scripts/bench.sh --only rust,python   some languages only
#
# Each language's bench writes its rows (`{"op", "lang", "keys", "ns", "baseline_ns",
# "ratio"}`; memory rows `{"op", "lang", "keys", "bytes", "key_bytes", "baseline_bytes",
# "ratio"}`, bytes per counter) into target/bench/rows/; they are merged into
# target/bench/results.json (smoke runs: target/bench/smoke.json). The sources of the cases:
# benches/benches/table.rs and memory.rs, bindings-python/bench/bench.py,
# bindings-js/bench/cases.mjs (Node and WebAssembly), bindings-wasm/bench/bench.mjs.
# Environment: SHARDTALLY_PY_VENV, SHARDTALLY_PY_TARGET_DIR, SHARDTALLY_NODE_TARGET_DIR and
# CARGO_TARGET_DIR as for the test scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

smoke=0
langs="rust,python,node,wasm"
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --only) langs="$2"; shift ;;
    -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see scripts/bench.sh --help)" >&2; exit 2 ;;
  esac
  shift
done
wants() { [[ ",$langs," == *",$1,"* ]]; }

export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
target="${CARGO_TARGET_DIR:-$root/target}"
out_dir="$target/bench"
rows="$out_dir/rows"
rm -rf "$rows"
mkdir -p "$rows"
if [ $smoke = 1 ]; then results="$out_dir/smoke.json"; else results="$out_dir/results.json"; fi

started=$(date +%s)
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
step() { printf '==> [bench %3ss] %s\n' "$(($(date +%s) - started))" "$*"; }
fail() {
  printf 'bench: %s\n' "$1" >&2
  shift
  for hint in "$@"; do printf '  hint: %s\n' "$hint" >&2; done
  exit 1
}

# --- Rust: benches/benches/table.rs (ns per increment) and memory.rs (bytes per counter). In
# smoke mode they run in cargo's test mode (the build `make test` already made).
if wants rust; then
  if [ $smoke = 1 ]; then
    step "Rust (test mode: 1 and 100 keys, memory at 10 000 keys)"
    SHARDTALLY_BENCH_JSON_DIR="$rows" cargo test -p shardtally-benches --bench table --bench memory --quiet ||
      fail "the Rust benches failed" "run: cargo test -p shardtally-benches --bench table --bench memory"
  else
    step "Rust (cargo bench --bench table --bench memory; release build)"
    SHARDTALLY_BENCH_JSON_DIR="$rows" cargo bench -p shardtally-benches --bench table --bench memory ||
      fail "the Rust benches failed" "run: cargo bench -p shardtally-benches --bench table"
  fi
fi

# --- Python: the wheel (release, maturin, as bindings-python/scripts/test.sh builds it) in the
# test venv.
if wants python; then
  py_dir="$root/bindings-python"
  venv="${SHARDTALLY_PY_VENV:-$HOME/.cache/shardtally/python-venv}"
  py="$venv/bin/python"
  if [ $smoke = 0 ] || ! "$py" -c 'import shardtally' 2>/dev/null; then
    if [ ! -x "$py" ] || [ ! -x "$venv/bin/maturin" ]; then
      step "creating virtualenv $venv (requirements-test.txt)"
      "${PYTHON:-python3}" -m venv "$venv" || fail "could not create a virtualenv" "Debian: apt-get install python3-venv"
      "$py" -m pip install --quiet --disable-pip-version-check -r "$py_dir/requirements-test.txt" ||
        fail "pip install failed" "check that PyPI is reachable"
    fi
    py_target="${SHARDTALLY_PY_TARGET_DIR:-$target/python}"
    wheels="$py_target/wheels-bench"
    step "Python wheel (maturin build --release, target $py_target)"
    rm -rf "$wheels"
    (cd "$py_dir" && CARGO_TARGET_DIR="$py_target" "$venv/bin/maturin" build --quiet --release --interpreter "$py" --out "$wheels") ||
      fail "maturin build failed" "run: bindings-python/scripts/test.sh"
    "$py" -m pip install --quiet --disable-pip-version-check --no-deps --no-index --force-reinstall "$wheels"/shardtally-*.whl
  fi
  step "Python (bindings-python/bench/bench.py)"
  py_args=(--memory --json "$rows/python.json")
  [ $smoke = 1 ] && py_args+=(--smoke)
  "$py" "$py_dir/bench/bench.py" "${py_args[@]}" || fail "the Python bench failed" "run: $py bindings-python/bench/bench.py --smoke"
fi

# --- Node: the addon in release mode (napi build, as bindings-node/scripts/test.sh does it
# in dev mode).
if wants node; then
  node_dir="$root/bindings-node"
  if [ $smoke = 0 ] || ! compgen -G "$node_dir/*.node" >/dev/null || [ ! -f "$node_dir/binding.js" ] || [ ! -f "$node_dir/api.js" ]; then
    (
      cd "$node_dir"
      export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
      if [ ! -f node_modules/.shardtally-lock ] || ! cmp -s package-lock.json node_modules/.shardtally-lock; then
        step "npm install (bindings-node)"
        npm install --no-save --loglevel=error || fail "npm install failed" "check that the npm registry is reachable"
        cp package-lock.json node_modules/.shardtally-lock
      fi
      node ../bindings-js/scripts/copy.mjs cjs . ./binding.js
      node scripts/migrations.mjs
      step "Node addon (napi build --release, target ${SHARDTALLY_NODE_TARGET_DIR:-$target/node})"
      CARGO_TARGET_DIR="${SHARDTALLY_NODE_TARGET_DIR:-$target/node}" npx napi build --platform --js binding.js --dts binding.d.ts --release ||
        fail "napi build failed" "run: bindings-node/scripts/test.sh"
    )
  fi
  step "Node (bindings-node/bench/bench.mjs)"
  node_args=(--json "$rows/node.json")
  [ $smoke = 1 ] && node_args+=(--smoke)
  node "$node_dir/bench/bench.mjs" "${node_args[@]}" || fail "the Node bench failed" "run: node bindings-node/bench/bench.mjs --smoke"
fi

# --- WebAssembly: the package as bindings-wasm/scripts/build.sh builds it (always a size-
# optimised release build; quick when nothing changed).
if wants wasm; then
  wasm_dir="$root/bindings-wasm"
  if [ $smoke = 0 ] || [ ! -f "$wasm_dir/pkg/shardtally_wasm_bg.wasm" ] || [ ! -e "$wasm_dir/node_modules/shardtally-wasm/package.json" ]; then
    step "WebAssembly package (bindings-wasm/scripts/build.sh)"
    sh "$wasm_dir/scripts/build.sh" || fail "the wasm build failed" "run: bindings-wasm/scripts/build.sh"
  fi
  step "WebAssembly (bindings-wasm/bench/bench.mjs)"
  wasm_args=(--json "$rows/wasm.json")
  [ $smoke = 1 ] && wasm_args+=(--smoke)
  node "$wasm_dir/bench/bench.mjs" "${wasm_args[@]}" || fail "the WebAssembly bench failed" "run: node bindings-wasm/bench/bench.mjs --smoke"
fi

# --- One table, one JSON file. Smoke runs also check that every case of every language ran.
step "merging $(ls "$rows" | tr '\n' ' ')"
python3 - "$rows" "$results" "$smoke" "$langs" <<'EOF'
import json, os, sys

rows_dir, out, smoke, langs = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4].split(",")
rows = []
for name in sorted(os.listdir(rows_dir)):
    with open(os.path.join(rows_dir, name)) as f:
        rows += json.load(f)
ops = ["keyed_increment", "increment_id", "increment_ids", "increments", "end_to_end", "flush_merge",
       "memory/shard_pending", "memory/global_totals"]
order = ["rust", "python", "node", "wasm"]
rows.sort(key=lambda r: (ops.index(r["op"]) if r["op"] in ops else len(ops), r["op"], r["keys"], order.index(r["lang"]) if r["lang"] in order else 9))
base = {"rust": "HashMap", "python": "dict", "node": "Map", "wasm": "Map"}
print(f"\n{'operation':22} {'language':8} {'keys':>9} {'ns/op':>10} {'baseline ns/op':>15} {'ratio':>7}  baseline")
for r in rows:
    if "ns" in r:
        print(f"{r['op']:22} {r['lang']:8} {r['keys']:>9} {r['ns']:>10.2f} {r['baseline_ns']:>15.2f} {r['ratio']:>6.2f}x  {base.get(r['lang'], '?')}")
    else:
        b, bb = f"{r['bytes']:.1f} B", f"{r['baseline_bytes']:.1f} B"
        print(f"{r['op']:22} {r['lang']:8} {r['keys']:>9} {b:>10} {bb:>15} {r['ratio']:>6.2f}x  {base.get(r['lang'], '?')}; bytes per counter, keys {r['key_bytes']:.1f} B")
with open(out, "w") as f:
    json.dump(rows, f, indent=1)
    f.write("\n")
if smoke:
    want = {"rust": ops[:6], "python": ops[:5], "node": ops[:5], "wasm": ops[:5]}
    mem = {"rust", "python", "wasm"}
    missing = []
    for lang in langs:
        got = {(r["op"], r["keys"]) for r in rows if r["lang"] == lang}
        for op in want[lang]:
            for n in (1, 100):
                if (op, n) not in got:
                    missing.append(f"{lang} {op} at {n} keys")
        if lang in mem:
            for op in ops[6:]:
                if not any(o == op for o, _ in got):
                    missing.append(f"{lang} {op}")
    def number(r, k, low):
        return isinstance(r.get(k), (int, float)) and r[k] >= low
    bad = [r for r in rows if not (number(r, "ns", 1e-9) and number(r, "baseline_ns", 1e-9) and number(r, "ratio", 0)
                                   if "ns" in r else number(r, "bytes", -1e18) and number(r, "baseline_bytes", -1e18))]
    if missing or bad:
        print("bench smoke: missing cases: " + ", ".join(missing) + (f"; rows without numbers: {bad}" if bad else ""), file=sys.stderr)
        sys.exit(1)
    print(f"\nsmoke: every case ran ({len(rows)} rows)")
EOF
printf '\n%s cores; load average %s at the start, %s at the end\n' "$(nproc 2>/dev/null || echo ?)" \
  "$load_at_start" "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
printf 'rows written to %s (%ss)\n' "$results" $(($(date +%s) - started))
