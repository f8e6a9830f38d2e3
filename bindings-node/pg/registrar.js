'use strict'
// A PostgreSQL registrar for the Membership machine (on `pg`): the processes of a cluster get
// unique shard indices, as with @jcoreio/postgres-shard-coordinator.
//
// The cluster's machine lives in PostgreSQL, one row per cluster (membership_clusters, the
// snapshotCluster bytes). Every heartbeat is one transaction: lock the row (SELECT ... FOR
// UPDATE), read the database clock, restore the machine (Membership.restoreClusters),
// register the holder (a heartbeat, which also expires late holders and reshards when due),
// write the row back and NOTIFY the outputs, then commit. The engine decides everything; this
// file only carries out the SQL, the timers and the events. The Python package's
// shardtally.pg does the same with the same schema, so Node and Python processes can share a
// cluster.

const { EventEmitter } = require('node:events')
const { randomUUID } = require('node:crypto')
const { Membership, ShardtallyError } = require('../index.js')
const { DEFAULT_SCHEMA, checkSchema, channel, migrate } = require('./migrate.js')

// PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; longer ones (only possible with
// ids far above the default maxIdBytes) are not sent, and their holders learn by polling.
const MAX_PAYLOAD_BYTES = 7999
const NOW = 'SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now'
const NOT_HELD = new Set(['NOT_ASSIGNED', 'HOLDER_EXPIRED', 'UNKNOWN_HOLDER', 'UNKNOWN_CLUSTER'])
const OWN_OPTIONS = new Set(['cluster', 'connectionString', 'database', 'pool', 'schema', 'holder', 'migrate', 'listen'])

function loadPg() {
  try {
    return require('pg')
  } catch (err) {
    throw new Error(`shardtally/pg needs the "pg" package (npm install pg): ${err.message}`)
  }
}

const held = (err) => err instanceof ShardtallyError && NOT_HELD.has(err.code)
const int = (v) => (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v)

/**
 * The NOTIFY payload of a membership output: its canonical JSON form (the golden traces'
 * form: snake_case fields and a `type` tag, keys sorted), which the Python registrar also
 * writes.
 */
function payload(out) {
  const p = { cluster: out.cluster, epoch: int(out.epoch), holder: out.holder, num_shards: out.numShards }
  if (out.type === 'shard_lost') p.reason = out.reason
  p.shard = out.shard
  p.type = out.type
  return JSON.stringify(p, (_, v) => (typeof v === 'bigint' ? Number(v) : v))
}

/** When a holder registered alone at t=0 expires: the engine's heartbeat + grace. */
function expiryOf(settings, cluster, holder) {
  const m = new Membership(settings)
  m.register(cluster, holder, 0)
  return Number(m.pollTimeout())
}

/**
 * One process's membership of a cluster: a unique `shard` index in `[0, numShards)` with its
 * fencing `epoch`, kept by heartbeats in PostgreSQL. See pg/index.d.ts for the options and
 * events.
 */
