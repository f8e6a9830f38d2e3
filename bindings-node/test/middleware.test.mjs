// The request counter (shardtally/middleware) with real servers on loopback: Node's
// http.createServer and Express. Every request succeeds whatever the sink does, and every
// request is accounted for: delivered, or dropped and counted.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import express from 'express'
import * as shardtally from 'shardtally'
import { Buckets } from 'shardtally'
import { RequestCounter, requestCounter, defaultRoute, requestKey, requestPath, recordEvents } from 'shardtally/middleware'
import { serve, getMany, tally, rawTotals, runReadmeExample } from './middleware-support.test.mjs'

const UUID = '3f2c1b9e-0a5d-4c1e-9a7b-1234567890ab'

// ----- routes and keys: the engine's rule (traces/routes.json checks it in every runtime) -----

test("requests are keyed by the engine's rule, re-exported", async () => {
  assert.equal(defaultRoute, shardtally.defaultRoute)
  assert.equal(requestKey, shardtally.requestKey)
  const events = []
  const counter = new RequestCounter((batch) => events.push(...batch), { maxKeyBytes: 64 })
  assert.ok(counter.countRequest('PROPFIND', `/users/42/files/${UUID}`, {}))
  assert.ok(counter.countRequest('GET', `/${'é'.repeat(40)}`, {}))
  await counter.close()
  assert.deepEqual(
    events.map(([key]) => key),
    ['OTHER /users/:id/files/:uuid', `GET /${'é'.repeat(29)}`],
  )
})

test('keys are remembered by method and route, a bounded number of them', async () => {
  const events = []
  const counter = new RequestCounter((batch) => events.push(...batch), { route: (path) => path, maxKeyBytes: 12, outbox: { capacity: 16_384 } })
  const requests = []
  for (let i = 0; i < 10_000; i++) requests.push([i % 3 === 0 ? 'POST' : i % 3 === 1 ? 'GET' : 'BREW', `/r${i % 5000}`])
  for (const [method, path] of requests) counter.countRequest(method, path, {})
  assert.equal(counter.countRequest('GET', 7, {}), false, 'a route that is not a string is an error, never remembered')
  assert.ok(counter._memoized <= 4096, `${counter._memoized} keys held`)
  await counter.close()
  assert.deepEqual(
    events.map(([key]) => key),
    requests.map(([method, path]) => requestKey(method, path, 12)),
  )
  assert.equal(counter.stats().routeErrors, 1)
})

test('the request path is the URL as sent, without the query', () => {
  assert.equal(requestPath({ url: '/caf%C3%A9/1?x=2' }), '/caf%C3%A9/1')
  assert.equal(requestPath({ url: '/inner', originalUrl: '/api/inner?q' }), '/api/inner')
  assert.equal(requestPath({ url: 'http://example.com/users/1' }), '/users/1')
  assert.equal(requestPath({ url: 'http://example.com' }), '/')
  assert.equal(requestPath({}), '')
})

// ----- the acceptance runs: 10 000 requests, the sink down for part of each -----

/** A sink into `buckets` that fails while `state.down`. */
function flakySink(buckets, state) {
  return async (events) => {
    if (state.down) {
      state.failed++
      throw new Error('the sink is down')
    }
    state.ok++
    assert.equal(recordEvents(buckets, events, Date.now()), 0)
  }
}

const OPTIONS = { flushIntervalMs: 20, outbox: { capacity: 2048, maxInFlight: 256, reconnectMinMs: 5, reconnectMaxMs: 40, seed: 7 } }
const PATHS = Array.from({ length: 10_000 }, (_, i) => (i % 3 ? `/users/${i % 97}` : `/users/${i}/orders/${UUID}?page=2`))

async function tenThousand(handler, counter, buckets, state) {
  const server = await serve(handler)
  let statuses
  try {
    statuses = await getMany(server.port, PATHS, {
      connections: 8,
      progress: (done) => {
        if (done === 3000) state.down = true
        if (done === 6000) state.down = false
      },
    })
  } finally {
    await server.close()
  }
  await counter.close()
  assert.deepEqual(tally(statuses), { 200: 10_000 })
  const s = counter.stats()
  assert.deepEqual([s.requests, s.skipped, s.routeErrors, s.offered, s.held], [10_000, 0, 0, 10_000, 0])
  assert.equal(s.delivered + s.dropped, 10_000, JSON.stringify(s))
  assert.ok(state.failed > 0 && s.failures > 0 && s.dropped > 0, JSON.stringify({ state, s }))
  assert.equal(state.ok, s.batches - state.failed)
  const totals = rawTotals(buckets)
  assert.equal(Object.values(totals).reduce((a, b) => a + b, 0), s.delivered)
  assert.deepEqual(Object.keys(totals).sort(), ['GET /users/:id', 'GET /users/:id/orders/:uuid'])
}

