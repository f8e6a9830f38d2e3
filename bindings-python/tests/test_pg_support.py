"""Helpers of the PostgreSQL registrar tests (no tests here): registrar processes driven over
pipes (``test_pg_agent.py``, or the Node package's ``test/pg-agent.mjs``), waits with
deadlines, and a look at a cluster's row."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from shardtally import Membership, ShardInfo
from shardtally._settings import MembershipSettings

PG_URL = os.environ.get("SHARDTALLY_PG_URL", "")
needs_pg = pytest.mark.skipif(
    not PG_URL, reason="set SHARDTALLY_PG_URL to a PostgreSQL server (or run: scripts/postgres.sh bindings-python/scripts/test.sh)"
)

HERE = Path(__file__).resolve().parent
AGENT = HERE / "test_pg_agent.py"

# Short intervals: a holder expires 1.2 s after its last heartbeat (a grace period
# of five heartbeats, so a loaded machine does not expire live holders); reshards are 500 ms apart.
FAST: MembershipSettings = {"heartbeat_interval_ms": 200, "grace_period_ms": 1000, "reshard_interval_ms": 500}

Event = dict[str, Any]


@pytest.fixture
def schema() -> Iterator[str]:
    """A fresh schema name, dropped afterwards."""
    name = f"st_reg_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


class Agent:
    """A registrar process: send it commands, wait for what it reports."""

    def __init__(self, argv: list[str], name: str) -> None:
        self.name = name
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.events: queue.Queue[Event | None] = queue.Queue()
        self.seen: list[Event] = []
        self.stderr: list[str] = []
        self._threads = [threading.Thread(target=self._read, daemon=True), threading.Thread(target=self._read_stderr, daemon=True)]
        for t in self._threads:
            t.start()

    @staticmethod
    def python(name: str = "agent") -> Agent:
        return Agent([sys.executable, str(AGENT), PG_URL], name)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.put(json.loads(line))
        self.events.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def wait(self, pred: Callable[[Event], bool], timeout: float = 10.0, what: str = "") -> Event:
        """The first report (from the start, in order) that matches ``pred`` and was not
        returned before; fails after ``timeout`` seconds, showing what arrived."""
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.seen):
                if not e.get("_taken") and pred(e):
                    e["_taken"] = True
                    return e
            left = deadline - time.monotonic()
            if left <= 0:
                seen = [{k: v for k, v in e.items() if k != "_taken"} for e in self.seen]
                raise AssertionError(f"{self.name}: no {what or 'matching report'} within {timeout} s; got {seen}; stderr: {''.join(self.stderr)[-2000:]}")
            try:
                e2 = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if e2 is None:
                self.events.put(None)
                time.sleep(0.01)  # the process ended; keep failing at the deadline with its output
                continue
            self.seen.append(e2)

    def wait_event(self, rid: str, event: str, timeout: float = 10.0) -> Event:
        """The next report ``event`` of registrar ``rid`` (each is returned once)."""
        e = self.wait(lambda e: e.get("id") == rid and e.get("event") in (event, "failed"), timeout, f"{event} of {rid}")
        assert e["event"] == event, f"{self.name}: {e}"
        return e

    def new(self, rid: str, cluster: str, schema: str, settings: dict[str, Any] | None = None, **extra: Any) -> str:
        """Creates registrar ``rid``; returns its holder id."""
        self.send(op="new", id=rid, cluster=cluster, schema=schema, settings=FAST if settings is None else settings, **extra)
        return str(self.wait_event(rid, "created")["holder"])

    def start(self, rid: str) -> None:
        self.send(op="start", id=rid)

    def changed(self, rid: str, timeout: float = 10.0) -> tuple[int, int, int]:
        """The next ``(shard, num_shards, epoch)`` registrar ``rid`` reported."""
        e = self.wait_event(rid, "shard_changed", timeout)
        return e["shard"], e["num_shards"], e["epoch"]

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def exit(self) -> None:
        """Asks the process to stop its registrars and exit (``close`` waits for it)."""
        if self.proc.poll() is None:
            try:
                self.send(op="exit")
            except OSError:
                pass

    def close(self) -> None:
        self.exit()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        for t in self._threads:
            t.join(5)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass


@pytest.fixture
def agents() -> Iterator[list[Agent]]:
    """Processes to close at the end of a test (append them)."""
    started: list[Agent] = []
    yield started
    for a in started:
        a.exit()  # all at once: each takes a moment to stop its registrars
    for a in started:
        a.close()


def assignments(schema: str, cluster: str) -> list[ShardInfo]:
    """The assignments of a cluster as its row holds them after its last transaction (``now``
    0 counts as the latest time the cluster saw): what the machine committed, whatever the
    clock says when the test looks."""
    return cluster_row(schema, cluster).assignments(cluster, 0)


def cluster_row(schema: str, cluster: str) -> Membership:
    """The cluster's machine as stored."""
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        row = conn.execute(f'SELECT state FROM "{schema}".membership_clusters WHERE cluster = %s', (cluster,)).fetchone()
    assert row is not None and row[0] is not None
    return Membership.restore_clusters([row[0]], **FAST)


def consistent(infos: list[tuple[int, int, int]], count: int) -> None:
    """Assignments of one epoch: ``count`` distinct indices below ``count``."""
    assert sorted(s for s, _, _ in infos) == list(range(count)), infos
    assert {n for _, n, _ in infos} == {count}, infos
    assert len({e for _, _, e in infos}) == 1, infos
