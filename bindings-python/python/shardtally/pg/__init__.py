"""PostgreSQL hosts of shardtally's machines (psycopg 3; ``pip install "shardtally[pg]"``).

- :class:`ShardRegistrar`: a process's membership of a cluster (a unique shard index and
  the shard count, with a fencing epoch), the :class:`shardtally.Membership` machine kept in
  one row per cluster — what @jcoreio/postgres-shard-coordinator did.
- :class:`BucketsStore` (``shardtally.pg.store``): a :class:`shardtally.Buckets` machine kept
  in PostgreSQL rows (raw counts, daily totals, a meta row), written from its change journal
  in one transaction per change, with count's two report queries.
- :func:`migrate` / :func:`migrate_async`: the versioned schema shipped with the package
  (``migrations/``), applied idempotently under an advisory lock into a schema of your choice
  (default ``"shardtally"``). The registrar runs them itself unless told not to.

The Node package's ``shardtally/pg`` uses the same schema, SQL and notifications, so
processes in both languages can share a cluster.
"""

from shardtally.pg._conn import DEFAULT_SCHEMA, MigrationError, check_schema, migrate, migrate_async
from shardtally.pg.registrar import ShardRegistrar
from shardtally.pg.store import BucketsStore, StoreLockedError, StoreStats

__all__ = ["ShardRegistrar", "BucketsStore", "StoreLockedError", "StoreStats", "migrate", "migrate_async", "MigrationError", "check_schema", "DEFAULT_SCHEMA"]
