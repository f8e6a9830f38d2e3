"""The gateway in Python: routing, connections, message plans, gossip, rebuilding from
reports; every bad input is a ``ShardtallyError`` that changes nothing; gateways pickle."""

from __future__ import annotations

from typing import Any

import pytest

from support import misspelt, pickled, rejected
from shardtally import (
    Audience,
    ConnectOutcome,
    Connection,
    CreateReplica,
    Delivery,
    DuplicateConnectionError,
    DuplicateReplicaError,
    EmptyIdError,
    Gateway,
    GossipDone,
    GossipPlan,
    GossipReply,
    Introduce,
    InvalidArgumentError,
    InvalidConfigError,
    InvalidKeyError,
    InvalidTimeError,
    MissingSettingError,
    PayloadTooLargeError,
    PendingCreation,
    Placement,
    ReplicaFullError,
    ReplicaView,
    Route,
    TableFullError,
    UnknownConnectionError,
    UnknownCreationError,
    UnknownReplicaError,
    WrongGroupError,
)


def two_replicas() -> Gateway:
    """Limit 1: alice on r1 (connection c1), bob on r2 (connection c2)."""
    gw = Gateway(group="lobby", limit=1)
    assert gw.route("alice", 0) == Route("pending", creation=0)
    assert gw.pending_creations() == [PendingCreation(0, ("alice",))]
    assert gw.handle_replica_created(0, "r1", 1) == Placement(0, "r1", ("alice",))
    assert gw.handle_connect("lobby", "r1", "c1", "alice", 2) == ConnectOutcome("reserved")
    assert gw.route("bob", 3) == Route("pending", creation=1)
    gw.handle_replica_created(1, "r2", 4)
    gw.handle_connect("lobby", "r2", "c2", "bob", 5)
    assert [gw.poll_output() for _ in range(4)] == [CreateReplica(0), CreateReplica(1), Introduce("r2", ("r1",)), None]
    return gw


def test_routes_connections_and_views() -> None:
    gw = two_replicas()
    assert (gw.group, gw.request_ids, gw.current) == ("lobby", 2, None)
    assert gw.replicas() == [ReplicaView("r1", 1, 0), ReplicaView("r2", 1, 0)]
    assert gw.replica("r2") == ReplicaView("r2", 1, 0) and gw.replica("r9") is None
    assert gw.connections("r1") == [Connection("c1", "alice")] and gw.connections("r9") is None
    assert (gw.sticky("bob"), gw.sticky("nobody")) == ("r2", None)
    assert gw.reservations() == [] and gw.pending_creations() == []
    # error and close both fire for one socket: one slot is freed
    assert gw.handle_close("lobby", "r1", "c1", 6) and not gw.handle_close("lobby", "r1", "c1", 7)
    assert gw.replica("r1") == ReplicaView("r1", 0, 0) and gw.sticky("alice") is None
    route = gw.route("carol", 8)
    assert route == Route("replica", replica="r1", reason="least_loaded", expires_at=10_008)
    assert gw.next_deadline is not None and gw.next_deadline.timer == "reservation_expiry"
    assert gw.poll_timeout() == 10_008
    gw.handle_timeout(10_008)
    assert gw.reservations() == [] and gw.stats.expirations == 1
    assert (gw.stats.closes, gw.stats.duplicate_closes) == (1, 1)


def test_failed_creation_hands_back_the_waiting_requests() -> None:
    gw = two_replicas()
    assert gw.route("carol", 6) == Route("pending", creation=2)
    assert gw.handle_creation_failed(2, 7) == ["carol"]
    assert gw.handle_creation_failed(2, 8) is None
    assert gw.stats.creation_failures == 1


def test_message_plans_and_gossip() -> None:
    gw = two_replicas()
    assert gw.emit("lobby", "r1", "c1", True) == [Delivery("r1", Audience("all"))]
    assert gw.broadcast("lobby", "r1", "c1", False) == [
        Delivery("r1", Audience("all_except", connection="c1")),
        Delivery("r2", Audience("all")),
    ]
    assert gw.whisper("lobby", "r1", "c1", "bob") == [Delivery("r2", Audience("request", request="bob"))]
    assert gw.whisper("lobby", "r1", "c1", "nobody") == []
    plan = gw.gossip("lobby", "r1", 6)
    assert plan == GossipPlan(0, ("r2",), 5006) and gw.gossips() == [0]
    assert gw.handle_gossip_reply("lobby", plan.gossip, "r2", b"hi", 7)
    assert not gw.handle_gossip_reply("lobby", plan.gossip, "r2", b"again", 7)
    assert gw.poll_output() == GossipDone(0, "r1", (GossipReply("r2", b"hi"),), (), ())
    plan = gw.gossip("lobby", "r2", 8)
    assert gw.handle_gossip_failure("lobby", plan.gossip, "r1", 9)
    assert gw.poll_output() == GossipDone(1, "r2", (), ("r1",), ())