class ShardRegistrar extends EventEmitter {
  constructor(options) {
    super()
    if (options === null || typeof options !== 'object') throw new TypeError('ShardRegistrar: options must be an object')
    const { cluster, connectionString, database, pool, schema = DEFAULT_SCHEMA, holder = randomUUID(), migrate = true, listen = true } = options
    if (typeof cluster !== 'string') throw new TypeError('ShardRegistrar: options.cluster must be a string')
    if (typeof holder !== 'string') throw new TypeError('ShardRegistrar: options.holder must be a string')
    if ([connectionString, database, pool].filter((v) => v !== undefined).length !== 1) {
      throw new TypeError('ShardRegistrar: give exactly one of options.connectionString, options.database (pg client config) or options.pool (a pg.Pool)')
    }
    this._settings = Object.fromEntries(Object.entries(options).filter(([k]) => !OWN_OPTIONS.has(k)))
    // The engine validates the settings and the ids now, and tells the timing it resolved
    // (heartbeat interval + grace period; the heartbeat interval alone with a 1 ms grace).
    this._ttlMs = expiryOf(this._settings, cluster, holder)
    this._heartbeatMs = expiryOf({ ...this._settings, gracePeriodMs: 1 }, cluster, holder) - 1
    this._cluster = cluster
    this._holder = holder
    this._schema = checkSchema(schema)
    this._channel = channel(schema, 'membership')
    this._migrate = Boolean(migrate)
    this._listen = Boolean(listen)
    this._userPool = pool ?? null
    this._clientConfig = database ?? (connectionString !== undefined ? { connectionString } : null)
    this._applicationName = `shardtally/pg ${holder}`.slice(0, 63) // shows in pg_stat_activity

    const table = `"${schema}".membership_clusters`
    this._qLock = `SELECT state FROM ${table} WHERE cluster = $1 FOR UPDATE`
    this._qInsert = `INSERT INTO ${table} (cluster) VALUES ($1) ON CONFLICT (cluster) DO NOTHING`
    this._qWrite =
      `WITH written AS (UPDATE ${table} SET state = $1, epoch = $2, num_shards = $3, holders = $4,` +
      ` next_deadline_ms = $5, updated_at = clock_timestamp() WHERE cluster = $6)` +
      ' SELECT pg_notify($7, p) FROM unnest($8::text[]) WITH ORDINALITY AS n(p, i) ORDER BY i'

    this._lifecycle = Promise.resolve()
    this._loop = null
    this._stopping = false
    this._timer = null
    this._wakeUp = null
    this._pool = null
    this._listener = null
    this._info = null
    // The newest [epoch, phase] applied, phase 0 = assigned, 1 = lost: pushed and polled news
    // arrive in any order, and older news never override newer.
    this._key = null
    this._expiresAt = null // local monotonic ms the holder expires at
    this._expiryTimer = null
  }

  /** The cluster. */
  get cluster() {
    return this._cluster
  }

  /** This registrar's holder id (a random UUID unless given), kept across stop/start. */
  get holder() {
    return this._holder
  }

  /** The application_name of the registrar's connections (pg_stat_activity; a pool you pass keeps its own). */
  get applicationName() {
    return this._applicationName
  }

  /** Whether the heartbeat loop runs (between start() and stop()). */
  get running() {
    return this._loop !== null
  }

  /** The current assignment; throws a ShardtallyError with code NOT_ASSIGNED while there is none. */
  shardInfo() {
    this._checkExpiry()
    if (this._info === null) {
      throw new ShardtallyError(`holder ${JSON.stringify(this._holder)} of cluster ${JSON.stringify(this._cluster)} has no shard assigned`, 'NOT_ASSIGNED', {
        cluster: this._cluster,
        holder: this._holder,
      })
    }
    return { ...this._info }
  }

  /** Connects, migrates, listens and starts the heartbeats (the first at once). Rejects when the database cannot be reached. */
  start() {
    return this._queue(() => this._start())
  }

  /** Stops heartbeating; with `{ unregister: true }` the index is freed at once. */
  stop(options = {}) {
    return this._queue(() => this._stop(Boolean(options && options.unregister)))
  }

  // ----- lifecycle -----

  _queue(fn) {
    const p = this._lifecycle.then(fn)
    this._lifecycle = p.catch(() => {})
    return p
  }

  async _start() {
    if (this._loop !== null) return
    const pool = this._userPool ?? new (loadPg().Pool)({ ...this._clientConfig, application_name: this._applicationName, max: 1 })
    if (pool !== this._userPool) pool.on('error', (err) => this._report(err))
    try {
      if (this._migrate) await migrate(pool, { component: 'membership', schema: this._schema })
      else await pool.query('SELECT 1')
      this._pool = pool
      this._stopping = false
      this._info = this._key = this._expiresAt = null
      if (this._listen) await this._startListener()
    } catch (err) {
      this._pool = null
      if (pool !== this._userPool) await pool.end().catch(() => {})
      throw err
    }
    this._loop = this._run()
  }

  async _stop(unregister) {
    if (this._loop === null) return
    this._stopping = true
    this._wake()
    await this._loop
    this._loop = null
    clearTimeout(this._expiryTimer)
    this._expiryTimer = null
    await this._stopListener()
    if (unregister) {
      try {
        await this._transact((m, now) => m.unregister(this._cluster, this._holder, now))
      } catch (err) {
        if (!held(err)) this._report(err)
      }
      if (this._info !== null) this._emitLost({ ...this._info, reason: 'unregistered' })
    }
    const pool = this._pool
    this._pool = null
    if (pool !== null && pool !== this._userPool) await pool.end().catch(() => {})
    this._info = this._key = this._expiresAt = null
  }

