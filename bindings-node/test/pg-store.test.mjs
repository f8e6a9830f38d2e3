// The PostgreSQL buckets store (shardtally/pg BucketsStore) against the server in
// SHARDTALLY_PG_URL (`make test` starts a throwaway one; `scripts/postgres.sh <command>` by
// hand). Each test works in a schema of its own and drops it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import pg from 'pg'
import { Buckets } from 'shardtally'
import { BucketsStore, StoreLockedError, dailyTotals, periodTotals, migrate } from 'shardtally/pg'
import { PG_URL, skip, inSchema, storedRows, machineRows, terminate } from './pg-store-support.test.mjs'
import { runReadmeExample } from './middleware-support.test.mjs'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const T0 = 1_709_251_200_000 // 2024-03-01T00:00:00Z

const open = (schema, buckets = {}, database = { connectionString: PG_URL }) => BucketsStore.open({ database, schema, buckets })

// ----- schema -----

test('migrations apply once even when run concurrently; the tables have the documented columns', { skip }, () =>
  inSchema(async (schema) => {
    const clients = await Promise.all([0, 1, 2].map(async () => {
      const c = new pg.Client({ connectionString: PG_URL })
      await c.connect()
      return c
    }))
    try {
      const applied = await Promise.all(clients.map((c) => migrate(c, { component: 'buckets', schema })))
      assert.deepEqual(applied.map((a) => a.length).sort(), [0, 0, 1])
      assert.deepEqual(await migrate(clients[0], { component: 'buckets', schema }), [])
      const { rows } = await clients[0].query(
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name LIKE 'buckets\\_%' ORDER BY table_name, ordinal_position",
        [schema],
      )
      assert.deepEqual(
        rows.map((r) => `${r.table_name}.${r.column_name} ${r.data_type}`),
        [
          'buckets_daily.day date',
          'buckets_daily.key text',
          'buckets_daily.total bigint',
          'buckets_meta.id smallint',
          'buckets_meta.utc_offset_minutes integer',
          'buckets_meta.meta bytea',
          'buckets_raw.day date',
          'buckets_raw.key text',
          'buckets_raw.count bigint',
        ],
      )
    } finally {
      await Promise.all(clients.map((c) => c.end()))
    }
  }))

// ----- writes -----

test('one transaction per apply writes only the changed rows', { skip }, () =>
  inSchema(async (schema) => {
    const store = await open(schema)
    try {
      await store.apply((b) => {
        for (let i = 0; i < 1000; i++) b.record(`GET /k${i % 5}`, T0 + i, T0 + 1000)
      })
      assert.deepEqual([store.stats().transactions, store.stats().rowsWritten], [1, 6]) // 5 raw rows + the meta row
      await store.record('GET /k0', T0, T0 + 2000)
      assert.deepEqual([store.stats().transactions, store.stats().rowsWritten], [2, 8])
      await store.flush() // nothing changed: no transaction
      assert.equal(store.stats().transactions, 2)
      assert.deepEqual(await storedRows(schema), machineRows(store.buckets))
      assert.equal(store.buckets.rawCount('2024-03-01', 'GET /k0'), 201)
    } finally {
      await store.close()
    }
  }))

test('a rollup re-run with late data adds', { skip }, () =>
  inSchema(async (schema) => {
    const store = await open(schema)
    try {
      await store.recordMany({ 'GET /a': 3, 'GET /b': 1 }, T0 + HOUR, T0 + HOUR)
      const first = await store.rollup('2024-03-01', T0 + 2 * HOUR)
      assert.deepEqual([first.days, first.events], [1, 4])
      assert.deepEqual(await storedRows(schema), ['daily 2024-03-01 GET /a 3', 'daily 2024-03-01 GET /b 1'])
      await store.recordMany({ 'GET /a': 2 }, T0 + 3 * HOUR, T0 + 5 * DAY) // late data
      assert.ok((await storedRows(schema)).includes('raw 2024-03-01 GET /a 2'))
      const again = await store.rollup('2024-03', T0 + 5 * DAY)
      assert.deepEqual([again.days, again.events], [1, 2])
      assert.deepEqual(await storedRows(schema), ['daily 2024-03-01 GET /a 5', 'daily 2024-03-01 GET /b 1'])
      assert.equal((await store.rollup('2024-03', T0 + 5 * DAY)).events, 0) // re-running with nothing new
      assert.deepEqual(await store.dailyTotals('2024-03-01', '2024-03-01'), [
        { day: '2024-03-01', key: 'GET /a', total: 5 },
        { day: '2024-03-01', key: 'GET /b', total: 1 },
      ])
    } finally {
      await store.close()
    }
  }))

// ----- reports -----

/** A seeded generator (mulberry32), so the events are the same every run. */
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

