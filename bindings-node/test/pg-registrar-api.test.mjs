// `shardtally/pg` in-process against the PostgreSQL of SHARDTALLY_PG_URL: the error rule (an
// error never stops the heartbeats, and without an 'error' listener it is a process warning,
// not a crash), serialized starts and stops, polling without LISTEN, the local deadline, the
// engine's validation and the migrations. Waits have deadlines; nothing sleeps to show that
// something did not happen.
import { test, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomUUID } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { ShardtallyError } from 'shardtally'
import { ShardRegistrar, migrate, MigrationError, checkSchema } from 'shardtally/pg'
import { migrations } from '../pg/migrate.js'
import { FAST, PG_URL, drop, heartbeats, needsPg, schemaName, sql, until } from './pg-helpers.mjs'

let schemas = []
let registrars = []
const fresh = () => (schemas.push(schemaName()), schemas.at(-1))
afterEach(async () => {
  for (const r of registrars) await r.stop()
  for (const s of schemas) await drop(s)
  schemas = []
  registrars = []
})

/** A registrar with its events recorded. */
function make(options, { errors = true } = {}) {
  const r = new ShardRegistrar({ connectionString: PG_URL, ...FAST, ...options })
  const rec = { changed: [], lost: [], errors: [] }
  r.on('shardChanged', (i) => rec.changed.push(i))
  r.on('shardLost', (i) => rec.lost.push(i))
  if (errors) r.on('error', (e) => rec.errors.push(e))
  registrars.push(r)
  return { r, rec }
}

