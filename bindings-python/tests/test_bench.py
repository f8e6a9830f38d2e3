"""The benchmark script still runs (with tiny sizes) and writes every case as JSON rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench.py"
CASES = {"keyed_increment", "increment_id", "increment_ids", "increments", "end_to_end"}


def test_bench_runs_and_reports_every_case(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    cmd = [sys.executable, str(BENCH), "--smoke", "--memory", "--json", str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text())
    timed = {(r["op"], r["keys"]) for r in rows if "ns" in r}
    assert timed == {(op, n) for op in CASES for n in (1, 100)}
    assert all(r["lang"] == "python" and r["ns"] > 0 and r["baseline_ns"] > 0 for r in rows if "ns" in r)
    memory = {r["op"] for r in rows if "bytes" in r}
    assert memory == {"memory/shard_pending", "memory/global_totals"}
    for op in CASES:
        assert op in result.stdout
