"""Membership in Python: registration, reshards, heartbeats and expiry, per-cluster rows;
every bad input is a ``ShardtallyError`` that changes nothing; machines pickle."""

from __future__ import annotations

from typing import Any

import pytest

from support import misspelt, pickled, rejected
from shardtally import (
    ClusterInfo,
    ClusterNotEmptyError,
    EmptyIdError,
    HolderExpiredError,
    IdTooLongError,
    InvalidArgumentError,
    InvalidConfigError,
    InvalidKeyError,
    InvalidTimeError,
    Membership,
    MembershipStats,
    NotAssignedError,
    ShardChanged,
    ShardInfo,
    ShardLost,
    TableFullError,
    UnknownClusterError,
    UnknownHolderError,
)


def two_holders() -> Membership:
    m = Membership(heartbeat_interval_ms=1000, grace_period_ms=500, reshard_interval_ms=0)
    m.register("c", "h1", 0)
    m.register("c", "h2", 10)
    return m


def drain(m: Membership) -> list[ShardChanged | ShardLost]:
    out = []
    while (o := m.poll_output()) is not None:
        out.append(o)
    return out


def test_holders_get_unique_indices_and_hear_of_changes() -> None:
    m = two_holders()
    assert drain(m) == [
        ShardChanged("c", "h1", 0, 1, 1),
        ShardChanged("c", "h1", 0, 2, 2),
        ShardChanged("c", "h2", 1, 2, 2),
    ]
    assert m.shard_info("c", "h2", 10) == ShardInfo("c", "h2", 1, 2, 2)
    assert m.assignments("c", 10) == [ShardInfo("c", "h1", 0, 2, 2), ShardInfo("c", "h2", 1, 2, 2)]
    stats = MembershipStats(registrations=2, reshards=2)
    assert m.cluster_info("c") == ClusterInfo(2, 2, 2, 2, 10, None, stats) and m.cluster_info("x") is None
    assert m.clusters() == ["c"]
    assert m.take_changed_clusters() == ["c"] and m.take_changed_clusters() == []


def test_unregister_heartbeat_expiry_and_removal() -> None:
    m = two_holders()
    drain(m)
    m.heartbeat("c", "h1", 900)
    assert m.next_deadline is not None and (m.next_deadline.at_ms, m.next_deadline.timer) == (1510, "expiry")
    m.unregister("c", "h1", 950)
    assert drain(m) == [ShardLost("c", "h1", 0, 2, 2, "unregistered"), ShardChanged("c", "h2", 0, 1, 3)]
    deadline = m.poll_timeout()
    assert deadline == 1510
    m.handle_timeout(deadline)
    assert drain(m) == [ShardLost("c", "h2", 0, 1, 3, "expired")]
    assert m.stats == MembershipStats(registrations=2, heartbeats=1, unregistrations=1, expirations=1, reshards=3, moves=1)
    m.remove_cluster("c", 2000)
    assert m.clusters() == [] and m.take_changed_clusters() == ["c"]


def test_clusters_restore_from_their_own_rows() -> None:
    m = Membership(assignment="compact")
    m.register("a", "x", 0)
    m.register("b", "y", 0)
    rows = [m.snapshot_cluster(c) for c in m.clusters()]
    assert m.snapshot_cluster("zz") is None
    back = Membership.restore_clusters(reversed([r for r in rows if r is not None]), **m.config)
    assert back.snapshot() == m.snapshot()
    assert Membership.restore(m.snapshot(), **m.config).clusters() == ["a", "b"]


def test_bad_settings() -> None:
    misspelt(Membership, "heartbeat_interval", "heartbeat_interval_ms")
    misspelt(Membership.restore_clusters, "asignment", "assignment", rows=[])
    with pytest.raises(InvalidConfigError) as info:
        Membership(assignment="random")  # type: ignore[arg-type]
    assert info.value.field == "assignment"


def test_wrong_types_change_nothing() -> None:
    m: Any = two_holders()  # wrong types on purpose
    bad: list[tuple[type[Any], Any]] = [
        (InvalidArgumentError, lambda: m.register(1, "h", 0)),
        (InvalidArgumentError, lambda: m.heartbeat("c", None, 0)),
        (InvalidKeyError, lambda: m.unregister("c", "h\ud800", 0)),
        (InvalidTimeError, lambda: m.remove_cluster("c", 1.5)),
        (InvalidArgumentError, lambda: m.shard_info("c", b"h1", 0)),
        (InvalidArgumentError, lambda: m.cluster_info(["c"])),
        (InvalidArgumentError, lambda: Membership.restore_clusters("rows")),  # type: ignore[arg-type]
        (InvalidArgumentError, lambda: Membership.restore_clusters([1])),  # type: ignore[list-item]
    ]
    for error, call in bad:
        rejected(m, error, call)


def test_rejected_inputs_change_nothing() -> None:
    m = two_holders()
    assert rejected(m, UnknownClusterError, lambda: m.heartbeat("x", "h1", 20)).cluster == "x"
    e = rejected(m, UnknownHolderError, lambda: m.unregister("c", "h9", 20))
    assert (e.cluster, e.holder) == ("c", "h9")
    assert rejected(m, HolderExpiredError, lambda: m.heartbeat("c", "h1", 10_000)).expired_at == 1500
    assert rejected(m, ClusterNotEmptyError, lambda: m.remove_cluster("c", 20)).holders == 2
    assert rejected(m, EmptyIdError, lambda: m.register("c", "", 20)).what == "holder id"
    small = Membership(max_id_bytes=2, max_holders=1)
    small.register("c", "h", 0)
    assert rejected(small, IdTooLongError, lambda: small.register("c", "abc", 0)).max == 2
    assert rejected(small, TableFullError, lambda: small.register("c", "g", 0)).table == "holders"
    slow = Membership(reshard_interval_ms=1000)
    slow.register("c", "h1", 0)
    slow.register("c", "h2", 1)
    with pytest.raises(NotAssignedError):
        slow.shard_info("c", "h2", 1)


def test_pickling_round_trip() -> None:
    m = two_holders()
    back = pickled(m)
    assert back.assignments("c", 10) == m.assignments("c", 10)
    assert repr(back) == "<Membership clusters=[\"c\"]>"
