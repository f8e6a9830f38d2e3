'use strict'
// What the PostgreSQL hosts share: schema names, NOTIFY channels and the versioned
// migrations shipped in ./migrations (the Python package's shardtally/pg/migrations, copied
// there by the build: scripts/migrations.mjs).
//
// A migration is migrations/<component>/<version>_<name>.sql, applied once per schema in
// version order by `migrate`, in one transaction, under an advisory lock (concurrent starters
// wait instead of racing), with search_path set to the schema. The ledger table
// shardtally_migrations (migrations/bootstrap.sql) records each applied file with its SHA-256;
// a file that changed after it was applied is an error (code SHARDTALLY_PG_MIGRATION).
// Versions the ledger has but this package does not know (a newer package migrated the schema)
// are left alone: migrations only add.

const { createHash } = require('node:crypto')
const { readFileSync, readdirSync, existsSync } = require('node:fs')
const { join } = require('node:path')

const DEFAULT_SCHEMA = 'shardtally'
const SCHEMA = /^[a-z_][a-z0-9_]{0,47}$/
const FILE = /^(\d+)_([a-z0-9_]+)\.sql$/
const DIR = join(__dirname, 'migrations')

// One lock per schema: two processes migrating the same schema take turns.
const LOCK = "SELECT pg_advisory_xact_lock(hashtext('shardtally.migrate'), hashtext($1))"
const SET_PATH = "SELECT set_config('search_path', $1, true)" // schema names need no quoting
const LEDGER = 'SELECT version, checksum FROM shardtally_migrations WHERE component = $1'
const RECORD = 'INSERT INTO shardtally_migrations (component, version, name, checksum) VALUES ($1, $2, $3, $4)'

/** An error of the PostgreSQL hosts' setup, with a stable `code`. */
class MigrationError extends Error {
  constructor(message) {
    super(message)
    this.code = 'SHARDTALLY_PG_MIGRATION'
  }
}
Object.defineProperty(MigrationError.prototype, 'name', { value: 'MigrationError', writable: true, configurable: true })

/**
 * `schema` when it is a valid schema name for the hosts: lower-case letters, digits and `_`,
 * not starting with a digit, at most 48 characters (so that channel names derived from it fit
 * PostgreSQL's 63-byte identifiers). Throws a TypeError otherwise.
 */
function checkSchema(schema) {
  if (typeof schema !== 'string' || !SCHEMA.test(schema)) {
    throw new TypeError(`invalid schema name ${JSON.stringify(schema)}: use 1 to 48 of a-z, 0-9 and _, not starting with a digit`)
  }
  return schema
}

/** The NOTIFY channel of a component in a schema, e.g. `shardtally.membership`. */
function channel(schema, component) {
  return `${checkSchema(schema)}.${component}`
}

function read(path) {
  const data = readFileSync(path)
  return { sql: data.toString('utf8'), checksum: createHash('sha256').update(data).digest('hex') }
}

/** The migrations this package ships for `component`, in version order. */
function migrations(component) {
  const dir = join(DIR, component)
  if (!/^[a-z0-9_]+$/.test(component) || !existsSync(dir)) throw new MigrationError(`no migrations for component ${JSON.stringify(component)}`)
  const out = []
  for (const file of readdirSync(dir)) {
    if (!file.endsWith('.sql')) continue
    const m = FILE.exec(file)
    if (m === null) throw new MigrationError(`malformed migration file name ${component}/${file} (want <version>_<name>.sql)`)
    out.push({ component, version: Number(m[1]), name: m[2], ...read(join(dir, file)) })
  }
  out.sort((a, b) => a.version - b.version)
  for (let i = 1; i < out.length; i++) {
    if (out[i].version === out[i - 1].version) throw new MigrationError(`two migrations of ${component} have version ${out[i].version}`)
  }
  return out
}

/** A connected client for `db`: a pg.Pool lends one (released by `done`), a client is itself. */
async function borrow(db) {
  if (typeof db.connect === 'function' && typeof db.totalCount === 'number') {
    const client = await db.connect()
    // A connection failing between statements is an 'error' event (a crash without a
    // listener); the statement after it fails as well and reports it.
    const ignore = () => {}
    client.on('error', ignore)
    return {
      client,
      done: (err) => {
        client.off('error', ignore)
        client.release(err)
      },
    }
  }
  return { client: db, done: () => {} }
}

/**
 * Brings `schema` up to date for `component` (creating the schema) and resolves to the
 * versions it applied (empty when it was up to date). Idempotent; safe to run from many
 * processes at once. `db` is a pg.Pool or a connected pg.Client that is not inside a
 * transaction.
 */
async function migrate(db, { component = 'membership', schema = DEFAULT_SCHEMA } = {}) {
  checkSchema(schema)
  const wanted = migrations(component)
  const bootstrap = read(join(DIR, 'bootstrap.sql')).sql
  const { client, done } = await borrow(db)
  let failure
  try {
    await client.query('BEGIN')
    try {
      await client.query(LOCK, [schema])
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`)
      await client.query(SET_PATH, [schema])
      await client.query(bootstrap)
      const ledger = new Map((await client.query(LEDGER, [component])).rows.map((r) => [Number(r.version), r.checksum]))
      const applied = []
      for (const m of wanted) {
        const checksum = ledger.get(m.version)
        if (checksum === undefined) {
          await client.query(m.sql)
          await client.query(RECORD, [component, m.version, m.name, m.checksum])
          applied.push(m.version)
        } else if (checksum !== m.checksum) {
          throw new MigrationError(
            `migration ${component}/${m.version}_${m.name} was applied with checksum ${checksum}, but the shipped file has ${m.checksum}: shipped migrations must never change`,
          )
        }
      }
      await client.query('COMMIT')
      return applied
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {})
      throw err
    }
  } catch (err) {
    failure = err
    throw err
  } finally {
    done(failure instanceof MigrationError ? undefined : failure)
  }
}

module.exports = { DEFAULT_SCHEMA, MigrationError, checkSchema, channel, migrations, migrate }
