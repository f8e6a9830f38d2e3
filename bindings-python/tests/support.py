"""Shared test code: draining outputs and a fault-free pump."""

from __future__ import annotations

from shardtally import Batch, Forward, Global, Publish, SendBatch, Shard


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
    """Every publish the global emitted since the last call (forwards are not expected)."""
    out = []
    while (o := global_.poll_output()) is not None:
        assert not isinstance(o, Forward)
        out.append(o)
    return out


def forwards(global_: Global) -> list[Batch]:
    """Every forwarded batch the global emitted since the last call (publishes are dropped)."""
    out = []
    while (o := global_.poll_output()) is not None:
        if isinstance(o, Forward):
            out.append(o.batch)
    return out
