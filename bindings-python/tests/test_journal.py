"""The change journal and generation notices in Python: ``take_changes()`` row operations
of the counters, a gateway and an outbox applied to a ``(table, key) -> value`` store
rebuild equal machines with ``from_rows``; a reset reaches shards at once as a ``Notice``."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import pytest

from support import pump, rejected
from shardtally import (
    CorruptError,
    Gateway,
    Global,
    InvalidArgumentError,
    NoUpstreamError,
    Notice,
    Outbox,
    Publish,
    RowOp,
    Shard,
    ShardRef,
    StaleKey,
    UnknownSettingError,
    WrongKindError,
)


class Store:
    """A ``(table, key) -> value`` table, as a host's database keeps the rows."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, bytes], bytes] = {}

    def apply(self, ops: list[RowOp]) -> None:
        for op in ops:
            if op.op == "put":
                assert op.value is not None
                self.rows[(op.table, op.key)] = op.value
            elif op.op == "delete":
                self.rows.pop((op.table, op.key), None)
            else:  # "clear" every row of the table, or "delete_below" the key
                for table, key in list(self.rows):
                    if table == op.table and (op.op == "clear" or key < op.key):
                        del self.rows[(table, key)]

    def pairs(self) -> list[tuple[str, bytes]]:
        return [(table, value) for (table, _), value in self.rows.items()]


def test_shard_and_global_rebuild_from_their_rows_after_every_input() -> None:
    shard = Shard(shard=0, incarnation=1, flush_after_requests=2)
    global_ = Global(persist_after_writes=1)
    shard_rows, global_rows = Store(), Store()
    steps: list[Callable[[], object]] = [
        lambda: shard.increment("x", 5, 10),
        lambda: shard.increment("y", 1, 20),
        lambda: pump(shard, global_, 30),
        lambda: global_.reset("x", 40),
        lambda: shard.increment("x", 2, 50),
    ]
    for step in steps:
        step()
        shard_rows.apply(shard.take_changes())
        global_rows.apply(global_.take_changes())
        assert Shard.from_rows(shard_rows.pairs(), **shard.config).snapshot() == shard.snapshot()
        assert Global.from_rows(global_rows.pairs(), **global_.config).snapshot() == global_.snapshot()
    assert shard.take_changes() == [] and global_.take_changes() == []
    assert all(op.op == "put" and op.value is not None for op in shard.rows())
    assert sorted(shard_rows.pairs()) == sorted((op.table, op.value) for op in shard.rows())


def test_a_tiered_global_keeps_its_upstream_shard_in_upstream_tables() -> None:
    tiered = Global(upstream={"shard": 5, "incarnation": 1, "flush_after_requests": 1})
    shard = Shard(shard=0, incarnation=1, flush_after_requests=1)
    shard.increment("k", 3, 0)
    pump(shard, tiered, 1)
    ops = tiered.take_changes()
    assert {op.table for op in ops} >= {"meta", "totals", "upstream.meta", "upstream.in_flight"}
    store = Store()
    store.apply(ops)
    back = Global.from_rows(store.pairs(), **tiered.config)
    assert back.snapshot() == tiered.snapshot() and back.has_upstream()
    with pytest.raises(CorruptError):
        Global.from_rows(store.pairs())  # the upstream shard's settings are needed


def test_a_gateway_and_an_outbox_rebuild_from_their_rows_after_every_input() -> None:
    gw = Gateway(group="lobby", limit=2, reservation_ttl_ms=1_000)
    outbox = Outbox(capacity=4)
    gw_rows, outbox_rows = Store(), Store()
    steps: list[Callable[[], object]] = [
        lambda: gw.route("alice", 10),
        lambda: gw.handle_replica_created(0, "r1", 10),
        lambda: gw.handle_connect("lobby", "r1", "s1", "alice", 20),
        lambda: gw.route("bob", 30),
        lambda: gw.handle_close("lobby", "r1", "s1", 40),
        lambda: gw.handle_timeout(2_000),
        lambda: outbox.offer(b"hi", 10),
        lambda: outbox.offer(b"there", 11),
        lambda: outbox.sent(1, 12),
        lambda: outbox.failed(2, 13),
    ]
    for step in steps:
        step()
        while gw.poll_output() is not None or outbox.poll_output() is not None:
            pass
        gw_rows.apply(gw.take_changes())
        outbox_rows.apply(outbox.take_changes())
        assert Gateway.from_rows(gw_rows.pairs(), **gw.config).snapshot() == gw.snapshot()
        assert Outbox.from_rows(outbox_rows.pairs(), **outbox.config).snapshot() == outbox.snapshot()
    assert gw.take_changes() == [] and outbox.take_changes() == []
    assert sorted(gw_rows.pairs()) == sorted((op.table, op.value) for op in gw.rows())
    assert {table for table, _ in outbox_rows.pairs()} == {"meta", "messages", "sends"}
    # A connect is a few rows, none of them a whole table.
    gw.route("carol", 3_000)
    gw.take_changes()
    gw.handle_connect("lobby", "r1", "s3", "carol", 3_001)
    assert [(op.op, op.table) for op in gw.take_changes()] == [("put", "meta"), ("put", "connections"), ("delete", "reservations")]
    with pytest.raises(UnknownSettingError):
        Gateway.from_rows(gw_rows.pairs(), group="lobby")  # type: ignore[call-arg]  # the group is in the rows
    with pytest.raises(WrongKindError):
        Outbox.from_rows(gw_rows.pairs())


