// Replays the shared golden trace (core/tests/fixtures/golden-trace.json): the Rust core and
// every binding must produce exactly its expected outputs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { Shard, Global, ShardtallyError } from 'shardtally'

const FIXTURE = new URL('../../core/tests/fixtures/golden-trace.json', import.meta.url)

/** JSON.parse, with integers beyond 2^53 - 1 (and big decimal strings of deltas) exact. */
function parseExact(text) {
  const tagged = text.replace(/"(?:[^"\\]|\\.)*"|-?\d{16,}/g, (m) => (m.startsWith('"') ? m : `"#big:${m}"`))
  return JSON.parse(tagged, (_k, v) => {
    if (typeof v === 'string' && v.startsWith('#big:')) {
      const b = BigInt(v.slice(5))
      return b > BigInt(Number.MAX_SAFE_INTEGER) || b < -BigInt(Number.MAX_SAFE_INTEGER) ? b : Number(b)
    }
    return v
  })
}

/** A delta of the trace: a JSON integer, or a decimal string beyond 2^53. */
const delta = (d) => (typeof d === 'string' ? BigInt(d) : d)

const camel = (s) => s.replace(/_([a-z])/g, (_m, c) => c.toUpperCase())
function options(config) {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [camel(k), v]))
}

/** The trace's view of a batch, ack or deadline (the JS objects carry more, e.g. bytes). */
const batchJson = ({ type, shard, incarnation, seq, reason, entries }) => ({ type, shard, incarnation, seq, reason, entries })
const ackJson = ({ type, shard, incarnation, seq, duplicate, generation, staleKeys }) => ({ type, shard, incarnation, seq, duplicate, generation, stale: staleKeys })
const deadlineJson = (d) => (d === null ? null : { at: d.atMs, timer: d.timer })

function attempt(fn) {
  try {
    const r = fn()
    return r === undefined ? null : r
  } catch (e) {
    if (!(e instanceof ShardtallyError)) throw e
    return { error: e.code }
  }
}

test('the golden trace replays exactly', () => {
  const doc = parseExact(readFileSync(FIXTURE, 'utf8'))
  assert.equal(doc.format, 1)
  const shardOptions = options(doc.shard_config)
  const globalOptions = options(doc.global_config)
  const shards = doc.shards.map((s) => new Shard({ shard: s.shard, incarnation: s.incarnation, ...shardOptions }))
  let global = new Global(globalOptions)
  const lastBatch = shards.map(() => null)
  const heldAck = shards.map(() => null)
  const ops = new Set()

  doc.steps.forEach((step, i) => {
    const at = step.at
    const s = step.shard ?? 0
    const shard = shards[s]
    ops.add(step.op)
    let actual
    switch (step.op) {
      case 'increment':
        actual = attempt(() => shard.increment(step.key, delta(step.delta), at))
        break
      case 'increments':
        actual = attempt(() => shard.increments(step.entries.map(([k, d]) => [k, delta(d)]), at))
        break
      case 'intern':
        actual = attempt(() => shard.intern(step.key))
        break
      case 'increment_id':
        actual = attempt(() => shard.incrementId(step.id, delta(step.delta), at))
        break
      case 'increment_ids':
        actual = attempt(() => shard.incrementIds(Uint32Array.from(step.ids), step.deltas.map(delta), at))
        break
      case 'flush':
        actual = shard.flush(at)
        break
      case 'drain':
        actual = shard.drain(at)
        break
      case 'poll_shard': {
        actual = []
        for (let b = shard.pollOutput(); b !== null; b = shard.pollOutput()) {
          actual.push(batchJson(b))
          lastBatch[s] = b
        }
        break
      }
      case 'deliver':
        actual = attempt(() => {
          const ack = global.handleBatch(lastBatch[s].bytes, at)
          heldAck[s] = ack
          return ackJson(ack)
        })
        break
      case 'ack':
        actual = attempt(() => shard.handleAck(heldAck[s].bytes, at))
        break
      case 'fail':
        actual = shard.handleFailure(step.seq, at)
        break
      case 'timeout_shard':
        actual = attempt(() => shard.handleTimeout(at))
        break
      case 'deadline_shard':
        actual = deadlineJson(shard.nextDeadline())
        break
      case 'pending':
        actual = shard.pending()
        break
      case 'restore_shard':
        shards[s] = Shard.restore(shard.snapshot(), shardOptions)
        actual = null
        break
      case 'reset':
        actual = attempt(() => global.reset(step.key, at))
        break
      case 'publish':
        actual = global.publish(at)
        break
      case 'poll_global':
        actual = []
        for (let o = global.pollOutput(); o !== null; o = global.pollOutput()) actual.push(o)
        break
      case 'publish_ack':
        actual = global.handlePublishAck(step.version, at)
        break
      case 'publish_fail':
        actual = global.handlePublishFailure(step.version, at)
        break
      case 'timeout_global':
        actual = attempt(() => global.handleTimeout(at))
        break
      case 'deadline_global':
        actual = deadlineJson(global.nextDeadline())
        break
      case 'restore_global':
        global = Global.restore(global.snapshot(), globalOptions)
        actual = null
        break
      case 'totals':
        actual = global.totals()
        break
      default:
        assert.fail(`step ${i}: unknown op ${step.op}`)
    }
    assert.deepStrictEqual(actual, step.expect ?? null, `step ${i} (${step.op} at ${at})`)
  })
  assert.ok(ops.size >= 24, `the trace exercised ${ops.size} kinds of step`)
})