def test_a_restarted_gateway_rebuilds_from_reports() -> None:
    gw = Gateway(group="lobby", limit=3)
    gw.handle_report("lobby", "r1", [("c1", "alice"), ("c2", "bob")], 0)
    gw.handle_report("lobby", "r2", iter([("c3", "carol")]), 0)
    assert gw.replicas() == [ReplicaView("r1", 2, 0), ReplicaView("r2", 1, 0)]
    assert gw.route("alice", 1) == Route("replica", replica="r1", reason="sticky", expires_at=10_001)
    assert gw.route("dave", 1).replica == "r2"
    assert gw.stats.reports == 2


def test_bad_settings() -> None:
    misspelt(Gateway, "limt", "limit", group="g")
    misspelt(Gateway.restore, "reservation_ttl", "reservation_ttl_ms", snapshot=Gateway(group="g").snapshot())
    with pytest.raises(MissingSettingError) as missing:
        Gateway(limit=2)  # type: ignore[call-arg]
    assert missing.value.field == "group"
    with pytest.raises(InvalidConfigError):
        Gateway(group=5)  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError):
        Gateway(group="g", limit="2")  # type: ignore[arg-type]
    with pytest.raises(EmptyIdError):
        Gateway(group="")


def test_wrong_types_change_nothing() -> None:
    gw: Any = two_replicas()  # wrong types on purpose
    bad: list[tuple[type[Any], Any]] = [
        (InvalidArgumentError, lambda: gw.route(5, 0)),
        (InvalidKeyError, lambda: gw.route("a\ud800", 0)),
        (InvalidTimeError, lambda: gw.route("a", -1)),
        (InvalidArgumentError, lambda: gw.handle_replica_created("0", "r3", 0)),
        (InvalidArgumentError, lambda: gw.handle_connect("lobby", "r1", "c9", None, 0)),
        (InvalidArgumentError, lambda: gw.handle_report("lobby", "r1", "c1", 0)),
        (InvalidArgumentError, lambda: gw.handle_report("lobby", "r1", [("c1",)], 0)),
        (InvalidArgumentError, lambda: gw.handle_report("lobby", "r1", [("c1", 1)], 0)),
        (InvalidArgumentError, lambda: gw.emit("lobby", "r1", "c1", 1)),
        (InvalidArgumentError, lambda: gw.handle_gossip_reply("lobby", 0, "r2", "text", 0)),
        (InvalidArgumentError, lambda: gw.handle_gossip_failure("lobby", -1, "r2", 0)),
        (InvalidArgumentError, lambda: gw.handle_creation_failed(True, 0)),
    ]
    for error, call in bad:
        e = rejected(gw, error, call)
        assert isinstance(e, TypeError)


def test_rejected_inputs_change_nothing() -> None:
    gw = two_replicas()
    e = rejected(gw, WrongGroupError, lambda: gw.handle_connect("hall", "r1", "c9", "x", 6))
    assert (e.code, e.expected, e.got) == ("WRONG_GROUP", "lobby", "hall")
    assert rejected(gw, UnknownReplicaError, lambda: gw.handle_close("lobby", "r9", "c1", 6)).replica == "r9"
    full = rejected(gw, TableFullError, lambda: gw.handle_report("lobby", "r1", [("c1", "a"), ("c3", "b")], 6))
    assert (full.table, full.limit) == ("connections per replica", 1)
    wide = Gateway(group="lobby", limit=2)
    rejected(wide, DuplicateConnectionError, lambda: wide.handle_report("lobby", "r1", [("c1", "a"), ("c1", "b")], 6))
    replica_full = rejected(gw, ReplicaFullError, lambda: gw.handle_connect("lobby", "r1", "c9", "zed", 6))
    assert (replica_full.replica, replica_full.limit) == ("r1", 1)
    rejected(gw, UnknownCreationError, lambda: gw.handle_replica_created(99, "r3", 6))
    gw.route("carol", 6)
    rejected(gw, DuplicateReplicaError, lambda: gw.handle_replica_created(2, "r1", 6))
    rejected(gw, UnknownConnectionError, lambda: gw.emit("lobby", "r1", "c9", True))
    small = Gateway(group="g", max_gossip_reply_bytes=1)
    too_large = rejected(small, PayloadTooLargeError, lambda: small.handle_gossip_reply("g", 0, "r", b"ab", 0))
    assert (too_large.len, too_large.max) == (2, 1)


def test_pickling_round_trip() -> None:
    gw = two_replicas()
    gw.route("carol", 6)
    back = pickled(gw)
    assert back.group == "lobby" and back.pending_creations() == gw.pending_creations()
    assert repr(back) == '<Gateway group="lobby" replicas=2 request_ids=3>'
