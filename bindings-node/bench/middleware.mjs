// What the request counter (shardtally/middleware) costs a request, and what the PostgreSQL
// store writes, in one run.
//
//   node bench/middleware.mjs            # full run (with a release addon: npm run build)
//   node bench/middleware.mjs --smoke    # tiny sizes: checks that every case still runs
//
// 1. In process: a trivial handler called directly, with and without the middleware
//    (counting into an in-process Buckets; the sender's deliveries are inside the timed
//    region): ns per request and the difference.
// 2. Over loopback (not with --smoke): http.createServer with the same handler, hit by 8
//    keep-alive connections, with and without the middleware: ns per request.
// 3. With SHARDTALLY_PG_URL set: 10 000 requests over 20 routes counted into a BucketsStore:
//    transactions and rows written, against count's one row per request.
// Each case of 1 and 2 runs interleaved with its twin; the best run counts.
import http from 'node:http'
import { once } from 'node:events'
import { Buckets } from '../index.js'
import { RequestCounter } from '../middleware/index.js'

const smoke = process.argv.includes('--smoke')
const N = smoke ? 2_000 : 200_000
const ROUNDS = smoke ? 1 : 5
const PATHS = [...Array.from({ length: 50 }, (_, i) => `/users/${i}`), ...Array.from({ length: 50 }, (_, i) => `/orders/${i}/items`), '/', '/health']
const handler = (req, res) => res.end('ok')

async function inProcess(counter, n) {
  const reqs = PATHS.map((url) => ({ method: 'GET', url }))
  const res = { end() {} }
  const start = process.hrtime.bigint()
  for (let i = 0; i < n; i++) {
    const req = reqs[i % reqs.length]
    if (counter === null) handler(req, res)
    else counter.middleware(req, res, () => handler(req, res))
    await null // as between requests of a server: pending callbacks (the sender's) run
  }
  if (counter !== null) await counter.flush()
  return Number(process.hrtime.bigint() - start) / n
}

async function loopback(counter, n) {
  const server = http.createServer(counter === null ? handler : (req, res) => counter.middleware(req, res, () => handler(req, res)))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })
  let left = n
  const get = (path) =>
    new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: server.address().port, path, agent }, (res) => {
        res.resume()
        res.on('end', resolve)
      }).on('error', reject)
    })
  const start = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (left-- > 0) await get(PATHS[left % PATHS.length])
    }),
  )
  if (counter !== null) await counter.flush()
  const ns = Number(process.hrtime.bigint() - start) / n
  agent.destroy()
  server.closeAllConnections()
  server.close()
  return ns
}

function report(title, plain, counted, counter, n) {
  const s = counter.stats()
  console.log(title)
  console.log(`  without the middleware   ${plain.toFixed(0).padStart(10)} ns/request`)
  console.log(`  with the middleware      ${counted.toFixed(0).padStart(10)} ns/request   (+${(counted - plain).toFixed(0)} ns, x${(counted / plain).toFixed(2)})`)
  console.log(`  counted: ${s.delivered} delivered, ${s.dropped} dropped, ${s.batches} batches for ${n} requests per run`)
  if (s.dropped !== 0) throw new Error(`dropped ${s.dropped}`)
}

async function rowsPerRequests(n) {
  const url = process.env.SHARDTALLY_PG_URL
  if (!url) {
    console.log('rows written: skipped (set SHARDTALLY_PG_URL, or run under scripts/postgres.sh)')
    return
  }
  const { BucketsStore } = await import('../pg/index.js')
  const pg = (await import('pg')).default
  const schema = `st_bench_${process.pid}`
  const store = await BucketsStore.open({ connectionString: url, schema })
  try {
    const counter = new RequestCounter(store, { outbox: { capacity: 16_384 } }) // room for the whole burst: this measures rows, not drops
    for (let i = 0; i < n; i++) {
      counter.countRequest('GET', `/route${i % 20}/${i % 20}`)
      if (i % 100 === 0) await new Promise(setImmediate) // a server takes I/O between requests
    }
    await counter.close()
    const st = store.stats()
    if (counter.stats().delivered !== n) throw new Error(JSON.stringify(counter.stats()))
    console.log(`rows written for ${n} requests over 20 routes (one burst, batches of up to 1024):`)
    console.log(`  BucketsStore: ${st.transactions} transactions, ${st.rowsWritten} rows (${((st.rowsWritten / n) * 10_000).toFixed(0)} per 10 000 requests)`)
    console.log(`  count (one row per request): ${n} rows (10000 per 10 000 requests)`)
    console.log('  (at a steady rate, each flushIntervalMs writes the routes seen in it + 1 meta row)')
  } finally {
    await store.close()
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    await c.query(`DROP SCHEMA "${schema}" CASCADE`)
    await c.end()
  }
}

let plain = Infinity
let counted = Infinity
let counter = new RequestCounter(new Buckets())
for (let r = 0; r < ROUNDS; r++) {
  plain = Math.min(plain, await inProcess(null, N))
  counted = Math.min(counted, await inProcess(counter, N))
}
report(`in process, ${N} requests per run, best of ${ROUNDS}:`, plain, counted, counter, N)
await counter.close()

if (!smoke) {
  const m = 20_000
  plain = counted = Infinity
  for (let r = 0; r < ROUNDS; r++) {
    plain = Math.min(plain, await loopback(null, m))
    counter = new RequestCounter(new Buckets())
    counted = Math.min(counted, await loopback(counter, m))
    await counter.close()
  }
  report(`over loopback (http.createServer, 8 keep-alive connections), ${m} requests per run, best of ${ROUNDS}:`, plain, counted, counter, m)
}

await rowsPerRequests(smoke ? 1_000 : 10_000)
