"""The benchmark script still runs (with tiny sizes); it checks its own counts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench.py"


def test_bench_runs_and_reports_every_case() -> None:
    result = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for case in ("d[key] += 1", "shard.increment(key, 1, now_ms)", "increment_ids(array('I'), 1, now_ms)", "goals:"):
        assert case in result.stdout
