// SPEC §11 public acceptance scenarios 1–7 (shard 100/5000/60000, global 100/5000/60000
// unless stated), driven through the package as a Node user would.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Shard, Global, Router } from 'shardtally'
import { drain, deliverAll } from './helpers.mjs'

const entries = (batch) => batch.entries.map((e) => [e.key, e.delta])
const totals = (global) => Object.fromEntries(global.totals().map((t) => [t.key, t.total]))

test('1: the 100th increment emits {x: 100} for reason requests; no idle flush follows', () => {
  const shard = new Shard({ shard: 0, incarnation: 1 })
  const global = new Global()
  for (let i = 0; i < 99; i++) {
    shard.increment('x', 1, i)
    assert.equal(shard.pollOutput(), null, `nothing before the 100th (${i})`)
  }
  shard.increment('x', 1, 99)
  const [batch, ...more] = drain(shard)
  assert.equal(more.length, 0)
  assert.equal(batch.reason, 'requests')
  assert.deepEqual(entries(batch), [['x', 100]])
  assert.equal(shard.handleAck(global.handleBatch(batch, 99), 99), true)
  assert.equal(shard.pollTimeout(), null)
  shard.handleTimeout(100_000)
  assert.deepEqual(drain(shard), [])
  assert.equal(global.total('x'), 100)
})

test('2: increments at 0, 4000, 8000 flush once at 13000 (idle); with max age 10000 at 10000', () => {
  for (const [options, at, reason] of [
    [{}, 13_000, 'idle'],
    [{ flushMaxAgeMs: 10_000 }, 10_000, 'max_age'],
  ]) {
    const shard = new Shard({ shard: 0, incarnation: 1, ...options })
    const emitted = []
    const clock = [0, 4000, 5000, 8000, 9000]
    for (const now of clock) {
      if (now % 4000 === 0) shard.increment('x', 1, now)
      shard.handleTimeout(now)
      for (const b of drain(shard)) emitted.push([now, b])
    }
    assert.deepEqual(emitted, [], 'nothing at 5000 or 9000')
    assert.equal(shard.pollTimeout(), at)
    assert.equal(shard.nextDeadline().timer, reason)
    shard.handleTimeout(at - 1)
    assert.deepEqual(drain(shard), [], 'early timeouts do nothing')
    shard.handleTimeout(at)
    const [batch, ...more] = drain(shard)
    assert.equal(more.length, 0)
    assert.equal(batch.reason, reason)
    assert.deepEqual(entries(batch), [['x', 3]])
  }
})

test('3: an applied batch whose ack is lost is re-sent with the same seq; totals unchanged', () => {
  const shard = new Shard({ shard: 0, incarnation: 1, flushAfterRequests: 1, ackTimeoutMs: 1000 })
  const global = new Global()
  let now = 0
  for (let i = 1; i <= 6; i++) {
    shard.increment('x', 1, ++now)
    assert.equal(deliverAll(shard, global, now), 1)
  }
  shard.increment('x', 1, ++now)
  const [seven] = drain(shard)
  assert.equal(seven.seq, 7)
  const lost = global.handleBatch(seven, now) // applied; the ack never reaches the shard
  assert.equal(lost.duplicate, false)
  assert.equal(global.total('x'), 7)
  now = shard.pollTimeout()
  shard.handleTimeout(now) // ack timeout: treated as failed, re-send after backoff
  now = shard.pollTimeout()
  shard.handleTimeout(now)
  const [again] = drain(shard)
  assert.deepEqual([again.seq, again.reason, entries(again)], [7, 'retry', entries(seven)])
  const ack = global.handleBatch(again.bytes, now)
  assert.equal(ack.duplicate, true)
  assert.equal(shard.handleAck(ack, now), true)
  assert.equal(global.total('x'), 7)
  assert.equal(global.stats().duplicates, 1)
})

