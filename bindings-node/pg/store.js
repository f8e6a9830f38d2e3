'use strict'
// BucketsStore: a Buckets machine kept in PostgreSQL (on `pg`), the same tables, SQL and
// behaviour as Python's shardtally.pg.store.
//
// The machine decides everything (days in its fixed utcOffsetMinutes, additive rollups,
// retention, bounds); the store keeps its rows in three tables of a schema and writes, in one
// transaction per apply(), exactly the rows the machine's change journal (takeChanges())
// names — O(change), not O(state):
//
//   <schema>.buckets_raw    (day date, key text, count bigint, PRIMARY KEY (day, key))
//   <schema>.buckets_daily  (day date, key text, total bigint, PRIMARY KEY (day, key))
//   <schema>.buckets_meta   (id = 1, utc_offset_minutes integer, meta bytea)
//
// The tables come from the `buckets` migrations of ./migrations (shared runner: once, in
// order, under an advisory lock). One process writes a schema at a time (a session advisory
// lock). On open, and after any failed write, the machine is rebuilt from the stored rows
// (Buckets.fromRows): what PostgreSQL holds is what counts. The report queries read the daily
// totals with the machine's ordering and errors; days are `date`s and periods date ranges
// without timestamps, so the session's TimeZone never matters.
const { Buckets, ShardtallyError } = require('../index.js')
const { DEFAULT_SCHEMA, checkSchema, migrate: migrateComponent } = require('./migrate.js')

// The writer lock of a schema (a session advisory lock: a class, then hashtext of the schema).
const WRITER_LOCK = 0x53544257

/** Another connection is the writer of this schema (code `SHARDTALLY_PG_LOCKED`). */
class StoreLockedError extends Error {
  constructor(message) {
    super(message)
    this.code = 'SHARDTALLY_PG_LOCKED'
  }
}
Object.defineProperty(StoreLockedError.prototype, 'name', { value: 'StoreLockedError', writable: true, configurable: true })

