'use strict'
// `shardtally/pg`: the PostgreSQL hosts of shardtally's machines (on the `pg` package, a peer
// dependency: npm install pg).
//
// - ShardRegistrar: a process's membership of a cluster (a unique shard index and the shard
//   count, with a fencing epoch), the Membership machine kept in one row per cluster — what
//   @jcoreio/postgres-shard-coordinator did.
// - BucketsStore: a Buckets machine kept in PostgreSQL rows (raw counts, daily totals, a meta
//   row), written from its change journal in one transaction per change, with count's two
//   report queries (dailyTotals, periodTotals) — the same tables as Python's store.
// - migrate: the versioned schema shipped with the package (./migrations), applied
//   idempotently under an advisory lock into a schema of your choice (default "shardtally").
//   The registrar runs it itself unless told not to.
//
// The Python package's shardtally.pg uses the same schema, SQL and notifications, so
// processes in both languages can share a cluster.
const { ShardRegistrar } = require('./registrar.js')
const { DEFAULT_SCHEMA, MigrationError, checkSchema, migrate } = require('./migrate.js')
const { BucketsStore, StoreLockedError, dailyTotals, periodTotals } = require('./store.js')

module.exports = { ShardRegistrar, BucketsStore, StoreLockedError, dailyTotals, periodTotals, migrate, MigrationError, checkSchema, DEFAULT_SCHEMA }
