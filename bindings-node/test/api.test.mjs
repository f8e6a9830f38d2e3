// Every public method of Shard, Global and Router, and the free functions: what each returns
// and how outputs look (plain objects tagged by `type`; number | bigint integers).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Shard, Global, Router, ShardtallyError, keyHash, jumpHash } from 'shardtally'
import { drain, deliverAll } from './helpers.mjs'

test('Shard: inputs, outputs and views', () => {
  const s = new Shard({ shard: 4, incarnation: 2n ** 60n, flushAfterRequests: 5, flushAfterIdleMs: 100, flushMaxAgeMs: 1000, ackTimeoutMs: 50 })
  assert.deepEqual(s.shardRef(), { shard: 4, incarnation: 2n ** 60n })
  assert.equal(s.takeStateChanged(), false)
  assert.deepEqual(s.flush(1), { type: 'nothing_pending' })

  s.increment('b', 2, 10)
  s.increment('a', -1n, 10)
  s.increments({ c: 3 }, 10)
  s.increments([['a', 4], ['a', 1]], 11)
  assert.equal(s.takeStateChanged(), true)
  assert.equal(s.takeStateChanged(), false)
  assert.deepEqual(s.pending(), [
    { key: 'a', generation: 0, delta: 4 },
    { key: 'b', generation: 0, delta: 2 },
    { key: 'c', generation: 0, delta: 3 },
  ])
  assert.equal(s.pendingDelta('a'), 4)
  assert.equal(s.pendingDelta('nope'), 0)
  assert.equal(s.pendingRequests(), 4)
  assert.equal(s.pendingKeys(), 3)
  assert.deepEqual(s.nextDeadline(), { atMs: 111, timer: 'idle' })
  assert.equal(s.pollTimeout(), 111)
  assert.equal(s.pollOutput(), null)
  assert.equal(s.inFlight(), null)

  const id = s.intern('hot')
  assert.equal(s.intern('hot'), id)
  assert.equal(s.keyOf(id), 'hot')
  assert.equal(s.keyOf(id + 100), null)
  s.incrementId(id, 5, 12) // the 5th request: a batch is cut
  const [batch] = drain(s)
  assert.equal(batch.type, 'batch')
  assert.ok(batch.bytes instanceof Uint8Array)
  assert.deepEqual(
    { ...batch, bytes: undefined },
    {
      type: 'batch',
      bytes: undefined,
      shard: 4,
      incarnation: 2n ** 60n,
      seq: 1,
      reason: 'requests',
      entries: [
        { key: 'a', generation: 0, delta: 4 },
        { key: 'b', generation: 0, delta: 2 },
        { key: 'c', generation: 0, delta: 3 },
        { key: 'hot', generation: 0, delta: 5 },
      ],
    },
  )
  assert.equal(s.inFlight().seq, 1)
  assert.deepEqual(s.nextDeadline(), { atMs: 62, timer: 'ack_timeout' })

  // Increments while a batch is in flight accumulate; flush defers.
  s.incrementIds(Uint32Array.of(id, id), Float64Array.of(1, 2), 13)
  s.incrementIds([id], [10n], 13)
  s.incrementIds(Uint32Array.of(id), BigInt64Array.of(-3n), 13)
  assert.equal(s.pendingDelta('hot'), 10)
  assert.deepEqual(s.flush(14), { type: 'deferred', seq: 1 })

  // A failure: the same batch again after the backoff.
  assert.equal(s.handleFailure(2, 15), false)
  assert.equal(s.handleFailure(1, 15), true)
  assert.equal(s.nextDeadline().timer, 'retry')
  s.handleTimeout(s.pollTimeout())
  const [retry] = drain(s)
  assert.deepEqual([retry.seq, retry.reason], [1, 'retry'])

  const g = new Global()
  const ack = g.handleBatch(retry, 20)
  assert.equal(s.handleAck(ack, 20), true) // the object form
  assert.equal(s.handleAck(ack.bytes, 20), false) // a late duplicate is harmless
  const [manual] = drain(s) // the deferred manual flush goes at once
  assert.deepEqual([manual.seq, manual.reason, manual.entries], [2, 'manual', [{ key: 'hot', generation: 0, delta: 10 }]])
  s.handleAck(g.handleBatch(manual.bytes, 21), 21)

  assert.equal(s.isDraining(), false)
  s.increment('z', 1, 30)
  assert.deepEqual(s.drain(31), { type: 'sent', seq: 3 })
  assert.equal(s.isDraining(), true)
  assert.equal(s.isDrained(), false)
  deliverAll(s, g, 31)
  assert.equal(s.isDrained(), true)
  assert.deepEqual(s.drain(32), { type: 'nothing_pending' })
  assert.equal(s.generation(), 0)
  assert.deepEqual(s.stats(), { requests: 9, batches: 3, retries: 1, acks: 3, duplicateAcks: 0, failures: 1, staleDropped: 0, rejectedBatches: 0, rejectedEntries: 0 })
  assert.equal(g.total('hot'), 15)
  assert.ok(s.snapshot() instanceof Uint8Array)
})