/** Brings the store's tables in `schema` up to date; resolves to the versions applied. */
function migrate(db, { schema = DEFAULT_SCHEMA } = {}) {
  return migrateComponent(db, { component: 'buckets', schema })
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
/** An int8 column (a string from `pg`) as the engine's `Int`: a number when safe, else a bigint. */
function int(text) {
  const v = BigInt(text)
  return v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v
}

// ----- reports -----

const validator = new Buckets() // an empty machine: its answer to a query is the engine's verdict on the arguments

/** The engine's error for an empty answer to `query` (which throws INVALID_ARGUMENT for malformed arguments). */
function notFound(query) {
  try {
    query()
  } catch (e) {
    if (e instanceof ShardtallyError && e.code === 'NOT_FOUND') return e
    throw e
  }
  throw new Error('an empty machine answered a query')
}

/** Daily totals of the days `from ..= to` (`"YYYY-MM-DD"`), by day then key, as `Buckets.dailyTotals` answers. */
async function dailyTotals(db, from, to, { schema = DEFAULT_SCHEMA } = {}) {
  const missing = notFound(() => validator.dailyTotals(from, to))
  if (to < '0001-01-01') throw missing // PostgreSQL has no year 0 (and no stored day is before 1969)
  const { rows } = await db.query({
    text: `SELECT to_char(day, 'YYYY-MM-DD') AS day, key, total FROM "${checkSchema(schema)}".buckets_daily WHERE day BETWEEN $1::date AND $2::date ORDER BY day, key`,
    values: [from < '0001-01-01' ? '0001-01-01' : from, to],
  })
  if (rows.length === 0) throw missing
  return rows.map((r) => ({ day: r.day, key: r.key, total: int(r.total) }))
}

/** Each key's total over a year, month or day (`"YYYY"`, `"YYYY-MM"`, `"YYYY-MM-DD"`), by key, as `Buckets.periodTotals` answers. */
async function periodTotals(db, period, { schema = DEFAULT_SCHEMA } = {}) {
  const missing = notFound(() => validator.periodTotals(period))
  const [first, span] = period.length === 4 ? [`${period}-01-01`, '1 year'] : period.length === 7 ? [`${period}-01`, '1 month'] : [period, '1 day']
  if (first < '0001-01-01') throw missing
  const { rows } = await db.query({
    text: `SELECT key, sum(total)::bigint AS total FROM "${checkSchema(schema)}".buckets_daily WHERE day >= $1::date AND day < ($1::date + $2::interval)::date GROUP BY key ORDER BY key`,
    values: [first, span],
  })
  if (rows.length === 0) throw missing
  return rows.map((r) => ({ key: r.key, total: int(r.total) }))
}

// ----- the store -----

/**
 * One Buckets machine kept in PostgreSQL. Open with `BucketsStore.open(...)`; change it only
 * through `apply` (or the shortcuts) so every change is written; close with `close()`.
 *
 * Calls are serialized (one connection, one transaction at a time). A connection lost between
 * writes (closed by the server or a proxy while idle) is re-established before the next
 * write, when the stored rows are still this store's. A failed write rejects and marks the
 * store stale: the next call reconnects and rebuilds the machine from the stored rows, so the
 * failed change is not counted. As with any database, a commit whose acknowledgement was lost
 * may have been applied.
 */
class BucketsStore {
  /** Use `BucketsStore.open`. */
  constructor(pg, connection, schema, settings) {
    this._pg = pg
    this._connection = connection
    this._schema = checkSchema(schema)
    this._settings = settings
    this._client = null
    this._buckets = new Buckets(settings)
    this._stale = true
    this._queue = Promise.resolve() // calls run one after another
    this._transactions = this._rowsWritten = this._loads = this._failures = this._reconnects = 0
    this._writtenMeta = null // the meta row as this store last read or wrote it
    this._lost = false // the connection reported an error between writes
    const s = `"${this._schema}"`
    this._sql = {
      rawDelete: `DELETE FROM ${s}.buckets_raw WHERE day = ANY($1::date[])`,
      rawUpsert: `INSERT INTO ${s}.buckets_raw (day, key, count) SELECT * FROM unnest($1::date[], $2::text[], $3::bigint[]) ON CONFLICT (day, key) DO UPDATE SET count = EXCLUDED.count`,
      dailyDelete: `DELETE FROM ${s}.buckets_daily WHERE day = ANY($1::date[])`,
      dailyUpsert: `INSERT INTO ${s}.buckets_daily (day, key, total) SELECT * FROM unnest($1::date[], $2::text[], $3::bigint[]) ON CONFLICT (day, key) DO UPDATE SET total = EXCLUDED.total`,
      metaUpsert: `INSERT INTO ${s}.buckets_meta (id, utc_offset_minutes, meta) VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE SET utc_offset_minutes = EXCLUDED.utc_offset_minutes, meta = EXCLUDED.meta`,
      rawRows: `SELECT to_char(day, 'YYYY-MM-DD') AS day, key, count FROM ${s}.buckets_raw`,
      dailyRows: `SELECT to_char(day, 'YYYY-MM-DD') AS day, key, total FROM ${s}.buckets_daily`,
      metaRow: `SELECT utc_offset_minutes, meta FROM ${s}.buckets_meta WHERE id = 1`,
    }
  }

  /**
   * Connects (`connectionString`, or `database`: a `pg.Client` config), migrates `schema`,
   * takes the writer lock and rebuilds the machine (`buckets`: its settings;
   * `utcOffsetMinutes` must be the one the rows were written with). Rejects with a
   * StoreLockedError when another connection writes the schema, a CONFIG_INVALID_VALUE
   * ShardtallyError for a different `utcOffsetMinutes`.
   */
  static async open({ connectionString, database, schema = DEFAULT_SCHEMA, buckets = {}, pg = require('pg') } = {}) {
    if ((connectionString === undefined) === (database === undefined)) {
      throw new TypeError('BucketsStore.open needs exactly one of connectionString and database (a pg.Client config)')
    }
    const store = new BucketsStore(pg, database ?? { connectionString }, schema, buckets)
    await store._serial(() => store._load())
    return store
  }

  /** The machine (read it freely; change it through `apply`). A reload replaces it: read this again rather than keeping it. */
  get buckets() {
    return this._buckets
  }

  /** The schema holding the tables. */
  get schema() {
    return this._schema
  }

  /** What the store wrote so far. */
  stats() {
    return { transactions: this._transactions, rowsWritten: this._rowsWritten, loads: this._loads, failures: this._failures, reconnects: this._reconnects }
  }

  /**
   * Runs `fn(buckets)` (any inputs of the machine), then writes every changed row in one
   * transaction; resolves to what `fn` returned. If `fn` throws, what it changed before is
   * still written and its error rethrown. If the write fails, it rejects and the next call
   * rebuilds the machine from the stored rows.
   */
  apply(fn) {
    return this._serial(async () => {
      if (this._stale) await this._load()
      let result
      try {
        result = fn(this._buckets)
      } finally {
        await this._flush()
      }
      return result
    })
  }

  /** Writes the changes not written yet (none, when every change went through `apply`). */
  flush() {
    return this.apply(() => undefined)
  }

  record(key, atMs, nowMs) {
    return this.apply((b) => b.record(key, atMs, nowMs))
  }

  recordMany(entries, atMs, nowMs) {
    return this.apply((b) => b.recordMany(entries, atMs, nowMs))
  }

  /** Raw counts of the period move into daily totals, adding to the stored ones; re-running is harmless and late data adds. */
  rollup(period, nowMs) {
    return this.apply((b) => b.rollup(period, nowMs))
  }

  expire(nowMs) {
    return this.apply((b) => b.expire(nowMs))
  }

  handleTimeout(nowMs) {
    return this.apply((b) => b.handleTimeout(nowMs))
  }

  /** Reconnects and rebuilds the machine from the stored rows now. */
  reconnect() {
    return this._serial(() => this._load())
  }

  /** `dailyTotals` over this store's schema, on its connection (a lost connection is re-established and the read tried once more). */
  dailyTotals(from, to) {
    return this._read((client) => dailyTotals(client, from, to, { schema: this._schema }))
  }

  /** `periodTotals` over this store's schema, on its connection. */
  periodTotals(period) {
    return this._read((client) => periodTotals(client, period, { schema: this._schema }))
  }

  /** Closes the connection, releasing the writer lock first: another store may open the
   * schema as soon as this resolves. */
  close() {
    return this._serial(async () => {
      const client = this._client
      if (client !== null) {
        // A broken connection throws here; the server releases the lock when it ends.
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [WRITER_LOCK, this._schema]).catch(() => {})
      }
      await this._drop()
      this._stale = true
    })
  }

  // ----- internals -----

  _serial(fn) {
    const run = this._queue.then(fn)
    this._queue = run.then(
      () => undefined,
      () => undefined,
    )
    return run
  }

  _read(query) {
    return this._serial(async () => {
      for (let attempt = 0; ; attempt++) {
        if (this._stale || this._lost || this._client === null) await this._load()
        try {
          return await query(this._client)
        } catch (e) {
          if (e instanceof ShardtallyError || attempt > 0 || !isConnectionError(e)) throw e
          this._stale = true
          await this._drop()
        }
      }
    })
  }

  async _drop() {
    const client = this._client
    this._client = null
    if (client !== null) await client.end().catch(() => {})
  }

  /** A new connected client holding the schema's writer lock. */
  async _connectWriter() {
    const client = new this._pg.Client(this._connection)
    // A lost connection is an 'error' event when no query is running: note it (the next write reconnects).
    client.on('error', () => {
      if (this._client === client) this._lost = true
    })
    try {
      await client.connect()
      const { rows } = await client.query('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [WRITER_LOCK, this._schema])
      if (!rows[0].locked) throw new StoreLockedError(`schema ${JSON.stringify(this._schema)} has another writer (its advisory lock is held)`)
    } catch (e) {
      await client.end().catch(() => {})
      throw e
    }
    return client
  }

  /** (Re)connects, takes the writer lock, migrates and rebuilds the machine. */
  async _load() {
    await this._drop()
    const client = await this._connectWriter()
    let written = null
    try {
      await migrate(client, { schema: this._schema })
      const stored = []
      for (const r of (await client.query(this._sql.rawRows)).rows) stored.push({ type: 'raw', day: r.day, key: r.key, count: BigInt(r.count) })
      for (const r of (await client.query(this._sql.dailyRows)).rows) stored.push({ type: 'daily', day: r.day, key: r.key, total: BigInt(r.total) })
      const meta = (await client.query(this._sql.metaRow)).rows[0]
      const offset = this._offset()
      if (meta !== undefined) {
        if (meta.utc_offset_minutes !== offset) {
          throw new ShardtallyError(
            `utcOffsetMinutes must be ${meta.utc_offset_minutes}, the offset the rows of schema ${JSON.stringify(this._schema)} were written with, got ${offset}`,
            'CONFIG_INVALID_VALUE',
            { field: 'utcOffsetMinutes', expected: String(meta.utc_offset_minutes), value: String(offset) },
          )
        }
        written = Buffer.from(meta.meta)
        stored.push({ type: 'meta', bytes: written })
      }
      this._buckets = Buckets.fromRows(stored, this._settings)
    } catch (e) {
      await client.end().catch(() => {})
      throw e
    }
    this._client = client
    this._writtenMeta = written
    this._lost = false
    this._stale = false
    this._loads++
  }

  /**
   * After the connection was lost between writes: a new connection, if the stored rows are
   * still the ones this store last wrote (its meta row, which every write updates, is
   * unchanged), so the machine need not be rebuilt.
   */
  async _resume() {
    await this._drop()
    let client
    try {
      client = await this._connectWriter()
    } catch {
      return false
    }
    try {
      const meta = (await client.query(this._sql.metaRow)).rows[0]
      const stored = meta === undefined ? null : Buffer.from(meta.meta)
      if (stored === null ? this._writtenMeta !== null : this._writtenMeta === null || !stored.equals(this._writtenMeta)) throw new Error('another writer changed the rows')
    } catch {
      await client.end().catch(() => {})
      return false
    }
    this._client = client
    this._lost = false
    this._reconnects++
    return true
  }

  _offset() {
    return this._settings.utcOffsetMinutes ?? 0
  }

  async _flush() {
    const changes = this._buckets.takeChanges()
    if (changes.length === 0) return
    const rawDeleted = []
    const raw = [[], [], []]
    const dailyDeleted = []
    const daily = [[], [], []]
    let meta = null
    for (const c of changes) {
      if (c.type === 'raw') raw[0].push(c.day), raw[1].push(c.key), raw[2].push(String(c.count))
      else if (c.type === 'daily') daily[0].push(c.day), daily[1].push(c.key), daily[2].push(String(c.total))
      else if (c.type === 'raw_day_deleted') rawDeleted.push(c.day)
      else if (c.type === 'daily_day_deleted') dailyDeleted.push(c.day)
      else if (c.type === 'meta') meta = Buffer.from(c.bytes.buffer, c.bytes.byteOffset, c.bytes.byteLength)
    }
    // The journal's order: raw day deletions, raw upserts, daily day deletions, daily upserts,
    // the meta row; each kind is one statement.
    const statements = []
    if (rawDeleted.length > 0) statements.push([this._sql.rawDelete, [rawDeleted]])
    if (raw[0].length > 0) statements.push([this._sql.rawUpsert, raw])
    if (dailyDeleted.length > 0) statements.push([this._sql.dailyDelete, [dailyDeleted]])
    if (daily[0].length > 0) statements.push([this._sql.dailyUpsert, daily])
    if (meta !== null) statements.push([this._sql.metaUpsert, [this._offset(), meta]])
    let written = 0
    for (let attempt = 0; ; attempt++) {
      let began = false
      written = 0
      try {
        // Lost between writes (closed by the server or a proxy while idle): nothing of this
        // write was sent; reconnect and write it on the new connection.
        if (this._client === null || this._lost) {
          if (attempt > 0 || !(await this._resume())) throw new Error('the store lost its connection and could not resume it')
        }
        const client = this._client
        await client.query('BEGIN')
        began = true
        try {
          for (const [text, values] of statements) written += (await client.query(text, values)).rowCount ?? 0
          await client.query('COMMIT')
        } catch (e) {
          await client.query('ROLLBACK').catch(() => {})
          throw e
        }
        break
      } catch (e) {
        if (attempt === 0 && !began && isConnectionError(e) && (await this._resume())) continue
        this._failures++
        this._stale = true
        await this._drop()
        throw e
      }
    }
    if (meta !== null) this._writtenMeta = meta
    this._transactions++
    this._rowsWritten += written
  }
}

/** Whether an error of `pg` means the connection is gone (worth one reconnect). */
function isConnectionError(e) {
  const code = typeof e?.code === 'string' ? e.code : ''
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || /Connection terminated|not queryable|ECONNRESET|EPIPE/i.test(String(e?.message))
}

module.exports = { BucketsStore, StoreLockedError, migrate, dailyTotals, periodTotals }