def test_bad_rows_and_settings() -> None:
    with pytest.raises(UnknownSettingError):
        Shard.from_rows([], shard=0)  # type: ignore[call-arg]  # the identity is in the rows
    with pytest.raises(WrongKindError):
        Shard.from_rows([("meta", b"x")])
    rows = [(op.table, op.value or b"") for op in Shard(shard=0, incarnation=1).rows()]
    with pytest.raises(CorruptError):
        Shard.from_rows([("pending", value) for _, value in rows])  # a meta row in another table
    with pytest.raises(WrongKindError):
        Global.from_rows([(op.table, op.value or b"") for op in Shard(shard=0, incarnation=1).rows()])
    for bad in (5, "rows", [("meta",)], [(1, b"")], [("meta", "text")]):
        with pytest.raises(InvalidArgumentError):
            Shard.from_rows(bad)  # type: ignore[arg-type]


def test_a_reset_reaches_shards_at_once_as_a_notice() -> None:
    shard = Shard(shard=0, incarnation=1, flush_after_requests=0)
    global_ = Global(persist_after_writes=0)
    shard.increment("x", 5, 0)
    shard.flush(0)
    pump(shard, global_, 1)
    shard.increment("x", 2, 2)  # accepted before the shard learns of the reset
    global_.reset("x", 3)
    outputs = [global_.poll_output(), global_.poll_output(), global_.poll_output()]
    assert isinstance(outputs[0], Publish) and outputs[2] is None
    notice = outputs[1]
    assert isinstance(notice, Notice)
    assert (notice.shard_ref, notice.generation, notice.keys) == (ShardRef(0, 1), 1, (StaleKey("x", 1),))
    assert shard.handle_generation_notice(notice, 4)
    assert shard.pending() == () and shard.generation == 1
    assert not shard.handle_generation_notice(notice.encode(), 5), "a repeated notice teaches nothing"
    rejected(shard, WrongKindError, lambda: shard.handle_generation_notice(notice.encode()[:3] + b"\x05" + notice.encode()[4:], 6))
    rejected(shard, InvalidArgumentError, lambda: shard.handle_generation_notice("notice", 6))  # type: ignore[arg-type]
    # a notice on demand, for a shard life the global never heard from
    late = global_.generation_notice("x", 7, 9)
    assert repr(late) == "Notice(shard=7, incarnation=9, generation=1, keys=(StaleKey(key='x', generation=1),))"
    assert global_.generation_notice("never", 0, 1).keys == ()
    rejected(global_, NoUpstreamError, lambda: global_.handle_generation_notice(late, 6))
    with pytest.raises(InvalidArgumentError):
        global_.generation_notice("x", -1, 0)
    tiered = Global(upstream={"shard": 7, "incarnation": 9})
    assert tiered.handle_generation_notice(late, 6) and tiered.generation == 1


def test_notices_are_values() -> None:
    global_ = Global()
    shard = Shard(shard=0, incarnation=1, flush_after_requests=1)
    shard.increment("x", 1, 0)
    pump(shard, global_, 0)
    global_.reset("x", 0)
    notice = global_.generation_notice("x", 1, 2)
    copy = Notice.decode(notice.encode())
    assert copy == notice and hash(copy) == hash(notice) and copy is not notice
    assert pickle.loads(pickle.dumps(notice)) == notice
    assert (notice.shard, notice.incarnation) == (1, 2)
    match notice:
        case Notice(shard, incarnation, generation, keys):
            assert (shard, incarnation, generation, keys) == (1, 2, 1, (StaleKey("x", 1),))
    with pytest.raises(TypeError):
        Notice()  # notices come from a global or from decode
    with pytest.raises(WrongKindError):
        Notice.decode(global_.snapshot())
    others: list[Any] = [notice.encode(), None, global_.generation_notice("x", 1, 3)]
    assert all(notice != other for other in others)