test('Shard: generation option and stale pending deltas after a reset', () => {
  const g = new Global()
  const a = new Shard({ shard: 0, incarnation: 1 })
  a.increment('k', 5, 1)
  a.flush(1)
  deliverAll(a, g, 1)
  g.reset('k', 2)
  assert.equal(g.generation(), 1)
  assert.equal(g.keyGeneration('k'), 1)
  const fresh = new Shard({ shard: 1, incarnation: 1, generation: g.generation() })
  assert.equal(fresh.generation(), 1)
  fresh.increment('k', 2, 3)
  fresh.flush(3)
  deliverAll(fresh, g, 3)
  assert.equal(g.total('k'), 2)
  a.increment('k', 9, 4) // accepted before a learns of the reset: never counts
  a.increment('j', 1, 4)
  a.flush(4)
  const [batch] = drain(a)
  const ack = g.handleBatch(batch, 4)
  assert.deepEqual(ack.staleKeys, [{ key: 'k', generation: 1 }])
  a.handleAck(ack, 4)
  assert.equal(a.generation(), 1)
  assert.equal(g.total('k'), 2)
  assert.equal(g.stats().staleDropped, 1)
})

test('Global: publishes, acknowledgements, failures, views', () => {
  const g = new Global({ persistAfterWrites: 2, persistAfterIdleMs: 0, persistMaxAgeMs: 0, publishMode: 'changes', publishTimeoutMs: 100, retryInitialMs: 10, retryMaxMs: 10 })
  assert.deepEqual(g.publish(1), { type: 'nothing_changed' })
  const s = new Shard({ shard: 0, incarnation: 1, flushAfterRequests: 1 })
  s.increment('a', 1, 1)
  const first = g.handleBatch(drain(s)[0], 1)
  assert.deepEqual({ ...first, bytes: undefined }, { type: 'ack', bytes: undefined, shard: 0, incarnation: 1, seq: 1, duplicate: false, generation: 0, staleKeys: [] })
  s.handleAck(first, 1)
  assert.equal(g.takeStateChanged(), true)
  assert.equal(g.pollOutput(), null)
  s.increment('b', 2, 2)
  s.handleAck(g.handleBatch(drain(s)[0], 2), 2)
  const [publish] = drain(g)
  assert.deepEqual(publish, { type: 'publish', version: 1, mode: 'changes', reason: 'writes', entries: [{ key: 'a', total: 1 }, { key: 'b', total: 2 }] })
  assert.deepEqual(g.inFlightPublish(), publish)
  assert.deepEqual(g.nextDeadline(), { atMs: 102, timer: 'publish_timeout' })
  assert.equal(g.pollTimeout(), 102)
  assert.equal(g.handlePublishFailure(7, 3), false)
  assert.equal(g.handlePublishFailure(1, 3), true)
  assert.equal(g.nextDeadline().timer, 'publish_retry')
  assert.deepEqual(g.publish(4), { type: 'deferred' })
  g.handleTimeout(g.pollTimeout())
  const [again] = drain(g)
  assert.deepEqual([again.version, again.reason], [2, 'retry'])
  assert.equal(g.handlePublishAck(2, 20), true)
  assert.equal(g.handlePublishAck(2, 20), false)
  assert.equal(g.publishedVersion(), 2)
  assert.equal(g.inFlightPublish(), null)
  assert.deepEqual(g.totals(), [{ key: 'a', total: 1 }, { key: 'b', total: 2 }])
  assert.equal(g.total('a'), 1)
  assert.equal(g.total('missing'), 0)
  assert.equal(g.lastSeq(0, 1), 2)
  assert.equal(g.lastSeq(0, 2), null)
  assert.deepEqual(g.shardWrites(), [{ shard: 0, writes: 2, deltas: [{ key: 'a', delta: 1 }, { key: 'b', delta: 2 }] }])
  assert.deepEqual(g.reset('a', 21), { type: 'reset', previous: 1, generation: 1 })
  const log = g.writeLog()
  assert.deepEqual(log[0], { type: 'reset', atMs: 21, key: 'a', previous: 1, generation: 1 })
  assert.deepEqual(log[1], { type: 'batch', atMs: 2, shard: 0, incarnation: 1, seq: 2, keys: 1, entries: [{ key: 'b', delta: 2 }], omitted: 0 })
  const stats = g.stats()
  assert.deepEqual([stats.totalWrites, stats.distinctShards, stats.resets, stats.publishes, stats.publishFailures], [2, 1, 1, 3, 1])
  assert.equal(drain(g)[0].reason, 'reset')
  assert.equal(g.hasUpstream(), false)
  assert.ok(g.snapshot() instanceof Uint8Array)
})