  // ----- the loop -----

  async _run() {
    while (!this._stopping) {
      let delay = this._heartbeatMs
      try {
        delay = await this._beat()
      } catch (err) {
        this._report(err) // _beat reports its own failures; this is a last resort
      }
      this._checkExpiry()
      if (this._stopping) break
      await new Promise((resolve) => {
        this._wakeUp = resolve
        this._timer = setTimeout(resolve, delay)
      })
      clearTimeout(this._timer)
      this._timer = this._wakeUp = null
    }
  }

  _wake() {
    if (this._wakeUp !== null) this._wakeUp()
  }

  /** One heartbeat transaction; resolves to the ms until the next one is due. */
  async _beat() {
    const started = performance.now()
    let result
    try {
      if (this._listen && this._listener === null) await this._startListener()
      result = await this._transact((m, now) => this._register(m, now))
    } catch (err) {
      this._report(err)
      let retry = this._heartbeatMs
      if (this._expiresAt !== null) retry = Math.min(retry, Math.max(1, this._expiresAt - performance.now()))
      return retry
    }
    const { m, now, outputs } = result
    const observed = performance.now()
    this._expiresAt = started + this._ttlMs
    // A timer of its own: a heartbeat that hangs (a lock, a dead network) must not delay
    // giving the index up.
    clearTimeout(this._expiryTimer)
    this._expiryTimer = setTimeout(() => this._checkExpiry(), Math.max(0, this._expiresAt - observed) + 1)
    for (const out of outputs) if (out.holder === this._holder) this._apply(out)
    try {
      this._assign(m.shardInfo(this._cluster, this._holder, now))
    } catch (err) {
      if (held(err)) {
        const info = m.clusterInfo(this._cluster)
        this._lose(info === null ? 0 : Number(info.epoch), 'expired')
      } else this._report(err)
    }
    // Wake for the cluster's next deadline (a holder's expiry or a reshard the rate limit
    // allows) when it comes before the next heartbeat: the beat then carries it out.
    let delay = this._heartbeatMs - (performance.now() - started)
    const deadline = m.pollTimeout()
    if (deadline !== null) delay = Math.min(delay, Number(deadline) - now - (performance.now() - observed))
    return Math.max(delay, 1)
  }

  _register(m, now) {
    m.register(this._cluster, this._holder, now)
    if (this._key === null || this._key[1] !== 1) return
    // This registrar gave up an assignment the database still holds for it (its local clock
    // saw the deadline pass first): leave and join again for a new epoch, so that an
    // (index, epoch) pair is never handed out twice.
    let info
    try {
      info = m.shardInfo(this._cluster, this._holder, now)
    } catch (err) {
      if (held(err)) return
      throw err
    }
    if (Number(info.epoch) === this._key[0]) {
      m.unregister(this._cluster, this._holder, now)
      m.register(this._cluster, this._holder, now)
    }
  }

