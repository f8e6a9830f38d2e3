"""Shared test code: draining outputs, a fault-free pump, and rejected inputs."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import pytest

from shardtally import Batch, Forward, Global, Publish, SendBatch, Shard, ShardtallyError, UnknownSettingError

E = TypeVar("E", bound=ShardtallyError)


class Machine(Protocol):
    def snapshot(self) -> bytes: ...

    def take_state_changed(self) -> bool: ...


def rejected(machine: Machine, error: type[E], call: Callable[[], object]) -> E:
    """Runs a call that must raise ``error`` and change nothing: the snapshot bytes are equal
    before and after, and no state change is reported."""
    before = machine.snapshot()
    machine.take_state_changed()
    with pytest.raises(error) as info:
        call()
    assert machine.snapshot() == before
    assert not machine.take_state_changed()
    return info.value


def misspelt(make: Callable[..., object], setting: str, suggestion: str, **required: Any) -> None:
    """``make(**required, setting=1)`` raises ``UnknownSettingError`` naming ``suggestion``."""
    with pytest.raises(UnknownSettingError) as info:
        make(**required, **{setting: 1})
    assert (info.value.code, info.value.setting, info.value.suggestion) == ("CONFIG_UNKNOWN_SETTING", setting, suggestion)
    assert isinstance(info.value, ValueError) and f'did you mean "{suggestion}"' in str(info.value)


def pickled(machine: Any) -> Any:
    """A pickle round trip of a machine: same type, same snapshot bytes, same settings."""
    back = pickle.loads(pickle.dumps(machine))
    assert type(back) is type(machine)
    assert back.snapshot() == machine.snapshot() and back.config == machine.config
    return back


def batches(shard: Shard) -> list[Batch]:
    """Every batch the shard emitted since the last call."""
    out = []
    while (o := shard.poll_output()) is not None:
        assert isinstance(o, SendBatch)
        out.append(o.batch)
    return out


def pump(shard: Shard, global_: Global, now_ms: int) -> None:
    """Delivers every emitted batch and routes the acknowledgements back (no faults)."""
    while emitted := batches(shard):
        for b in emitted:
            ack = global_.handle_batch(b, now_ms)
            shard.handle_ack(ack, now_ms)


def publishes(global_: Global) -> list[Publish]:
    """Every publish the global emitted since the last call (forwards are not expected;
    notices are dropped: a shard also learns a reset from its next acknowledgement)."""
    out = []
    while (o := global_.poll_output()) is not None:
        assert not isinstance(o, Forward)
        if isinstance(o, Publish):
            out.append(o)
    return out


def forwards(global_: Global) -> list[Batch]:
    """Every forwarded batch the global emitted since the last call (publishes are dropped)."""
    out = []
    while (o := global_.poll_output()) is not None:
        if isinstance(o, Forward):
            out.append(o.batch)
    return out
