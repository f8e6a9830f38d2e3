// One schema, two languages: a Node BucketsStore and a Python one (shardtally.pg, from the
// virtualenv bindings-python/scripts/test.sh builds; `make test` runs it first) take turns
// writing the same tables, and each rebuilds exactly the machine the other left.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { Buckets } from 'shardtally'
import { BucketsStore } from 'shardtally/pg'
import { PG_URL, skip, inSchema, storedRows, machineRows } from './pg-store-support.test.mjs'

const T0 = 1_709_251_200_000 // 2024-03-01T00:00:00Z
const HOUR = 3_600_000
const PYTHON = join(process.env.SHARDTALLY_PY_VENV ?? join(homedir(), '.cache', 'shardtally', 'python-venv'), 'bin', 'python')

// Opens the schema in Python, checks the machine against the rows Node left (as JSON on
// stdin), records and rolls up more, and prints the machine's rows.
const PY = `
import asyncio, json, os, sys
from shardtally import BucketsDailyRow, BucketsRawRow
from shardtally.pg import BucketsStore

def rows(b):
    out = []
    for r in b.rows():
        if isinstance(r, BucketsRawRow): out.append(f"raw {r.day} {r.key} {r.count}")
        elif isinstance(r, BucketsDailyRow): out.append(f"daily {r.day} {r.key} {r.total}")
    return sorted(out)

async def main():
    want = json.load(sys.stdin)
    store = await BucketsStore.open(os.environ["SHARDTALLY_PG_URL"], schema=want["schema"], utc_offset_minutes=-300)
    try:
        b = store.buckets
        assert rows(b) == want["rows"], (rows(b), want["rows"])
        assert b.stats.records == want["records"], b.stats
        t0 = want["t0"]
        await store.record_many({"GET /py": 2, "GET /a": 1}, t0 + 5 * 3_600_000, t0 + 6 * 3_600_000)
        await store.rollup("2024-02-29", t0 + 6 * 3_600_000)
        print(json.dumps({"rows": rows(store.buckets), "records": store.buckets.stats.records, "totals": [list(t) for t in await store.period_totals("2024-02")]}))
    finally:
        await store.aclose()

asyncio.run(main())
`

test('a Node store and a Python store share one schema: each rebuilds what the other wrote', { skip }, () =>
  inSchema(async (schema) => {
    assert.ok(existsSync(PYTHON), `the Python package is not built (${PYTHON} is missing): run bindings-python/scripts/test.sh (make test runs it before the Node tests)`)
    const settings = { utcOffsetMinutes: -300 }
    const twin = new Buckets(settings)
    let store = await BucketsStore.open({ connectionString: PG_URL, schema, buckets: settings })
    for (const [key, at] of [['GET /a', T0], ['GET /b', T0 + HOUR], ['GET /é', T0 + 4 * HOUR]]) {
      await store.record(key, at, T0 + 4 * HOUR)
      twin.record(key, at, T0 + 4 * HOUR)
    }
    await store.close()
    const input = JSON.stringify({ schema, t0: T0, rows: machineRows(twin), records: 3 })
    const python = JSON.parse(execFileSync(PYTHON, ['-c', PY], { input, encoding: 'utf8', env: { ...process.env, SHARDTALLY_PG_URL: PG_URL } }))
    // The same inputs in Node's twin give the same machine.
    twin.recordMany({ 'GET /py': 2, 'GET /a': 1 }, T0 + 5 * HOUR, T0 + 6 * HOUR)
    twin.rollup('2024-02-29', T0 + 6 * HOUR)
    assert.deepEqual(python.rows, machineRows(twin))
    assert.deepEqual(python.totals, twin.periodTotals('2024-02').map((t) => [t.key, t.total]))
    store = await BucketsStore.open({ connectionString: PG_URL, schema, buckets: settings })
    try {
      assert.deepEqual(store.buckets.rows(), twin.rows()) // the meta row (clock, counters) included
      assert.equal(python.records, Number(twin.stats().records))
      assert.deepEqual(await storedRows(schema), machineRows(twin))
    } finally {
      await store.close()
    }
  }))