  /** Runs one input on the cluster's row in one locking transaction. */
  async _transact(action) {
    const client = await this._pool.connect()
    // A connection that fails between two statements reports it as an 'error' event on the
    // client, which would crash the process without a listener; the next statement fails too.
    const ignore = () => {}
    client.on('error', ignore)
    let ok = false
    try {
      await client.query('BEGIN')
      let rows = (await client.query(this._qLock, [this._cluster])).rows
      if (rows.length === 0) {
        await client.query(this._qInsert, [this._cluster])
        rows = (await client.query(this._qLock, [this._cluster])).rows
      }
      const now = Number((await client.query(NOW)).rows[0].now)
      const state = rows[0].state
      const m = Membership.restoreClusters(state === null ? [] : [state], this._settings)
      action(m, now)
      const outputs = []
      for (let out = m.pollOutput(); out !== null; out = m.pollOutput()) outputs.push(out)
      if (m.takeStateChanged()) {
        const info = m.clusterInfo(this._cluster)
        const snapshot = m.snapshotCluster(this._cluster)
        const deadline = m.pollTimeout()
        await client.query(this._qWrite, [
          snapshot === null ? null : Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength),
          info === null ? '0' : String(info.epoch),
          info === null ? 0 : info.numShards,
          info === null ? 0 : info.holders,
          deadline === null ? null : String(deadline),
          this._cluster,
          this._channel,
          outputs.map(payload).filter((p) => Buffer.byteLength(p) <= MAX_PAYLOAD_BYTES),
        ])
      }
      await client.query('COMMIT')
      ok = true
      return { m, now, outputs }
    } finally {
      client.off('error', ignore)
      // After a failure the connection is dropped, which also rolls the transaction back.
      client.release(ok ? undefined : true)
    }
  }

  // ----- notifications -----

  async _startListener() {
    await this._stopListener()
    const pg = loadPg()
    const client = new pg.Client({ ...(this._clientConfig ?? this._userPool.options), application_name: this._applicationName })
    const lost = (err) => {
      if (this._listener === client) {
        this._listener = null
        client.end().catch(() => {})
        if (!this._stopping) this._report(err)
      }
    }
    client.on('error', lost)
    client.on('end', () => lost(new Error('the LISTEN connection closed')))
    client.on('notification', (msg) => {
      if (msg.channel === this._channel) this._onPayload(msg.payload)
    })
    try {
      await client.connect()
      await client.query(`LISTEN "${this._channel}"`)
    } catch (err) {
      await client.end().catch(() => {})
      throw err
    }
    this._listener = client
  }

  async _stopListener() {
    const client = this._listener
    this._listener = null
    if (client !== null) await client.end().catch(() => {})
  }

  _onPayload(text) {
    if (this._loop === null) return
    let p
    try {
      p = JSON.parse(text)
      if (p.cluster !== this._cluster || p.holder !== this._holder) return
      if (p.type !== 'shard_changed' && p.type !== 'shard_lost') return
      if (![p.shard, p.num_shards, p.epoch].every(Number.isSafeInteger)) throw new Error('bad numbers')
    } catch (err) {
      this._report(new Error(`malformed notification on ${JSON.stringify(this._channel)}: ${text} (${err.message})`))
      return
    }
    this._apply({ type: p.type, cluster: p.cluster, holder: p.holder, shard: p.shard, numShards: p.num_shards, epoch: p.epoch, reason: p.reason })
  }

  // ----- the assignment -----

  _apply(out) {
    if (out.type === 'shard_lost') this._lose(Number(out.epoch), out.reason)
    else this._assign(out)
  }

  _assign(info) {
    const epoch = Number(info.epoch)
    if (this._key !== null && (epoch < this._key[0] || (epoch === this._key[0] && this._key[1] >= 0))) return
    this._key = [epoch, 0]
    this._info = { cluster: info.cluster, holder: info.holder, shard: info.shard, numShards: info.numShards, epoch }
    this._call('shardChanged', { ...this._info })
  }

  _lose(epoch, reason) {
    if (this._key !== null && (epoch < this._key[0] || (epoch === this._key[0] && this._key[1] >= 1))) return
    this._key = [epoch, 1]
    const info = this._info
    if (info !== null) this._emitLost({ ...info, reason })
  }

  /**
   * The holder is alive until its last heartbeat + heartbeat interval + grace period: past
   * that on the local clock (measured from before the heartbeat's transaction, so never later
   * than the database's deadline) the index is given up.
   */
  _checkExpiry() {
    if (this._info !== null && this._expiresAt !== null && performance.now() >= this._expiresAt) this._lose(this._info.epoch, 'expired')
  }

  _emitLost(lost) {
    this._info = null
    this._call('shardLost', lost)
  }

  _call(event, arg) {
    try {
      this.emit(event, arg)
    } catch (err) {
      this._report(err)
    }
  }

  /** Errors go to 'error' listeners; without one they become process warnings, never a crash. */
  _report(err) {
    if (this.listenerCount('error') > 0) {
      try {
        this.emit('error', err)
        return
      } catch (e) {
        err = e
      }
    }
    process.emitWarning(`shardtally/pg registrar ${this._holder} of ${this._cluster}: ${err && err.message}`, { code: 'SHARDTALLY_PG_REGISTRAR' })
  }
}

module.exports = { ShardRegistrar, payload }
