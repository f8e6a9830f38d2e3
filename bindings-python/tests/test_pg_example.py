"""The end-to-end example (examples/pg_workers.py) against the PostgreSQL of SHARDTALLY_PG_URL:
worker processes take shard indices from the registrar, one is killed with SIGKILL mid-stream,
the others take its keys over, and the PostgreSQL totals equal the increments the workers
acknowledged, exactly."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import psycopg

from test_pg_support import PG_URL, needs_pg, schema

__all__ = ["schema"]  # fixture

pytestmark = needs_pg

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "pg_workers.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pg_workers", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_worker_killed_mid_stream_loses_and_double_counts_nothing(schema: str) -> None:
    example = load_example()
    report = example.run(PG_URL, schema=schema, workers=3, seconds=0.3, kill_one=True, lose_every=5)

    # Exactly once: what PostgreSQL holds is what the workers acknowledged, key by key (the
    # killed worker's in-doubt batch, if any, settled by the applied-batches table).
    assert report.acknowledged and report.totals == report.acknowledged
    assert report.in_doubt_applied <= report.in_doubt
    # Answers were thrown away: the shards re-sent those batches and SQL recognised them.
    assert report.duplicates >= 1
    # The two survivors hold both indices of one epoch, newer than any other they saw.
    shards, counts, epochs = zip(*report.final_assignments)
    assert (list(shards), set(counts), len(set(epochs))) == ([0, 1], {2}, 1)
    for seen in report.epochs:
        assert seen == sorted(set(seen)), report.epochs  # each worker's epochs only increase
    assert max(max(seen) for seen in report.epochs) == epochs[0]

    # The tables agree with the report, independently read.
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        total = conn.execute(f'SELECT sum(total) FROM "{schema}".example_totals').fetchone()
        assigned = conn.execute(f'SELECT count(*) FROM "{schema}".example_applied').fetchone()
    assert total is not None and total[0] == sum(report.acknowledged.values())
    assert assigned is not None and assigned[0] >= 5  # (index, epoch) pairs that shipped batches


def test_the_example_runs_from_the_command_line(schema: str) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), PG_URL, "--schema", schema, "--workers", "2", "--seconds", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "exactly once: totals == acknowledged" in done.stdout