test('http.createServer: 10 000 requests, the sink down for a while: all succeed, delivered + dropped = requests', async () => {
  const buckets = new Buckets()
  const state = { down: false, failed: 0, ok: 0 }
  const counter = new RequestCounter(flakySink(buckets, state), OPTIONS)
  const handler = (req, res) =>
    counter.middleware(req, res, () => {
      res.writeHead(200, { 'content-length': 2 })
      res.end('ok')
    })
  await tenThousand(handler, counter, buckets, state)
})

test('Express: 10 000 requests, the sink down for a while: all succeed, delivered + dropped = requests', async () => {
  const buckets = new Buckets()
  const state = { down: false, failed: 0, ok: 0 }
  const count = requestCounter(flakySink(buckets, state), OPTIONS)
  const app = express()
  app.set('etag', false)
  app.use(count)
  app.get('/users/:id', (req, res) => res.send('ok'))
  app.get('/users/:id/orders/:order', (req, res) => res.send('ok'))
  await tenThousand(app, count.counter, buckets, state)
})

test('Express: a router mounted on a path counts the full path; a route hook can use the request', async () => {
  const buckets = new Buckets()
  const count = requestCounter(buckets, { route: (path, req) => (req.headers['x-internal'] ? null : defaultRoute(path)) })
  const app = express()
  const api = express.Router()
  api.get('/items/:id', (req, res) => res.send('ok'))
  app.use(count)
  app.use('/api', api)
  const server = await serve(app)
  try {
    assert.deepEqual(await getMany(server.port, ['/api/items/1', '/api/items/2', '/nowhere'], { connections: 1 }), [200, 200, 404])
  } finally {
    await server.close()
  }
  await count.close()
  assert.deepEqual(rawTotals(buckets), { 'GET /api/items/:id': 2, 'GET /nowhere': 1 })
  assert.equal(count.stats().delivered, 3)
})

// ----- batching -----

test('a batch is at most maxInFlight events, and flush sends them all', async () => {
  const batches = []
  const counter = new RequestCounter(async (events) => batches.push(events), { flushIntervalMs: 60_000, outbox: { maxInFlight: 4 } })
  for (let i = 0; i < 10; i++) counter.countRequest('GET', `/a/${i}`)
  await counter.flush()
  assert.deepEqual(
    batches.map((b) => b.length),
    [4, 4, 2],
  )
  assert.deepEqual([...new Set(batches.flat().map(([key]) => key))], ['GET /a/:id'])
  await counter.close()
  assert.equal(counter.stats().delivered, 10)
})

test('a lingering batch goes out after the flush interval', async () => {
  let arrived
  const done = new Promise((resolve) => (arrived = resolve))
  const batches = []
  const counter = new RequestCounter(
    async (events) => {
      batches.push(events)
      arrived()
    },
    { flushIntervalMs: 30 },
  )
  const start = Date.now()
  for (let i = 0; i < 3; i++) counter.countRequest('POST', '/x')
  await done
  assert.deepEqual(
    batches.map((b) => b.length),
    [3],
  )
  assert.ok(Date.now() - start >= 29)
  await counter.close()
})

// ----- failures never reach the request -----

test('route hooks that skip or throw never fail a request (plain http)', async () => {
  const buckets = new Buckets()
  const count = requestCounter(buckets, {
    route: (path) => {
      if (path === '/health') return null
      if (path.startsWith('/boom')) throw new Error('hook bug')
      if (path === '/number') return 42 // a hook bug too: no key is made of a route that is not a string
      return defaultRoute(path)
    },
  })
  const server = await serve((req, res) => count(req, res, () => res.end('ok')))
  try {
    const paths = ['/health', '/boom/1', '/number', '/users/5', '/users/6?q=1']
    assert.deepEqual(await getMany(server.port, paths, { connections: 1 }), [200, 200, 200, 200, 200])
  } finally {
    await server.close()
  }
  await count.close()
  const s = count.stats()
  assert.deepEqual([s.requests, s.skipped, s.routeErrors, s.delivered], [5, 1, 2, 2])
  assert.deepEqual(rawTotals(buckets), { 'GET /users/:id': 2 })
})