/** Kills the registrar's server connections (as a failover or an admin would). */
async function terminate(applicationName) {
  return (await sql('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName])).length
}

const beatsBeyond = async (schema, cluster, n) => until(async () => (await heartbeats(schema, cluster)) > n, 10_000, `heartbeat beyond ${n}`)

test("errors reach 'error' listeners and never stop the heartbeats", needsPg, async () => {
  const schema = fresh()
  const { r, rec } = make({ cluster: 'e', schema, holder: `h-${randomUUID()}` }) // its own application_name
  await r.start()
  await until(() => rec.changed.length === 1, 10_000, 'an index')
  assert.equal(await terminate(r.applicationName), 2) // its transaction and LISTEN connections
  await until(() => rec.errors.length >= 1, 10_000, 'an error')
  await beatsBeyond(schema, 'e', await heartbeats(schema, 'e')) // it reconnected and beats again
  assert.equal(r.shardInfo().epoch, 1)
  assert.deepEqual(rec.lost, []) // a blip shorter than the grace period loses nothing
})

test("without an 'error' listener an error is a process warning, never a crash", needsPg, async () => {
  const schema = fresh()
  const warnings = []
  const onWarning = (w) => w.code === 'SHARDTALLY_PG_REGISTRAR' && warnings.push(w)
  process.on('warning', onWarning)
  try {
    const { r, rec } = make({ cluster: 'e', schema, holder: `h-${randomUUID()}` }, { errors: false })
    await r.start()
    await until(() => rec.changed.length === 1, 10_000, 'an index')
    await terminate(r.applicationName)
    await until(() => warnings.length >= 1, 10_000, 'a warning')
    await beatsBeyond(schema, 'e', await heartbeats(schema, 'e'))
    assert.ok(r.running)
    assert.equal(r.shardInfo().shard, 0)
  } finally {
    process.off('warning', onWarning)
  }
})

test('a throwing listener is reported and changes nothing else', needsPg, async () => {
  const schema = fresh()
  const r = new ShardRegistrar({ connectionString: PG_URL, cluster: 'e', schema, ...FAST })
  registrars.push(r)
  const changed = []
  const errors = []
  r.on('shardChanged', (i) => {
    changed.push(i)
    throw new Error("the host's listener failed")
  })
  r.on('error', (e) => errors.push(e))
  await r.start()
  await until(() => errors.length === 1, 10_000, "the listener's error")
  assert.equal(errors[0].message, "the host's listener failed")
  assert.deepEqual(r.shardInfo(), changed[0])
  await beatsBeyond(schema, 'e', await heartbeats(schema, 'e'))
})

test('a fast stop and start never runs two loops', needsPg, async () => {
  const schema = fresh()
  const { r, rec } = make({ cluster: 's', schema, holder: 'h' })
  // Unawaited in between: the calls queue up and run one at a time, in call order.
  await Promise.all([r.start(), r.stop(), r.start(), r.stop(), r.start(), r.start()])
  assert.ok(r.running)
  await until(() => rec.changed.length >= 1, 10_000, 'an index')
  // One loop beats every 200 ms; two would beat twice as often. Count the row's beats over one
  // second (at least two, or the loop is dead; at most 7 of one loop's 5).
  const start = await heartbeats(schema, 's')
  await new Promise((res) => setTimeout(res, 1000))
  const beats = (await heartbeats(schema, 's')) - start
  assert.ok(beats >= 2 && beats <= 7, `beats: ${beats}`)
  await r.stop({ unregister: true })
  assert.ok(!r.running)
  assert.deepEqual(rec.errors, [])
})

test('without LISTEN the assignment arrives by polling', needsPg, async () => {
  const schema = fresh()
  const a = make({ cluster: 'p', schema, holder: 'r1', listen: false })
  const b = make({ cluster: 'p', schema, holder: 'r2', listen: false })
  await a.r.start()
  await until(() => a.rec.changed.length === 1, 10_000, "r1's index")
  await b.r.start()
  // r2's registration waits for the rate limit; whichever registrar's beat reshards, the other
  // learns it at its next beat.
  await until(() => a.rec.changed.length === 2 && b.rec.changed.length === 1, 10_000, 'both at 2 shards')
  assert.deepEqual(
    [a.rec.changed[1], b.rec.changed[0]].map((i) => [i.shard, i.numShards, i.epoch]),
    [
      [0, 2, 2],
      [1, 2, 2],
    ],
  )
  assert.deepEqual([...a.rec.errors, ...b.rec.errors], [])
})

test('shardInfo throws NOT_ASSIGNED before start and after stop', needsPg, async () => {
  const schema = fresh()
  const { r } = make({ cluster: 'n', schema, holder: 'h' })
  assert.throws(() => r.shardInfo(), (e) => e instanceof ShardtallyError && e.code === 'NOT_ASSIGNED' && e.cluster === 'n' && e.holder === 'h')
  await r.start()
  await until(() => {
    try {
      return r.shardInfo().numShards === 1
    } catch {
      return false
    }
  })
  await r.stop()
  assert.throws(() => r.shardInfo(), { code: 'NOT_ASSIGNED' })
})

test('a holder whose heartbeats stall gives its index up at its deadline', needsPg, async () => {
  const schema = fresh()
  // A longer grace period than FAST's: a busy machine must not expire the holder before the
  // row is held.
  const { r, rec } = make({ cluster: 'x', schema, holder: 'h', gracePeriodMs: 3000 })
  await r.start()
  await until(() => rec.changed.length === 1, 10_000, 'an index')
  const first = rec.changed[0]
  // Hold the cluster's row: the registrar's heartbeat waits for the lock. Its deadline (last
  // heartbeat + 200 + 3000 ms) passes on its own clock while it waits.
  const blocker = new pg.Client({ connectionString: PG_URL })
  await blocker.connect()
  try {
    await blocker.query('BEGIN')
    await blocker.query(`SELECT 1 FROM "${schema}".membership_clusters WHERE cluster = $1 FOR UPDATE`, ['x'])
    await until(() => rec.lost.length === 1, 10_000, 'the local expiry')
    assert.deepEqual(rec.lost[0], { ...first, reason: 'expired' })
    assert.throws(() => r.shardInfo(), { code: 'NOT_ASSIGNED' })
    await blocker.query('ROLLBACK')
  } finally {
    await blocker.end()
  }
  // Its next beat finds it expired in the database as well: it registers again and a reshard
  // gives it an index of a newer epoch.
  await until(() => rec.changed.length === 2, 10_000, 'a new index')
  assert.ok(rec.changed[1].epoch > first.epoch)
})

test('the engine validates settings and ids at construction', () => {
  assert.throws(() => new ShardRegistrar({ connectionString: 'postgresql://x', cluster: 'c', heartbeatIntervallMs: 5 }), { code: 'CONFIG_UNKNOWN_SETTING', setting: 'heartbeatIntervallMs' })
  assert.throws(() => new ShardRegistrar({ connectionString: 'postgresql://x', cluster: '' }), { code: 'EMPTY_ID' })
  assert.throws(() => new ShardRegistrar({ connectionString: 'postgresql://x', cluster: 'c', schema: 'Bad-Name' }), /invalid schema name/)
  assert.throws(() => new ShardRegistrar({ cluster: 'c' }), /exactly one of/)
})

test('start rejects when the database cannot be reached, and nothing keeps running', async () => {
  const r = new ShardRegistrar({ connectionString: 'postgresql://postgres@127.0.0.1:1/postgres', cluster: 'c' })
  await assert.rejects(r.start(), (e) => e.code === 'ECONNREFUSED')
  assert.ok(!r.running)
})

test('a pool the host passes is shared, not ended', needsPg, async () => {
  const schema = fresh()
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2 })
  try {
    const { r, rec } = make({ connectionString: undefined, pool, cluster: 'p', schema })
    await r.start()
    await until(() => rec.changed.length === 1, 10_000, 'an index')
    await r.stop({ unregister: true })
    assert.deepEqual((await pool.query('SELECT 1 AS one')).rows, [{ one: 1 }])
  } finally {
    await pool.end()
  }
})