test('4: a failed batch is retried unchanged; increments made meanwhile go in the next batch', () => {
  const shard = new Shard({ shard: 0, incarnation: 1, flushAfterRequests: 3 })
  const global = new Global()
  for (let i = 0; i < 3; i++) shard.increment('x', 1, 10)
  const [first] = drain(shard)
  assert.equal(shard.handleFailure(first.seq, 10), true)
  shard.increment('x', 1, 11)
  shard.increment('y', 1, 12)
  const at = shard.pollTimeout()
  assert.equal(shard.nextDeadline().timer, 'retry')
  shard.handleTimeout(at)
  const [retry] = drain(shard)
  assert.deepEqual([retry.seq, retry.reason, entries(retry)], [first.seq, 'retry', [['x', 3]]])
  assert.equal(shard.handleAck(global.handleBatch(retry, at), at), true)
  // The 2 new increments are pending (2 requests < 3): they go when a flush condition holds.
  assert.deepEqual(drain(shard), [])
  const idle = shard.pollTimeout()
  assert.equal(shard.nextDeadline().timer, 'idle')
  shard.handleTimeout(idle)
  const [next] = drain(shard)
  assert.equal(next.seq, first.seq + 1)
  assert.equal(next.reason, 'idle')
  assert.deepEqual(entries(next), [['x', 1], ['y', 1]])
  shard.handleAck(global.handleBatch(next, idle), idle)
  assert.deepEqual(totals(global), { x: 4, y: 1 })
})

test('5: reset(x) while a shard holds pending x = 5: total 0, the 5 never counts, a publish shows it', () => {
  const global = new Global()
  const a = new Shard({ shard: 0, incarnation: 1 })
  const b = new Shard({ shard: 1, incarnation: 1 })
  a.increment('x', 10, 1)
  a.flush(1)
  deliverAll(a, global, 1)
  b.increment('x', 5, 2)
  assert.equal(global.total('x'), 10)
  assert.deepEqual(global.reset('x', 3), { type: 'reset', previous: 10, generation: 1 })
  assert.equal(global.total('x'), 0)
  const publishes = drain(global).filter((o) => o.type === 'publish')
  assert.equal(publishes.length, 1)
  assert.equal(publishes[0].reason, 'reset')
  assert.deepEqual(publishes[0].entries, [{ key: 'x', total: 0 }])
  b.flush(4)
  const [batch] = drain(b)
  const ack = global.handleBatch(batch, 4)
  assert.deepEqual(ack.staleKeys, [{ key: 'x', generation: 1 }])
  b.handleAck(ack, 4)
  assert.equal(global.total('x'), 0)
  assert.deepEqual(global.reset('x', 5), { type: 'not_defined' })
})

test('6: per-shard write statistics', () => {
  const global = new Global()
  const s0 = new Shard({ shard: 0, incarnation: 1 })
  const s1 = new Shard({ shard: 1, incarnation: 1 })
  s0.increment('x', 1, 1)
  s0.flush(1)
  deliverAll(s0, global, 1)
  s0.increment('x', 2, 2)
  s0.flush(2)
  deliverAll(s0, global, 2)
  s1.increment('y', 5, 3)
  s1.flush(3)
  deliverAll(s1, global, 3)
  assert.deepEqual(global.shardStats(), [
    { shard: 0, writes: 2, deltas: [{ key: 'x', delta: 3 }] },
    { shard: 1, writes: 1, deltas: [{ key: 'y', delta: 5 }] },
  ])
  const stats = global.stats()
  assert.equal(stats.totalWrites, 3)
  assert.equal(stats.distinctShards, 2)
  assert.deepEqual(global.writeLog().map((w) => [w.type, w.shard, w.seq]), [['batch', 1, 1], ['batch', 0, 2], ['batch', 0, 1]])
})

test('7: shard count 4 → 2: shard 3 drains its {x: 7}; total x 7', () => {
  const router = new Router({ shardCount: 4 })
  const global = new Global()
  const shards = [0, 1, 2, 3].map((i) => new Shard({ shard: i, incarnation: 1 }))
  shards[3].increment('x', 7, 1)
  assert.deepEqual(router.setShardCount(2), [2, 3])
  assert.deepEqual(router.draining(), [2, 3])
  for (const s of router.draining()) {
    const shard = shards[s]
    const outcome = shard.drain(2)
    assert.equal(outcome.type, s === 3 ? 'sent' : 'nothing_pending')
    deliverAll(shard, global, 2)
    assert.equal(shard.isDrained(), true)
    assert.equal(router.markDrained(s), true)
  }
  assert.deepEqual(router.draining(), [])
  assert.equal(global.total('x'), 7)
  assert.ok(router.route('x') < 2)
})
