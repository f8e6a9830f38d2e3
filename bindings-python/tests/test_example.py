"""The SQLite host example: a run killed mid-way and a second run resume exactly."""

from __future__ import annotations

import importlib.util
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

from shardtally import Global

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sqlite_host.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sqlite_host", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLE), *args], capture_output=True, text=True, timeout=120)


def test_a_crash_and_a_restart_lose_and_double_count_nothing(tmp_path: Path) -> None:
    example = load_example()
    db = str(tmp_path / "counters.sqlite3")

    first = run("--db", db, "--run", "1", "--events", "1500", "--crash-after", "900", "--loss", "0.2")
    assert first.returncode == 75, first.stderr
    assert "crashing after 900 acknowledged increments" in first.stdout

    second = run("--db", db, "--run", "2", "--events", "1000", "--loss", "0.2")
    assert second.returncode == 0, second.stderr

    expected: Counter[str] = Counter()
    for key, delta in example.make_events(1, 1500)[:900] + example.make_events(2, 1000):
        expected[key] += delta
    with sqlite3.connect(db) as conn:
        totals = dict(conn.execute("SELECT key, total FROM totals"))
        (snapshot,) = conn.execute("SELECT snapshot FROM global_state").fetchone()
        (version,) = conn.execute("SELECT value FROM meta WHERE name = 'published_version'").fetchone()
        shards = conn.execute("SELECT COUNT(*) FROM shard_state").fetchone()[0]
    assert totals == dict(expected)
    assert f"published totals: {sum(expected.values())} over {len(expected)} keys" in second.stdout
    # The persisted dedup state agrees with the published totals.
    restored = Global.restore(snapshot, publish_mode="changes")
    assert restored.totals() == dict(expected)
    assert restored.published_version == version
    assert restored.stats.total_writes > 0
    assert shards == 3


def test_a_clean_run_publishes_every_increment(tmp_path: Path) -> None:
    example = load_example()
    db = str(tmp_path / "clean.sqlite3")
    result = run("--db", db, "--run", "3", "--events", "400", "--loss", "0")
    assert result.returncode == 0, result.stderr
    expected: Counter[str] = Counter()
    for key, delta in example.make_events(3, 400):
        expected[key] += delta
    with sqlite3.connect(db) as conn:
        assert dict(conn.execute("SELECT key, total FROM totals")) == dict(expected)