test('Global: tiered aggregation forwards merged deltas upstream', () => {
  const top = new Global()
  const mid = new Global({ upstream: { shard: 9, incarnation: 3, flushAfterRequests: 2 } })
  assert.equal(mid.hasUpstream(), true)
  const leaf = new Shard({ shard: 0, incarnation: 1, flushAfterRequests: 1 })
  for (const [i, key] of ['x', 'y'].entries()) {
    leaf.increment(key, i + 1, 5)
    leaf.handleAck(mid.handleBatch(drain(leaf)[0], 5), 5)
  }
  const forwards = drain(mid).filter((o) => o.type === 'forward')
  assert.equal(forwards.length, 1)
  const [fwd] = forwards
  assert.deepEqual([fwd.shard, fwd.incarnation, fwd.seq, fwd.reason], [9, 3, 1, 'requests'])
  assert.deepEqual(fwd.entries.map((e) => [e.key, e.delta]), [['x', 1], ['y', 2]])
  assert.equal(mid.handleUpstreamFailure(1, 6), true)
  mid.handleTimeout(mid.pollTimeout())
  const [resent] = drain(mid).filter((o) => o.type === 'forward')
  assert.equal(resent.reason, 'retry')
  assert.equal(mid.handleUpstreamAck(top.handleBatch(resent, 7), 7), true)
  assert.deepEqual(top.totals(), [{ key: 'x', total: 1 }, { key: 'y', total: 2 }])
  assert.deepEqual(mid.flushUpstream(8), { type: 'nothing_pending' })
})

test('Router: strategies, shard count changes, draining', () => {
  const hash = new Router({ shardCount: 8 })
  assert.equal(hash.strategy(), 'hash')
  assert.equal(hash.pinnedShard(), null)
  assert.equal(hash.shardCount(), 8)
  const home = hash.route('page:/home')
  assert.equal(hash.route('page:/home'), home)
  assert.equal(home, jumpHash(keyHash('page:/home'), 8))
  const rr = new Router({ strategy: 'round_robin', shardCount: 3 })
  assert.deepEqual([0, 1, 2, 3].map(() => rr.route('k')), [0, 1, 2, 0])
  const random = new Router({ strategy: 'random', shardCount: 5, seed: 42 })
  const again = new Router({ strategy: 'random', shardCount: 5, seed: 42n })
  const picks = Array.from({ length: 50 }, () => random.route('k'))
  assert.deepEqual(Array.from({ length: 50 }, () => again.route('k')), picks)
  assert.ok(picks.every((p) => p >= 0 && p < 5))
  const pinned = new Router({ strategy: 'pinned', pinnedShard: 1, shardCount: 4 })
  assert.deepEqual([pinned.strategy(), pinned.pinnedShard(), pinned.route('any')], ['pinned', 1, 1])
  assert.deepEqual(pinned.setShardCount(2), [2, 3])
  assert.deepEqual(pinned.setShardCount(3), [])
  assert.deepEqual(pinned.draining(), [3])
  assert.equal(pinned.markDrained(3), true)
  assert.equal(pinned.markDrained(3), false)
  assert.ok(pinned.snapshot() instanceof Uint8Array)
})

test('keyHash and jumpHash are stable across runs and runtimes', () => {
  assert.equal(typeof keyHash('x'), 'bigint')
  assert.equal(keyHash('x'), keyHash('x'))
  assert.notEqual(keyHash('x'), keyHash('y'))
  assert.equal(jumpHash(123n, 0), 0)
  assert.equal(jumpHash(123, 1), 0)
  for (let n = 1; n < 20; n++) assert.ok(jumpHash(keyHash(`k${n}`), n) < n)
})

