"""The outbox in Python: offers that never block, delivery, failure → reconnect → one
re-send → give up, send timeouts, close and drain; every bad input is a
``ShardtallyError`` that changes nothing; outboxes pickle."""

from __future__ import annotations

from typing import Any

import pytest

from support import misspelt, pickled, rejected
from shardtally import (
    ConfigZeroError,
    Drained,
    GaveUp,
    InvalidArgumentError,
    InvalidConfigError,
    InvalidTimeError,
    OfferOutcome,
    Outbox,
    OutboxStats,
    Reconnect,
    Send,
)


def held() -> Outbox:
    """Capacity 2: message 1 in flight, message 2 queued."""
    o = Outbox(capacity=2, max_message_bytes=4, seed=7, send_timeout_ms=1000)
    assert (len(o), o.is_empty) == (0, True)
    assert o.offer(b"a", 0) == OfferOutcome("queued", id=1)
    assert o.poll_output() == Send(1, 1, b"a")
    assert o.offer(bytearray(b"b"), 1) == OfferOutcome("queued", id=2)
    return o


def test_offers_drop_by_reason_and_never_block() -> None:
    o = held()
    assert o.offer(b"c", 2) == OfferOutcome("dropped", reason="full")
    assert o.offer(memoryview(b"toolong"), 3) == OfferOutcome("dropped", reason="too_large")
    assert (len(o), o.is_empty, o.queued_ids(), o.in_flight_ids()) == (2, False, [2], [1])
    assert (o.stats.dropped_full, o.stats.dropped_too_large) == (1, 1)


def test_failure_reconnects_resends_once_then_gives_up() -> None:
    o = held()
    assert o.sent(1, 10) and not o.sent(1, 11)
    assert o.poll_output() == Send(2, 1, b"b")
    assert o.failed(2, 20) and o.is_reconnecting
    assert o.next_deadline is not None and o.next_deadline.timer == "reconnect"
    deadline = o.poll_timeout()
    assert deadline is not None and 220 <= deadline < 5020
    o.handle_timeout(deadline)
    assert [o.poll_output(), o.poll_output()] == [Reconnect(), Send(2, 2, b"b")]
    assert o.failed(2, deadline) and o.poll_output() == GaveUp(2, b"b")
    assert o.stats == OutboxStats(
        offered=2, queued=2, delivered=1, gave_up=1, failures=2, resends=1, reconnects=1
    )


def test_close_drains() -> None:
    o = held()
    o.close(5)
    assert o.is_closed and not o.is_drained
    assert o.offer(b"x", 6) == OfferOutcome("dropped", reason="closed")
    o.sent(1, 7)
    assert o.poll_output() == Send(2, 1, b"b")
    o.sent(2, 8)
    assert o.poll_output() == Drained() and o.is_drained and len(o) == 0


def test_bad_settings() -> None:
    misspelt(Outbox, "capacty", "capacity")
    misspelt(Outbox.restore, "sed", "seed", snapshot=Outbox().snapshot())
    with pytest.raises(ConfigZeroError):
        Outbox(capacity=0)
    with pytest.raises(InvalidConfigError):
        Outbox(reconnect_min_ms=300, reconnect_max_ms=300)


def test_wrong_types_change_nothing() -> None:
    o: Any = held()  # wrong types on purpose
    bad: list[tuple[type[Any], Any]] = [
        (InvalidArgumentError, lambda: o.offer("text", 5)),
        (InvalidArgumentError, lambda: o.offer(None, 5)),
        (InvalidTimeError, lambda: o.offer(b"x", -5)),
        (InvalidArgumentError, lambda: o.sent("1", 5)),
        (InvalidArgumentError, lambda: o.failed(-1, 5)),
        (InvalidTimeError, lambda: o.close(None)),
    ]
    for error, call in bad:
        rejected(o, error, call)


def test_pickling_round_trip_offers_in_flight_messages_again() -> None:
    o = held()
    back = pickled(o)
    assert back.poll_output() == Send(1, 1, b"a")
    assert repr(back) == "<Outbox len=2 is_reconnecting=False is_closed=False>"
