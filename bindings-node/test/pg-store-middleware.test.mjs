// The request counter delivering into the PostgreSQL buckets store, under Express, while some
// of the store's writes fail for real (another session holds the meta row and the store's
// session gives up waiting, lock_timeout): every request succeeds, and the counts in
// PostgreSQL plus the counted drops are exactly the requests.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import express from 'express'
import pg from 'pg'
import { RequestCounter } from 'shardtally/middleware'
import { BucketsStore } from 'shardtally/pg'
import { serve, getMany, tally } from './middleware-support.test.mjs'
import { PG_URL, skip, inSchema, storedRows } from './pg-store-support.test.mjs'

/**
 * The store, with its writes made to fail at the third call of `apply`, at the first call after
 * the first reconnect (the re-sends: given up), and at the fifth call after the second
 * reconnect (re-sent successfully).
 */
class Blocked {
  constructor(store, blocker) {
    this.store = store
    this.blocker = blocker
    this.reconnects = 0
    this.sinceReconnect = 0
  }

  async apply(fn) {
    this.sinceReconnect++
    const at = `${this.reconnects},${this.sinceReconnect}`
    if (!['0,3', '1,1', '2,5'].includes(at)) return this.store.apply(fn)
    await this.blocker.query('BEGIN')
    await this.blocker.query(`SELECT * FROM "${this.store.schema}".buckets_meta FOR UPDATE`)
    try {
      return await this.store.apply(fn)
    } finally {
      await this.blocker.query('ROLLBACK')
    }
  }

  async reconnect() {
    this.reconnects++
    this.sinceReconnect = 0
    await this.store.reconnect()
  }
}

test('Express: requests counted into PostgreSQL while some writes fail: delivered + dropped = requests, exactly', { skip }, () =>
  inSchema(async (schema) => {
    const store = await BucketsStore.open({ database: { connectionString: PG_URL, options: '-c lock_timeout=50' }, schema })
    const blocker = new pg.Client({ connectionString: PG_URL })
    await blocker.connect()
    const counter = new RequestCounter(new Blocked(store, blocker), { flushIntervalMs: 5, outbox: { maxInFlight: 100, reconnectMinMs: 1, reconnectMaxMs: 10, seed: 3 } })
    const app = express()
    app.use(counter.middleware)
    app.get('/', (req, res) => res.send('ok'))
    app.get('/items/:id', (req, res) => res.send('ok'))
    const server = await serve(app)
    let statuses
    try {
      statuses = await getMany(
        server.port,
        Array.from({ length: 3000 }, (_, i) => (i % 2 ? `/items/${i}` : '/')),
        { connections: 4 },
      )
      await counter.close()
    } finally {
      await server.close()
      await store.close()
      await blocker.end()
    }
    assert.deepEqual(tally(statuses), { 200: 3000 })
    const s = counter.stats()
    assert.deepEqual([s.requests, s.held, s.reconnects], [3000, 0, 3])
    assert.ok(s.gaveUp > 0 && s.resends > s.gaveUp, JSON.stringify(s))
    assert.equal(s.delivered + s.dropped, 3000)
    const rows = await storedRows(schema)
    assert.equal(rows.reduce((sum, r) => sum + Number(r.split(' ').at(-1)), 0), s.delivered)
    assert.deepEqual([...new Set(rows.map((r) => r.split(' ').slice(2, -1).join(' ')))].sort(), ['GET /', 'GET /items/:id'])
    assert.deepEqual([store.stats().failures, store.stats().transactions], [3, s.batches - 3])
  }))
