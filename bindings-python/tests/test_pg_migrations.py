"""The schema migrations of shardtally.pg (the one source of the files: the Node package's
build copies them), shipped in the wheel, applied once, concurrently without harm, into the
schema asked for, and refused when a shipped file changed after it was applied."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import psycopg
import pytest

from shardtally.pg import MigrationError, check_schema, migrate
from shardtally.pg._conn import migrations
from test_pg_support import PG_URL, needs_pg, schema

__all__ = ["schema"]  # fixture

PY_DIR = Path(__file__).resolve().parents[1] / "python" / "shardtally" / "pg" / "migrations"


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.sql"))}


def test_the_installed_package_carries_its_migrations() -> None:
    # What the wheel installed (importlib.resources), not the source tree: every file.
    source = tree(PY_DIR)
    assert [(m.version, m.name) for m in migrations("membership")] == [(1, "clusters")]
    for component in ("membership", "buckets"):
        files = [checksum for path, checksum in source.items() if path.startswith(f"{component}/")]
        assert [m.checksum for m in migrations(component)] == files, component


def test_schema_names_are_checked() -> None:
    assert check_schema("shardtally_2") == "shardtally_2"
    for bad in ["", "Upper", "1st", "a-b", 'x"; DROP TABLE y; --', "a" * 49]:
        with pytest.raises(ValueError, match="invalid schema name"):
            check_schema(bad)


@needs_pg
def test_migrations_apply_once_even_when_run_concurrently(schema: str) -> None:
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                results.append(migrate(conn, schema=schema))
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == [[], [], [], [], [], [1]]  # the advisory lock serialized them
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        assert migrate(conn, schema=schema) == []
        ledger = conn.execute(f'SELECT component, version, name FROM "{schema}".shardtally_migrations').fetchall()
        assert ledger == [("membership", 1, "clusters")]
        # The tables went into the schema asked for, and the connection's search_path is back.
        assert conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{schema}.membership_clusters",)).fetchone() == (True,)
        assert conn.execute("SELECT to_regclass('membership_clusters') IS NULL").fetchone() == (True,)


@needs_pg
def test_a_changed_migration_file_is_refused(schema: str) -> None:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        migrate(conn, schema=schema)
        conn.execute(f"UPDATE \"{schema}\".shardtally_migrations SET checksum = 'not-the-shipped-one'")
        with pytest.raises(MigrationError, match="shipped migrations must never change"):
            migrate(conn, schema=schema)
