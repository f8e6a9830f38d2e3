"""The public surface: exported names, documentation, and that the tests exercise every
public method and property of the machines."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

import shardtally
import shardtally._errors as errors
import shardtally._native as native
import shardtally._values as values

TESTS = Path(__file__).resolve().parent
STUB = TESTS.parent / "python" / "shardtally" / "_native.pyi"


def public(obj: object) -> list[str]:
    return sorted(n for n in dir(obj) if not n.startswith("_"))


def test_everything_exported_is_documented() -> None:
    assert shardtally.__doc__ and "poll_output" in shardtally.__doc__
    for name in shardtally.__all__:
        obj = getattr(shardtally, name)
        if name == "FORMAT_VERSION":
            assert obj == 2
            continue
        assert obj.__doc__, name
        if isinstance(obj, type) and not issubclass(obj, BaseException):
            assert obj.__module__ == "shardtally"
            fields = {f.name for f in dataclasses.fields(obj)} if dataclasses.is_dataclass(obj) else set()
            for attr in public(obj):
                assert attr in fields or getattr(obj, attr).__doc__, f"{name}.{attr}"


def test_the_native_exports_are_re_exported_and_stubbed() -> None:
    stub = STUB.read_text()
    for name in native.__all__:
        if not name.startswith("_"):
            assert name in shardtally.__all__, name
        assert re.search(rf"^(class |def ){re.escape(name)}\b|^{re.escape(name)}:", stub, re.M), name


def test_the_package_exports_exactly_the_native_value_and_error_names() -> None:
    public_native = [name for name in native.__all__ if not name.startswith("_")]
    assert sorted(shardtally.__all__) == sorted(public_native + values.__all__ + errors.__all__)
    assert set(values.CLASSES.values()) == {getattr(values, name) for name in values.__all__}


MACHINES = [shardtally.Shard, shardtally.Global, shardtally.Router, shardtally.Gateway]
MACHINES += [shardtally.Membership, shardtally.Buckets, shardtally.Outbox]


@pytest.mark.parametrize("machine", MACHINES, ids=[m.__name__ for m in MACHINES])
def test_every_public_member_of_the_machines_is_exercised(machine: type) -> None:
    sources = "\n".join(p.read_text() for p in TESTS.glob("test_*.py") if p.name != "test_api_surface.py")
    untested = [name for name in public(machine) if not re.search(rf"\.{name}\b", sources)]
    assert not untested, f"{machine.__name__}: {untested}"
