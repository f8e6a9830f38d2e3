// Helpers of the PostgreSQL store tests (no tests here): a schema per test, the stored rows,
// killing a session.
import { randomBytes } from 'node:crypto'
import pg from 'pg'

export const PG_URL = process.env.SHARDTALLY_PG_URL ?? ''
/** Why the PostgreSQL tests skip, or false when they run. */
export const skip = PG_URL ? false : 'set SHARDTALLY_PG_URL to a PostgreSQL server (or run: scripts/postgres.sh bindings-node/scripts/test.sh)'

/** Runs `fn(schema)` in a fresh schema, dropped afterwards. */
export async function inSchema(fn) {
  const schema = `st_test_${randomBytes(6).toString('hex')}`
  try {
    return await fn(schema)
  } finally {
    const c = new pg.Client({ connectionString: PG_URL })
    await c.connect()
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await c.end()
  }
}

export async function withClient(config, fn) {
  const c = new pg.Client(typeof config === 'string' ? { connectionString: config } : config)
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

/** Every raw and daily row, as sorted `table day key value` strings. */
export function storedRows(schema) {
  return withClient(PG_URL, async (c) => {
    const out = []
    for (const [table, col] of [['raw', 'count'], ['daily', 'total']]) {
      const { rows } = await c.query(`SELECT to_char(day, 'YYYY-MM-DD') AS day, key, ${col}::text AS v FROM "${schema}".buckets_${table}`)
      for (const r of rows) out.push(`${table} ${r.day} ${r.key} ${r.v}`)
    }
    return out.sort()
  })
}

/** The machine's raw and daily rows in the same form. */
export function machineRows(buckets) {
  const out = []
  for (const r of buckets.rows()) {
    if (r.type === 'raw') out.push(`raw ${r.day} ${r.key} ${r.count}`)
    else if (r.type === 'daily') out.push(`daily ${r.day} ${r.key} ${r.total}`)
  }
  return out.sort()
}

/** Terminates the server sessions of `applicationName` and waits until they are gone. */
export async function terminate(applicationName) {
  await withClient(PG_URL, async (c) => {
    await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName])
    for (let i = 0; i < 500; i++) {
      const { rows } = await c.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [applicationName])
      if (rows[0].n === 0) return
      await new Promise((resolve) => setTimeout(resolve, 10)) // waiting for the server to end the session
    }
    throw new Error('the session did not end')
  })
}
