// Helpers of the PostgreSQL registrar tests (no tests here): registrar processes driven over
// pipes (pg-agent.mjs, or the Python package's tests/test_pg_agent.py), waits with deadlines,
// and a look at a cluster's row.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { Membership } from 'shardtally'

export const PG_URL = process.env.SHARDTALLY_PG_URL ?? ''
/** Options for `test()`: skipped, saying why, without a server. */
export const needsPg = PG_URL ? {} : { skip: 'set SHARDTALLY_PG_URL to a PostgreSQL server (or run: scripts/postgres.sh bindings-node/scripts/test.sh)' }

const here = dirname(fileURLToPath(import.meta.url))
const AGENT = join(here, 'pg-agent.mjs')
const PY_AGENT = join(here, '..', '..', 'bindings-python', 'tests', 'test_pg_agent.py')
const PY_VENV = process.env.SHARDTALLY_PY_VENV ?? join(homedir(), '.cache', 'shardtally', 'python-venv')

/** Short intervals: a holder expires 1.2 s after its last heartbeat (a grace period of five heartbeats, so a
 * loaded machine does not expire live holders); reshards are 500 ms apart. */
export const FAST = { heartbeatIntervalMs: 200, gracePeriodMs: 1000, reshardIntervalMs: 500 }
const FAST_SNAKE = { heartbeat_interval_ms: 200, grace_period_ms: 1000, reshard_interval_ms: 500 }

/** A fresh schema name; `drop(name)` removes it. */
export function schemaName() {
  return `st_reg_${randomUUID().replaceAll('-', '').slice(0, 12)}`
}

export async function sql(text, params = []) {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    return (await client.query(text, params)).rows
  } finally {
    await client.end()
  }
}

export async function drop(schema) {
  await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
}

/** Polls `check` every 20 ms until it holds; fails after `timeoutMs`. */
export async function until(check, timeoutMs = 10_000, what = 'condition') {
  const deadline = performance.now() + timeoutMs
  while (!(await check())) {
    if (performance.now() > deadline) assert.fail(`no ${what} within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** The cluster's machine as stored. */
export async function clusterRow(schema, cluster) {
  const [row] = await sql(`SELECT state FROM "${schema}".membership_clusters WHERE cluster = $1`, [cluster])
  assert.ok(row && row.state, `no row for cluster ${cluster}`)
  return { m: Membership.restoreClusters([row.state], FAST) }
}

/**
 * The assignments of a cluster as its row holds them after its last transaction (`now` 0 counts
 * as the latest time the cluster saw): what the machine committed, whatever the clock says when
 * the test looks.
 */
export async function assignments(schema, cluster) {
  const { m } = await clusterRow(schema, cluster)
  return m.assignments(cluster, 0)
}

/** A cluster's heartbeat count as stored. */
export async function heartbeats(schema, cluster) {
  const { m } = await clusterRow(schema, cluster)
  return Number(m.clusterInfo(cluster).stats.heartbeats)
}

/** Assignments of one epoch: `count` distinct indices below `count`. */
export function consistent(infos, count) {
  assert.deepEqual(infos.map((i) => i.shard).sort((a, b) => a - b), [...Array(count).keys()], JSON.stringify(infos))
  assert.deepEqual([...new Set(infos.map((i) => i.num_shards))], [count], JSON.stringify(infos))
  assert.equal(new Set(infos.map((i) => i.epoch)).size, 1, JSON.stringify(infos))
}

/** The Python interpreter of the venv bindings-python/scripts/test.sh builds (with shardtally.pg). */
export function pythonOfVenv() {
  const python = join(PY_VENV, 'bin', 'python')
  assert.ok(existsSync(python), `the Python package is not built (${python} is missing): run bindings-python/scripts/test.sh (make test runs it before the Node tests)`)
  return python
}

/** A registrar process: send it commands, wait for what it reports. */
export class Agent {
  constructor(argv, name) {
    this.name = name
    this.seen = []
    this.stderr = ''
    this.waiters = new Set()
    this.proc = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] })
    this.exited = new Promise((resolve) => this.proc.on('exit', resolve))
    this.proc.stderr.on('data', (d) => (this.stderr += d))
    this.proc.stdin.on('error', () => {}) // a killed process's pipe
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      this.seen.push(JSON.parse(line))
      for (const w of this.waiters) w()
    })
  }

  static node(name = 'agent') {
    return new Agent([process.execPath, AGENT, '--agent', PG_URL], name)
  }

  static python(name = 'agent') {
    return new Agent([pythonOfVenv(), PY_AGENT, PG_URL], name)
  }

  send(cmd) {
    this.proc.stdin.write(JSON.stringify(cmd) + '\n')
  }

  /** The first report (in order) that matches `pred` and was not returned before. */
  wait(pred, timeoutMs = 10_000, what = 'matching report') {
    return new Promise((resolve, reject) => {
      const check = () => {
        const e = this.seen.find((e) => !e._taken && pred(e))
        if (e === undefined) return false
        e._taken = true
        this.waiters.delete(check)
        clearTimeout(timer)
        resolve(e)
        return true
      }
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        const seen = this.seen.map(({ _taken, ...e }) => e)
        reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms; got ${JSON.stringify(seen)}; stderr: ${this.stderr.slice(-2000)}`))
      }, timeoutMs)
      if (!check()) this.waiters.add(check)
    })
  }

  /** The next report `event` of registrar `id`. */
  async waitEvent(id, event, timeoutMs = 10_000) {
    const e = await this.wait((e) => e.id === id && (e.event === event || e.event === 'failed'), timeoutMs, `${event} of ${id}`)
    assert.equal(e.event, event, `${this.name}: ${JSON.stringify(e)}`)
    return e
  }

  /** Creates registrar `id`; resolves to its holder id. */
  async create(id, cluster, schema, extra = {}) {
    this.send({ op: 'new', id, cluster, schema, settings: FAST_SNAKE, ...extra })
    return (await this.waitEvent(id, 'created')).holder
  }

  start(id) {
    this.send({ op: 'start', id })
  }

  /** The next `[shard, numShards, epoch]` registrar `id` reported. */
  async changed(id, timeoutMs = 10_000) {
    const e = await this.waitEvent(id, 'shard_changed', timeoutMs)
    return [e.shard, e.num_shards, e.epoch]
  }

  /** The first change of `id` (not returned before) to `count` shards in an epoch after `since`. */
  reached(id, count, { since = 0, timeoutMs = 10_000 } = {}) {
    return this.wait((e) => e.id === id && e.event === 'shard_changed' && e.num_shards === count && e.epoch > since, timeoutMs, `${count} shards for ${id} after epoch ${since}`)
  }

  async kill() {
    this.proc.kill('SIGKILL')
    await this.exited
  }

  async close() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.send({ op: 'exit' })
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000)
      await this.exited
      clearTimeout(timer)
    }
  }
}