test('reports match the machine whatever the session time zone', { skip }, () =>
  inSchema(async (schema) => {
    // The machine's day is UTC-5; the store's session runs at UTC+14 with a day-month date
    // style, a second reader at UTC-3:30: the days and totals are the machine's.
    const settings = { utcOffsetMinutes: -300 }
    const twin = new Buckets(settings)
    const store = await open(schema, settings, { connectionString: PG_URL, options: '-c TimeZone=Pacific/Kiritimati -c DateStyle=SQL,DMY' })
    const reader = new pg.Client({ connectionString: PG_URL, options: '-c TimeZone=America/St_Johns' })
    await reader.connect()
    try {
      const random = rng(12)
      const keys = ['GET /a', 'GET /z', 'GET /é', 'GET /É', 'POST /a', 'GET /A']
      const now = T0 + 4 * DAY
      await store.record('GET /leap', T0 + 3 * HOUR, now) // 2024-03-01T03:00Z is 2024-02-29 at UTC-5
      twin.record('GET /leap', T0 + 3 * HOUR, now)
      assert.ok((await storedRows(schema)).includes('raw 2024-02-29 GET /leap 1'))
      for (let i = 0; i < 40; i++) {
        const at = T0 - 3 * DAY + Math.floor(random() * 6 * DAY)
        const entries = new Map()
        for (let j = 0; j < 3; j++) entries.set(keys[Math.floor(random() * keys.length)], 1 + Math.floor(random() * 4))
        await store.recordMany(entries, at, now)
        twin.recordMany(entries, at, now)
      }
      for (const period of ['2024-02', '2024-03']) {
        await store.rollup(period, now)
        twin.rollup(period, now)
      }
      assert.deepEqual(await storedRows(schema), machineRows(twin))
      for (const [first, last] of [['2024-02-26', '2024-03-03'], ['2024-02-29', '2024-02-29'], ['0000-01-01', '2024-02-28']]) {
        assert.deepEqual(await store.dailyTotals(first, last), twin.dailyTotals(first, last))
        assert.deepEqual(await dailyTotals(reader, first, last, { schema }), twin.dailyTotals(first, last))
      }
      for (const period of ['2024', '2024-02', '2024-03', '2024-02-29', '2024-03-01']) {
        assert.deepEqual(await store.periodTotals(period), twin.periodTotals(period))
        assert.deepEqual(await periodTotals(reader, period, { schema }), twin.periodTotals(period))
      }
      const byBytes = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))
      assert.deepEqual((await store.periodTotals('2024')).map((t) => t.key), [...keys, 'GET /leap'].sort(byBytes))
      const sameError = async (query, expected) => {
        let want
        try {
          expected()
        } catch (e) {
          want = e
        }
        await assert.rejects(query, (e) => e.code === want.code && e.message === want.message && e.query === want.query && e.what === want.what)
      }
      await sameError(() => periodTotals(reader, '2023', { schema }), () => twin.periodTotals('2023'))
      await sameError(() => dailyTotals(reader, '2024-04-01', '2024-04-30', { schema }), () => twin.dailyTotals('2024-04-01', '2024-04-30'))
      await assert.rejects(store.periodTotals('0000'), { code: 'NOT_FOUND' })
      await assert.rejects(store.periodTotals('2024-13'), { code: 'INVALID_ARGUMENT' })
      await assert.rejects(store.dailyTotals('2024-03-02', '2024-03-01'), { code: 'INVALID_ARGUMENT' })
      await assert.rejects(dailyTotals(reader, '2024-3-1', '2024-03-01', { schema }), { code: 'INVALID_ARGUMENT' })
    } finally {
      await reader.end()
      await store.close()
    }
  }))

// ----- restarts and failures -----

test('a restart resumes from the stored state', { skip }, () =>
  inSchema(async (schema) => {
    const twin = new Buckets()
    const events = [...Array.from({ length: 60 }, (_, i) => ['GET /a', T0 + i * HOUR]), ...Array.from({ length: 10 }, (_, i) => ['GET /b', T0 + i * 5 * HOUR])]
    const now = T0 + 3 * DAY
    let store = await open(schema)
    for (const [key, at] of events.slice(0, 40)) {
      await store.record(key, at, now)
      twin.record(key, at, now)
    }
    await store.rollup('2024-03-01', now)
    twin.rollup('2024-03-01', now)
    const before = store.buckets.rows()
    await store.close()
    store = await open(schema)
    try {
      assert.deepEqual(store.buckets.rows(), before) // the meta row (clock, stats) too
      assert.deepEqual(before, twin.rows())
      for (const [key, at] of events.slice(40)) {
        await store.record(key, at, now + HOUR)
        twin.record(key, at, now + HOUR)
      }
      await store.rollup('2024-03', now + HOUR)
      twin.rollup('2024-03', now + HOUR)
      assert.deepEqual(store.buckets.rows(), twin.rows())
      assert.deepEqual(await storedRows(schema), machineRows(twin))
      assert.deepEqual(await store.periodTotals('2024-03'), twin.periodTotals('2024-03'))
    } finally {
      await store.close()
    }
  }))