test('errors are ShardtallyError instances with a stable code', () => {
  const s = new Shard({ shard: 0, incarnation: 1 })
  try {
    s.increment('', 1, 0)
    assert.fail('no error')
  } catch (e) {
    assert.ok(e instanceof ShardtallyError)
    assert.ok(e instanceof Error)
    assert.equal(e.name, 'ShardtallyError')
    assert.equal(e.code, 'EMPTY_KEY')
    assert.equal(e.message, 'key must not be empty')
    assert.match(String(e.stack), /ShardtallyError|key must not be empty/)
  }
})

test('require and import give the same objects', async () => {
  const { createRequire } = await import('node:module')
  const cjs = createRequire(import.meta.url)('shardtally')
  const esm = await import('shardtally')
  for (const name of ['Shard', 'Global', 'Router', 'ShardtallyError', 'keyHash', 'jumpHash']) {
    assert.equal(typeof cjs[name], 'function', name)
    assert.equal(esm[name], cjs[name], name)
  }
  assert.equal(esm.default, cjs)
})

/** What `f` throws (fails when it returns). */
function thrownBy(f) {
  try {
    f()
  } catch (e) {
    return e
  }
  assert.fail('expected an error')
}

test('Shard: a batch the global rejects for good is dropped, counted, and later batches flow', () => {
  const g = new Global({ maxKeys: 1 })
  const s = new Shard({ shard: 0, incarnation: 1, flushAfterRequests: 1 })
  s.increment('a', 1, 1)
  const [first] = drain(s)
  assert.equal(s.handleAck(g.handleBatch(first, 1), 1), true)
  s.increments({ b: 2, c: 3 }, 2)
  const [rejected] = drain(s)
  const err = thrownBy(() => g.handleBatch(rejected, 3))
  assert.ok(err instanceof ShardtallyError)
  assert.deepEqual([err.code, err.table, err.limit, err.rejectsBatch], ['TABLE_FULL', 'totals', 1, true])
  assert.equal(s.handleRejection(rejected.seq + 1, 3), false, 'only the batch in flight')
  assert.equal(s.handleRejection(rejected.seq, 3), true)
  assert.equal(s.handleRejection(rejected.seq, 3), false, 'once')
  assert.equal(s.inFlight(), null)
  assert.deepEqual([s.stats().rejectedBatches, s.stats().rejectedEntries], [1, 2])
  // The next batch gets the next seq and is applied.
  s.increment('a', 5, 4)
  const [next] = drain(s)
  assert.equal(next.seq, rejected.seq + 1)
  assert.equal(s.handleAck(g.handleBatch(next, 4), 4), true)
  assert.deepEqual(g.totals(), [{ key: 'a', total: 6 }])
})

test('Shard: handleRejection hands buffered increments over first', () => {
  const s = new Shard({ shard: 0, incarnation: 1, flushAfterRequests: 0 })
  s.increment('a', 1, 1)
  s.flush(1)
  const [batch] = drain(s)
  // Same nowMs and a batch in flight: these are buffered in JavaScript; they must be in the
  // native shard before the rejection, and stay pending after it.
  for (let i = 0; i < 6; i++) s.increment('b', 1, 2)
  assert.equal(s.handleRejection(batch.seq, 2), true)
  assert.equal(s.pendingDelta('b'), 6)
  assert.equal(s.pendingRequests(), 6)
  assert.equal(s.stats().rejectedEntries, 1)
})

test('ShardtallyError.rejectsBatch: core decides, binding-level errors are false', () => {
  const s = new Shard({ shard: 0, incarnation: 1, flushAfterRequests: 1 })
  s.increment('k'.repeat(9), 1, 1)
  const [batch] = drain(s)
  const long = thrownBy(() => new Global({ maxKeyBytes: 8 }).handleBatch(batch, 1))
  assert.deepEqual([long.code, long.rejectsBatch], ['KEY_TOO_LONG', true])
  const cases = [
    () => s.handleRejection('x', 1),
    () => s.handleRejection(1, -1),
    () => s.increment('', 1, 1),
    () => new Global({ maxKeys: 0 }),
    () => Shard.restore(new Uint8Array([1])),
    () => new Global().handleUpstreamFailure(1, 1),
  ]
  assert.deepEqual(
    cases.map((f) => thrownBy(f)).map((e) => [e.code, e.rejectsBatch]),
    [['INVALID_ARGUMENT', false], ['INVALID_TIME', false], ['EMPTY_KEY', false], ['CONFIG_ZERO', false], ['DECODE_WRONG_KIND', false], ['NO_UPSTREAM', false]],
  )
  assert.equal(new ShardtallyError('m', 'X').rejectsBatch, false)
  assert.equal(new ShardtallyError('m', 'X', { rejectsBatch: true }).rejectsBatch, true)
})
