// The typings of `shardtally/middleware` and of the buckets store in `shardtally/pg`: a
// TypeScript user's code type-checks against them (tsc --noEmit, strict), and misuse does not.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..')

const USAGE = `
import http from 'node:http'
import { Buckets } from 'shardtally'
import { RequestCounter, requestCounter, defaultRoute, requestKey, recordEvents, type CounterStats, type Event } from 'shardtally/middleware'
import { BucketsStore, StoreLockedError, dailyTotals, periodTotals, type BucketsStoreStats } from 'shardtally/pg'

const buckets = new Buckets({ utcOffsetMinutes: 60 })
const counter = new RequestCounter(buckets, { flushIntervalMs: 500, outbox: { capacity: 4096, maxInFlight: 512 } })
http.createServer((req, res) => counter.middleware(req, res, () => res.end('ok')))
const fn = requestCounter(async (events: Event[]) => { for (const [key, at] of events) console.log(key, at) }, {
  route: (path, req) => (req.url === '/health' ? null : defaultRoute(path)),
  onGaveUp: (events) => console.log(events.length),
})
const stats: CounterStats = fn.stats()
const dropped: number = stats.dropped + counter.stats().gaveUp
const key: string = requestKey('GET', defaultRoute('/users/1'))
const rejected: number = recordEvents(buckets, [[key, Date.now()]], Date.now())

async function main(): Promise<void> {
  const store = await BucketsStore.open({ connectionString: 'postgresql://localhost/app', schema: 'counts', buckets: { utcOffsetMinutes: 60 } })
  const viaStore = new RequestCounter(store)
  await viaStore.flush()
  await viaStore.close()
  const day: string = store.buckets.dayOf(Date.now())
  const rolled = await store.rollup(day, Date.now())
  const n: number = rolled.days
  const totals = await store.dailyTotals(day, day)
  const first: string | undefined = totals[0]?.key
  const s: BucketsStoreStats = store.stats()
  const written: number = s.rowsWritten
  const other = await BucketsStore.open({ database: { host: 'db', user: 'app' } }).catch((e: unknown) => (e instanceof StoreLockedError ? null : null))
  const client = { query: async (_: { text: string; values?: unknown[] }) => ({ rows: [] }) }
  await dailyTotals(client, day, day, { schema: 'counts' })
  await periodTotals(client, '2024')
  await store.close()
  console.log(dropped, rejected, n, first, written, other)
}
void main()
`

const MISUSE = [
  "new RequestCounter(new Buckets(), { flushIntervalMs: '1s' })",
  "requestCounter(new Buckets(), { route: (path: string) => 42 })",
  "BucketsStore.open({ schema: 'counts' })",
  "BucketsStore.open({ connectionString: 'x', database: {} })",
]

/** Type-checks `files` (name → source) in one tsc run; its error output. */
function tsc(dir, files) {
  for (const [name, source] of Object.entries(files)) writeFileSync(join(dir, name), source)
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022'], types: ['node'], noEmit: true, skipLibCheck: false },
      files: Object.keys(files),
    }),
  )
  try {
    execFileSync(process.execPath, [join(pkgDir, 'node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' })
    return ''
  } catch (e) {
    return e.stdout || String(e)
  }
}

test('a TypeScript user of shardtally/middleware and the buckets store type-checks; misuse does not', { timeout: 120_000 }, () => {
  // Inside the package, so that `shardtally/...` resolves to this package's exports.
  const dir = mkdtempSync(join(pkgDir, '.typecheck-'))
  try {
    const header = USAGE.trim().split('\n').filter((l) => l.startsWith('import'))
    const misuse = `${header.join('\n')}\n${MISUSE.map((line) => `void (${line})`).join('\n')}\n`
    const errors = tsc(dir, { 'usage.mts': USAGE, 'misuse.mts': misuse })
    assert.doesNotMatch(errors, /usage\.mts/, errors)
    for (let i = 0; i < MISUSE.length; i++) assert.match(errors, new RegExp(`misuse\\.mts\\(${header.length + 1 + i},`), `${MISUSE[i]}\n${errors}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