test('a malformed notification is reported and changes nothing', needsPg, async () => {
  const schema = fresh()
  const { r, rec } = make({ cluster: 'm', schema, holder: 'h' })
  await r.start()
  await until(() => rec.changed.length === 1, 10_000, 'an index')
  const bad = '{"cluster":"m","holder":"h","type":"shard_changed","shard":"7","num_shards":9,"epoch":99}'
  await sql('SELECT pg_notify($1, $2)', [`${schema}.membership`, bad])
  await until(() => rec.errors.length === 1, 10_000, 'the error')
  assert.match(rec.errors[0].message, /malformed notification/)
  assert.deepEqual(r.shardInfo(), rec.changed[0])
  assert.equal(rec.changed.length, 1)
})

// ----- migrations -----

const here = dirname(fileURLToPath(import.meta.url))
function tree(root) {
  const out = {}
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name)
      if (statSync(p).isDirectory()) walk(p)
      else if (name.endsWith('.sql')) out[relative(root, p)] = createHash('sha256').update(readFileSync(p)).digest('hex')
    }
  }
  walk(root)
  return out
}

test("the package ships the Python package's migration files (scripts/migrations.mjs), and the runner reads them", () => {
  const source = tree(join(here, '..', '..', 'bindings-python', 'python', 'shardtally', 'pg', 'migrations'))
  assert.ok('membership/0001_clusters.sql' in source)
  assert.deepEqual(tree(join(here, '..', 'pg', 'migrations')), source, 'a stale copy: run node bindings-node/scripts/migrations.mjs')
  for (const component of ['membership', 'buckets']) {
    const files = Object.entries(source).filter(([path]) => path.startsWith(`${component}/`))
    assert.deepEqual(
      migrations(component).map((m) => m.checksum),
      files.map(([, checksum]) => checksum),
      component,
    )
  }
})

test('schema names are checked', () => {
  assert.equal(checkSchema('shardtally_2'), 'shardtally_2')
  for (const bad of ['', 'Upper', '1st', 'a-b', 'x"; DROP TABLE y; --', 'a'.repeat(49), 7]) assert.throws(() => checkSchema(bad), /invalid schema name/)
})

test('migrations apply once even when run concurrently, and a changed file is refused', needsPg, async () => {
  const schema = fresh()
  const clients = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const c = new pg.Client({ connectionString: PG_URL })
      await c.connect()
      return c
    }),
  )
  try {
    const results = await Promise.all(clients.map((c) => migrate(c, { schema })))
    assert.deepEqual(results.map((r) => r.join()).sort(), ['', '', '', '', '', '1']) // the advisory lock serialized them
    assert.deepEqual(await migrate(clients[0], { schema }), [])
    assert.deepEqual((await clients[0].query(`SELECT component, version, name FROM "${schema}".shardtally_migrations`)).rows, [
      { component: 'membership', version: 1, name: 'clusters' },
    ])
    await clients[0].query(`UPDATE "${schema}".shardtally_migrations SET checksum = 'not-the-shipped-one'`)
    await assert.rejects(migrate(clients[0], { schema }), (e) => e instanceof MigrationError && e.code === 'SHARDTALLY_PG_MIGRATION' && /must never change/.test(e.message))
    // The client is usable afterwards (the failed migration rolled back).
    assert.deepEqual((await clients[0].query('SELECT 1 AS one')).rows, [{ one: 1 }])
  } finally {
    await Promise.all(clients.map((c) => c.end()))
  }
})

// ----- the README -----

test('the README example of the PostgreSQL registrar runs', needsPg, async () => {
  const schema = fresh()
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const section = readme.split('\n### PostgreSQL registrar\n')[1].split('\n## ')[0].split('\n### ')[0]
  const code = /```js\n([\s\S]*?)```/.exec(section)
  assert.ok(code, 'a js block in the PostgreSQL registrar section')
  const source = code[1].replace("schema: 'shardtally'", `schema: '${schema}'`)
  assert.ok(source.includes(schema))
  const printed = []
  const console = { log: (...a) => printed.push(a.join(' ')), error: (...a) => printed.push(a.join(' ')) }
  const { createRequire } = await import('node:module')
  const run = new Function('require', 'console', 'process', `return (async () => {\n${source}\n})()`)
  await run(createRequire(new URL('../package.json', import.meta.url)), console, { env: { SHARDTALLY_PG_URL: PG_URL } })
  assert.deepEqual(printed, ['handling shard 0 of 1 (epoch 1)', 'stop handling 0: unregistered'])
})