test('a full outbox and a closed counter drop and count', async () => {
  let release
  const gate = new Promise((resolve) => (release = resolve))
  const delivered = []
  const counter = new RequestCounter(
    async (events) => {
      await gate
      delivered.push(...events)
    },
    { outbox: { capacity: 5 } },
  )
  const queued = Array.from({ length: 20 }, () => counter.countRequest('GET', '/'))
  assert.deepEqual(queued, [...Array(5).fill(true), ...Array(15).fill(false)])
  release()
  await counter.close()
  assert.equal(counter.countRequest('GET', '/'), false)
  const s = counter.stats()
  assert.deepEqual([s.delivered, s.droppedFull, s.droppedClosed, delivered.length], [5, 15, 1, 5])
  assert.equal(s.delivered + s.dropped, 21)
  assert.equal(s.requests, 21)
})

test('a hanging sink times out, is re-sent once, then given up', async () => {
  const givenUp = []
  let attempts = 0
  const counter = new RequestCounter(
    () => {
      attempts++
      return new Promise(() => {}) // never answers
    },
    { onGaveUp: (events) => givenUp.push(...events), outbox: { sendTimeoutMs: 30, reconnectMinMs: 1, reconnectMaxMs: 5 } },
  )
  counter.countRequest('DELETE', '/users/9')
  await counter.flush()
  const s = counter.stats()
  assert.deepEqual([attempts, s.failures, s.resends, s.gaveUp, s.held], [2, 2, 1, 1, 0])
  assert.deepEqual(
    givenUp.map(([key]) => key),
    ['DELETE /users/:id'],
  )
  await counter.close()
})

test('a store-like sink is asked to reconnect after a failure, then gets the re-send', async () => {
  const store = {
    buckets: new Buckets(),
    failNext: 1,
    reconnects: 0,
    async apply(fn) {
      if (this.failNext-- > 0) throw new Error('connection reset')
      return fn(this.buckets)
    },
    async reconnect() {
      this.reconnects++
    },
  }
  const counter = new RequestCounter(store, { outbox: { reconnectMinMs: 1, reconnectMaxMs: 5 } })
  counter.countRequest('GET', '/a')
  await counter.flush()
  const s = counter.stats()
  assert.deepEqual([s.failures, s.resends, s.reconnects, s.delivered, store.reconnects], [1, 1, 1, 1, 1])
  assert.deepEqual(rawTotals(store.buckets), { 'GET /a': 1 })
  await counter.close()
})

test('events the buckets refuse are counted as rejected', async () => {
  const buckets = new Buckets({ maxKeys: 2 })
  const counter = new RequestCounter(buckets)
  for (const path of ['/a', '/b', '/a', '/c', '/c', '/b']) counter.countRequest('GET', path)
  await counter.close()
  const s = counter.stats()
  assert.deepEqual([s.delivered, s.rejected], [6, 2])
  assert.deepEqual(rawTotals(buckets), { 'GET /a': 2, 'GET /b': 2 })
})

test('recordEvents records each run of equal times, and keeps the rest when the engine refuses one', () => {
  const buckets = new Buckets()
  const t = Date.now()
  assert.equal(
    recordEvents(
      buckets,
      [
        ['a', t],
        ['b', t],
        ['a', t],
        ['a', t + 1],
        ['x'.repeat(300), t + 1],
      ],
      t + 1,
    ),
    1,
  )
  assert.deepEqual(rawTotals(buckets), { a: 3, b: 1 })
  assert.equal(buckets.stats().records, 2)
})

test('bad options are refused when the counter is made', () => {
  assert.throws(() => new RequestCounter(new Buckets(), { outbox: { capacityy: 3 } }), { code: 'CONFIG_UNKNOWN_SETTING' })
  assert.throws(() => new RequestCounter({}), TypeError)
  assert.throws(() => new RequestCounter(new Buckets(), { flushIntervalMs: -1 }), RangeError)
  for (const maxKeyBytes of [0, 2 ** 32, 1.5]) assert.throws(() => new RequestCounter(new Buckets(), { maxKeyBytes }), RangeError)
})

// ----- the README -----

test('the README example runs', () => runReadmeExample('## HTTP middleware'))
