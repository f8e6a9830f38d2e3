"""Replays every golden trace of ``traces/`` (see traces/README.md) through Python.

Rust, Node and WebAssembly replay the same files; producing exactly the expected results
proves this binding adds and loses nothing. The canonicalizer below is generic: it knows
Python's documented idioms, never a file or a step.

Python idioms, canonically:
- a value object (dataclass) is its fields, with ``"type"``: its ``kind`` field, or its
  class's tag (``Publish``: ``"publish"``); in a class with a ``kind`` (a union of kinds),
  fields that are ``None`` belong to other kinds and are left out, elsewhere ``None`` is
  ``null``;
- a named tuple (``BatchEntry``, ``KeyTotal``, ...) is an object of its fields;
- a message (``Batch``, ``Ack``, ``Notice``) is ``bytes`` (its ``encode()``) and its fields,
  tagged ``"batch"`` / ``"ack"`` / ``"notice"``; an output holding one (``SendBatch``,
  ``Forward``) is the message's fields with the output's tag;
- a ``dict`` of totals is the list of ``{key, total}`` in key order; a tuple is a list;
- ``bytes`` are lowercase hex; integers beyond ``2**53 - 1`` are decimal strings;
- a getter exposed as a property (``stats``, ``next_deadline``...) is read when called with
  no arguments; a method Python spells as a protocol is called through it (``o.len`` is
  ``len(o)``);
- a ``restore`` ``via`` ``"rows"`` is ``Kind.from_rows([(op.table, op.value) for op in
  m.rows()], **options)``, ``via`` ``"clusters"`` is ``Membership.restore_clusters(
  [m.snapshot_cluster(c) for c in m.clusters()], **options)``.
"""

from __future__ import annotations

import array
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

import shardtally
from shardtally import Ack, Batch, Notice, ShardtallyError

TRACES = sorted((Path(__file__).resolve().parents[2] / "traces").glob("*.json"))
KINDS = ("Shard", "Global", "Router", "Gateway", "Membership", "Buckets", "Outbox")
MESSAGE_TAGS: dict[type, str] = {Batch: "batch", Ack: "ack", Notice: "notice"}
SAFE = 2**53 - 1


def canonical(value: Any) -> Any:
    """A Python result in the canonical JSON form of traces/README.md."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if abs(value) <= SAFE else str(value)
    if isinstance(value, bytes):
        return value.hex()
    if type(value) in MESSAGE_TAGS:
        fields = {name: canonical(getattr(value, name)) for name in value.__match_args__}
        return {"type": MESSAGE_TAGS[type(value)], "bytes": value.encode().hex(), **fields}
    if dataclasses.is_dataclass(value):
        out: dict[str, Any] = {}
        tag = getattr(value, "_type", None)
        union = hasattr(value, "kind")
        for field in dataclasses.fields(value):
            v = getattr(value, field.name)
            if field.name == "kind":
                tag = v
            elif type(v) in MESSAGE_TAGS:
                out.update(canonical(v))
            elif v is not None or not union:
                out[field.name] = canonical(v)
        return out if tag is None else {**out, "type": tag}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {name: canonical(v) for name, v in zip(value._fields, value)}
    if isinstance(value, dict):
        return [{"key": k, "total": canonical(v)} for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    raise AssertionError(f"no canonical form for {value!r}")


def argument(value: Any, saved: dict[str, Any]) -> Any:
    """A trace argument as the Python value a caller would pass."""
    if isinstance(value, list):
        return [argument(v, saved) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"int"}:
        return int(value["int"])
    if set(value) == {"bytes"}:
        return bytes.fromhex(value["bytes"])
    if set(value) == {"u32"}:
        return array.array("I", value["u32"])
    if set(value) == {"i64"}:
        return array.array("q", [argument(v, saved) for v in value["i64"]])
    if set(value) == {"f64"}:
        return list(value["f64"])
    if set(value) == {"ref"}:
        result = saved[value["ref"]]
        return getattr(result, "batch", result)
    return {k: argument(v, saved) for k, v in value.items()}


def step_result(step: dict[str, Any], machines: dict[str, Any], saved: dict[str, Any]) -> Any:
    options = argument(step.get("options", {}), saved)
    if "new" in step:
        assert step["kind"] in KINDS
        machines[step["new"]] = getattr(shardtally, step["kind"])(**options)
        return None
    if "restore" in step:
        old = machines[step["restore"]]
        if step.get("via") == "rows":
            machines[step["restore"]] = type(old).from_rows([(op.table, op.value) for op in old.rows()], **options)
        elif step.get("via") == "clusters":
            rows = [old.snapshot_cluster(c) for c in old.clusters()]
            machines[step["restore"]] = type(old).restore_clusters(rows, **options)
        else:
            machines[step["restore"]] = type(old).restore(old.snapshot(), **options)
        return None
    target, _, name = step["call"].rpartition(".")
    owner = machines[target] if target else shardtally
    attribute = getattr(owner, name) if hasattr(owner, name) else getattr(owner, f"__{name}__")
    args = argument(step.get("args", []), saved)
    result = attribute(*args) if callable(attribute) else attribute
    if "save" in step:
        saved[step["save"]] = result
    return canonical(result)


@pytest.mark.parametrize("path", TRACES, ids=[p.stem for p in TRACES])
def test_trace_replays_exactly(path: Path) -> None:
    doc = json.loads(path.read_text())
    assert doc["format"] == 2
    machines: dict[str, Any] = {}
    saved: dict[str, Any] = {}
    for i, step in enumerate(doc["steps"]):
        try:
            actual = step_result(step, machines, saved)
        except ShardtallyError as e:
            actual = {"error": e.code}
        if "expect" in step:
            assert actual == step["expect"], f"{path.name} step {i}: {step.get('note', '')}\n{json.dumps(step)}"


def test_every_trace_is_replayed() -> None:
    machines = {"gateway", "membership", "buckets", "outbox", "journal", "partition", "settings", "golden"}
    assert machines <= {p.stem for p in TRACES} and len(TRACES) >= 20, "traces/*.json are missing"