test('a failed write is not counted and the next call reloads', { skip }, () =>
  inSchema(async (schema) => {
    // The write fails for real: another session holds the meta row and the store's session
    // gives up waiting (lock_timeout); the transaction is rolled back.
    const store = await open(schema, {}, { connectionString: PG_URL, options: '-c lock_timeout=100' })
    const blocker = new pg.Client({ connectionString: PG_URL })
    await blocker.connect()
    try {
      await store.record('GET /a', T0, T0)
      await blocker.query('BEGIN')
      await blocker.query(`SELECT * FROM "${schema}".buckets_meta FOR UPDATE`)
      await assert.rejects(store.record('GET /a', T0, T0), { code: '55P03' }) // applied in memory, not written
      await blocker.query('ROLLBACK')
      assert.equal(store.stats().failures, 1)
      await store.record('GET /b', T0, T0) // reloads: the failed event is gone
      assert.deepEqual([store.stats().loads, store.buckets.rawCount('2024-03-01', 'GET /a')], [2, 1])
      assert.deepEqual(await storedRows(schema), ['raw 2024-03-01 GET /a 1', 'raw 2024-03-01 GET /b 1'])
    } finally {
      await blocker.end()
      await store.close()
    }
  }))

test('a connection lost while idle is re-established before the next write', { skip }, () =>
  inSchema(async (schema) => {
    const name = `st-${schema}`
    const store = await open(schema, {}, { connectionString: PG_URL, application_name: name })
    try {
      await store.record('GET /a', T0, T0)
      await terminate(name)
      await store.record('GET /a', T0, T0) // nothing lost, nothing reloaded
      const s = store.stats()
      assert.deepEqual([s.loads, s.reconnects, s.failures, s.transactions], [1, 1, 0, 2])
      await store.rollup('2024-03-01', T0)
      await terminate(name)
      assert.deepEqual(await store.periodTotals('2024'), [{ key: 'GET /a', total: 2 }]) // a read reconnects once
      assert.deepEqual(await storedRows(schema), ['daily 2024-03-01 GET /a 2'])
    } finally {
      await store.close()
    }
  }))

test('a lost connection is not resumed when another writer changed the rows', { skip }, () =>
  inSchema(async (schema) => {
    const name = `st-${schema}`
    const store = await open(schema, {}, { connectionString: PG_URL, application_name: name })
    try {
      await store.record('GET /a', T0, T0)
      await terminate(name)
      const other = await open(schema) // the lock was free: another writer came and went
      await other.record('GET /b', T0, T0)
      await other.close()
      await assert.rejects(store.record('GET /a', T0, T0))
      await store.record('GET /c', T0, T0) // reloads what the other writer left
      assert.deepEqual(await storedRows(schema), ['raw 2024-03-01 GET /a 1', 'raw 2024-03-01 GET /b 1', 'raw 2024-03-01 GET /c 1'])
    } finally {
      await store.close()
    }
  }))

test('one writer per schema, and one time zone offset per schema', { skip }, () =>
  inSchema(async (schema) => {
    let store = await open(schema, { utcOffsetMinutes: 60 })
    await store.record('GET /a', T0, T0)
    await assert.rejects(open(schema, { utcOffsetMinutes: 60 }), (e) => e instanceof StoreLockedError && e.code === 'SHARDTALLY_PG_LOCKED')
    await store.close()
    await assert.rejects(open(schema), { code: 'CONFIG_INVALID_VALUE', field: 'utcOffsetMinutes' })
    store = await open(schema, { utcOffsetMinutes: 60 })
    assert.equal(store.buckets.rawCount('2024-03-01', 'GET /a'), 1)
    await store.close()
  }))

test('a closed store has released its writer lock: the next writer opens at once', { skip }, () =>
  inSchema(async (schema) => {
    for (let i = 0; i < 10; i++) {
      const store = await open(schema)
      await store.record('GET /a', T0, T0)
      await store.close()
      // Before close resolved the lock was released, not left to the server's end of session.
      const again = await open(schema)
      assert.equal(again.buckets.rawCount('2024-03-01', 'GET /a'), i + 1)
      await again.close()
    }
  }))

// ----- the README -----

test('the README example runs', { skip }, () =>
  inSchema((schema) =>
    runReadmeExample('### PostgreSQL buckets store', (code) => {
      assert.ok(code.includes("schema: 'counts'"))
      return code.replace("schema: 'counts'", `schema: '${schema}'`)
    }),
  ))
