"""What the PostgreSQL hosts share: schema names, NOTIFY channels and the versioned
migrations shipped in ``migrations/`` (the one source of the files: the Node package's build
copies them into its ``pg/migrations/``).

A migration is ``migrations/<component>/<version>_<name>.sql``, applied once per schema in
version order by :func:`migrate`, in one transaction, under an advisory lock (concurrent
starters wait instead of racing), with ``search_path`` set to the schema. The ledger table
``shardtally_migrations`` (``migrations/bootstrap.sql``) records each applied file with its
SHA-256; a file that changed after it was applied is a :class:`MigrationError`. Versions the
ledger has but this package does not know (a newer package migrated the schema) are left
alone: migrations only add.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql

__all__ = ["DEFAULT_SCHEMA", "Migration", "MigrationError", "check_schema", "migrate", "migrate_async", "migrations"]

DEFAULT_SCHEMA = "shardtally"
"""The schema the hosts use unless told otherwise."""

_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,47}")
_FILE = re.compile(r"(\d+)_([a-z0-9_]+)\.sql")

# One lock per schema: two processes migrating the same schema take turns.
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('shardtally.migrate'), hashtext(%s))"
_LEDGER = "SELECT version, checksum FROM shardtally_migrations WHERE component = %s"
_SET_PATH = "SELECT set_config('search_path', %s, true)"  # schema names need no quoting (check_schema)
_RECORD = "INSERT INTO shardtally_migrations (component, version, name, checksum) VALUES (%s, %s, %s, %s)"


class MigrationError(RuntimeError):
    """The schema cannot be brought up to date (a shipped migration was changed after it was
    applied, or the files are malformed)."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One shipped migration file."""

    component: str
    version: int
    name: str
    sql: str
    checksum: str
    """SHA-256 of the file's bytes, hex."""


def check_schema(schema: str) -> str:
    """Returns ``schema`` when it is a valid schema name for the hosts: lower-case letters,
    digits and ``_``, not starting with a digit, at most 48 characters (so that channel names
    derived from it fit PostgreSQL's 63-byte identifiers). Raises ``ValueError`` otherwise."""
    if not isinstance(schema, str) or _SCHEMA.fullmatch(schema) is None:
        raise ValueError(f"invalid schema name {schema!r}: use 1 to 48 of a-z, 0-9 and _, not starting with a digit")
    return schema


def channel(schema: str, component: str) -> str:
    """The NOTIFY channel of a component in a schema, e.g. ``shardtally.membership``."""
    return f"{check_schema(schema)}.{component}"


def _read(path: Any) -> tuple[str, str]:
    data: bytes = path.read_bytes()
    return data.decode("utf-8"), hashlib.sha256(data).hexdigest()


def migrations(component: str) -> list[Migration]:
    """The migrations this package ships for ``component``, in version order."""
    root = resources.files("shardtally.pg").joinpath("migrations", component)
    if not root.is_dir():
        raise MigrationError(f"no migrations for component {component!r}")
    out: list[Migration] = []
    for entry in root.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE.fullmatch(entry.name)
        if match is None:
            raise MigrationError(f"malformed migration file name {component}/{entry.name} (want <version>_<name>.sql)")
        text, checksum = _read(entry)
        out.append(Migration(component, int(match.group(1)), match.group(2), text, checksum))
    out.sort(key=lambda m: m.version)
    for a, b in zip(out, out[1:]):
        if a.version == b.version:
            raise MigrationError(f"two migrations of {component} have version {a.version}")
    return out


def _bootstrap() -> str:
    return _read(resources.files("shardtally.pg").joinpath("migrations", "bootstrap.sql"))[0]


def _pending(component: str, ledger: dict[int, str]) -> list[Migration]:
    todo = []
    for m in migrations(component):
        applied = ledger.get(m.version)
        if applied is None:
            todo.append(m)
        elif applied != m.checksum:
            raise MigrationError(
                f"migration {component}/{m.version}_{m.name} was applied with checksum {applied}, "
                f"but the shipped file has {m.checksum}: shipped migrations must never change"
            )
    return todo


def migrate(conn: psycopg.Connection[Any], *, component: str = "membership", schema: str = DEFAULT_SCHEMA) -> list[int]:
    """Brings ``schema`` up to date for ``component`` (creating the schema) and returns the
    versions it applied (empty when it was up to date). Idempotent; safe to run from many
    processes at once. Runs in one transaction (a savepoint when ``conn`` is already in one)."""
    check_schema(schema)
    with conn.transaction():
        conn.execute(_LOCK, (schema,))
        previous = conn.execute("SELECT current_setting('search_path')").fetchone()
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(_SET_PATH, (schema,))
        conn.execute(_bootstrap())
        ledger = {int(v): str(c) for v, c in conn.execute(_LEDGER, (component,)).fetchall()}
        applied = []
        for m in _pending(component, ledger):
            conn.execute(m.sql)
            conn.execute(_RECORD, (component, m.version, m.name, m.checksum))
            applied.append(m.version)
        conn.execute(_SET_PATH, (previous[0] if previous else "",))
    return applied


async def migrate_async(conn: psycopg.AsyncConnection[Any], *, component: str = "membership", schema: str = DEFAULT_SCHEMA) -> list[int]:
    """:func:`migrate` on an asyncio connection."""
    check_schema(schema)
    async with conn.transaction():
        await conn.execute(_LOCK, (schema,))
        previous = await (await conn.execute("SELECT current_setting('search_path')")).fetchone()
        await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        await conn.execute(_SET_PATH, (schema,))
        await conn.execute(_bootstrap())
        ledger = {int(v): str(c) for v, c in await (await conn.execute(_LEDGER, (component,))).fetchall()}
        applied = []
        for m in _pending(component, ledger):
            await conn.execute(m.sql)
            await conn.execute(_RECORD, (component, m.version, m.name, m.checksum))
            applied.append(m.version)
        await conn.execute(_SET_PATH, (previous[0] if previous else "",))
    return applied
