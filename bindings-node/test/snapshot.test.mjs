// Snapshots round-trip through Uint8Array (and Buffer): everything comes back, deadlines and
// in-flight messages included, and the restored machine carries on where it stopped.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Shard, Global, Router } from 'shardtally'
import { drain, deliverAll, shardState, globalState } from './helpers.mjs'

const OPTS = { flushAfterRequests: 3, flushAfterIdleMs: 50, ackTimeoutMs: 40, maxInternedKeys: 10 }

test('a shard with pending deltas, interned keys and a batch in flight', () => {
  const s = new Shard({ shard: 1, incarnation: 77, ...OPTS })
  const id = s.intern('hot')
  s.increment('a', 1, 10)
  s.increment('b', 2, 10)
  s.incrementId(id, 3, 10) // third request: batch 1 in flight
  s.increment('a', 5, 11) // pending behind it (buffered in JavaScript)
  const [batch] = drain(s)
  const bytes = s.snapshot()
  assert.ok(bytes instanceof Uint8Array)

  for (const input of [bytes, Buffer.from(bytes)]) {
    const r = Shard.restore(input, OPTS)
    assert.deepEqual(Buffer.from(r.snapshot()), Buffer.from(bytes))
    assert.deepEqual(r.pending(), s.pending())
    assert.equal(r.pendingRequests(), s.pendingRequests())
    assert.deepEqual(r.stats(), s.stats())
    assert.deepEqual(r.nextDeadline(), s.nextDeadline())
    assert.equal(r.keyOf(id), 'hot')
    // The batch in flight is offered again: the host may have crashed before sending it.
    const [again] = drain(r)
    assert.deepEqual([again.seq, again.reason, again.entries], [batch.seq, 'retry', batch.entries])
    const g = new Global()
    r.handleAck(g.handleBatch(again, 12), 12)
    r.incrementId(id, 1, 12)
    r.increment('c', 1, 12) // third request since the cut
    const [next] = drain(r)
    assert.deepEqual(next.entries.map((e) => [e.key, e.delta]), [['a', 5], ['c', 1], ['hot', 1]])
  }
})

test('restore keeps the exact state for every kind of history', () => {
  const s = new Shard({ shard: 0, incarnation: 1, ...OPTS })
  const g = new Global()
  let now = 0
  for (let i = 0; i < 40; i++) {
    now += i % 7
    s.increment(`k${i % 5}`, i, now)
    if (i % 6 === 0) s.handleTimeout(now)
    if (i % 4 === 0) deliverAll(s, g, now)
    if (i % 9 === 0) s.handleFailure(s.inFlight()?.seq ?? 0, now)
    const r = Shard.restore(s.snapshot(), OPTS)
    const expected = shardState(s)
    const actual = shardState(r)
    assert.deepStrictEqual(actual, expected, `step ${i}`)
  }
})

test('a global with totals, generations, a publish in flight and a write log', () => {
  const options = { persistAfterWrites: 1, writeLogCapacity: 3 }
  const g = new Global(options)
  const s = new Shard({ shard: 0, incarnation: 1, flushAfterRequests: 1 })
  for (const key of ['a', 'b', 'c']) {
    s.increment(key, 2, 1)
    deliverAll(s, g, 1)
  }
  g.reset('b', 2)
  // The reset is published, and announced to the one shard the global knows.
  assert.deepEqual(drain(g).map((o) => [o.type, o.shard ?? null]).sort(), [['notice', 0], ['publish', null]])
  const bytes = g.snapshot()
  const r = Global.restore(Buffer.from(bytes), options)
  const before = globalState(g)
  assert.deepStrictEqual(globalState(r), before)
  assert.deepEqual(r.nextDeadline(), g.nextDeadline())
  assert.equal(r.keyGeneration('b'), 1)
  assert.equal(r.lastSeq(0, 1), 3)
  // The publish in flight is offered again.
  const [again] = drain(r)
  assert.deepEqual(again, g.inFlightPublish())
  // The restored global still deduplicates: seq 3 is not applied twice.
  assert.deepStrictEqual(globalState(g), before)
})

test('a tiered global restores with its upstream settings', () => {
  const upstream = { shard: 3, incarnation: 8, flushAfterRequests: 10 }
  const g = new Global({ upstream })
  const s = new Shard({ shard: 0, incarnation: 1, flushAfterRequests: 1 })
  s.increment('x', 4, 1)
  deliverAll(s, g, 1)
  const bytes = g.snapshot()
  assert.equal(Global.restore(bytes, { upstream: { flushAfterRequests: 10 } }).hasUpstream(), true)
  assert.throws(() => Global.restore(bytes), { code: 'DECODE_CORRUPT' })
  const r = Global.restore(bytes, { upstream: { flushAfterRequests: 10 } })
  assert.deepEqual(Buffer.from(r.snapshot()), Buffer.from(bytes))
  assert.deepEqual(r.flushUpstream(2).type, 'sent')
  const [fwd] = drain(r).filter((o) => o.type === 'forward')
  assert.deepEqual(fwd.entries.map((e) => [e.key, e.delta]), [['x', 4]])
})

test('a router keeps its strategy state and draining shards', () => {
  const r = new Router({ strategy: 'round_robin', shardCount: 4 })
  r.route('a')
  r.setShardCount(3)
  const back = Router.restore(r.snapshot())
  assert.deepEqual([back.strategy(), back.shardCount(), back.draining()], ['round_robin', 3, [3]])
  assert.deepEqual([0, 1, 2].map(() => back.route('k')), [0, 1, 2].map(() => r.route('k')))
  const p = Router.restore(new Router({ strategy: 'pinned', pinnedShard: 2, shardCount: 3 }).snapshot())
  assert.equal(p.pinnedShard(), 2)
})
