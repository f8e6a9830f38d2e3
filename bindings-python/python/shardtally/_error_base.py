"""The base classes of every shardtally exception (the classes per code are generated in
``_errors.py`` from shardtally-api)."""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["ShardtallyError", "ConfigError", "InputError", "ArgumentError", "DecodeError"]


def _rebuild(cls: type[ShardtallyError], message: str, rejects_batch: bool, fields: dict[str, Any]) -> ShardtallyError:
    return cls(message, rejects_batch=rejects_batch, **fields)


class ShardtallyError(Exception):
    """Base class of every shardtally exception.

    ``code`` is a stable, machine-readable string (the same in every language), ``message``
    (also ``str(exc)``) the human-readable one, and each of the error's ``fields`` (the
    offending values) is also an attribute.
    """

    code: ClassVar[str] = "SHARDTALLY_ERROR"
    message: str
    """The human-readable message."""
    fields: dict[str, Any]
    """The offending values by name (each is also an attribute)."""
    rejects_batch: bool
    """The engine's verdict on an error of ``Global.handle_batch``: ``True`` when the batch can
    never be applied (a key longer than the global's ``max_key_bytes``, a total that would
    overflow, the global's ``"totals"`` table full): report it with
    ``Shard.handle_rejection(seq, now_ms)``, which drops the batch as a counted drop.
    ``False`` when retrying may succeed: report it with ``Shard.handle_failure(seq, now_ms)``.
    Always ``False`` for argument, configuration and decoding errors."""

    def __init__(self, message: str, *, rejects_batch: bool = False, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.rejects_batch = rejects_batch
        self.fields = fields
        for name, value in fields.items():
            setattr(self, name, value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.rejects_batch, self.fields))

    def __repr__(self) -> str:
        fields = "".join(f", {k}={v!r}" for k, v in self.fields.items())
        rejects = ", rejects_batch=True" if self.rejects_batch else ""
        return f"{type(self).__name__}({self.message!r}{fields}{rejects})"


class ConfigError(ShardtallyError, ValueError):
    """A setting passed to ``Shard``, ``Global`` or ``Router`` (or their ``restore``) was
    rejected."""


class InputError(ShardtallyError):
    """An input was rejected; the machine is exactly as it was before the call."""


class ArgumentError(InputError):
    """An argument had the wrong type or value to be passed on to the engine."""


class DecodeError(ShardtallyError, ValueError):
    """Bytes are not a valid snapshot or message."""
