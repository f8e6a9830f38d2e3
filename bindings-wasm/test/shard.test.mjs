// Every public method of Shard, through the package's Node entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Shard, Global, ShardtallyError } from 'shardtally-wasm';
import { deliverAll, entriesOf } from './host.mjs';

const methods = [
  'config', 'drain', 'flush', 'generation', 'handleAck', 'handleFailure', 'handleGenerationNotice', 'handleRejection', 'handleTimeout',
  'inFlight', 'increment', 'incrementId', 'incrementIds', 'increments', 'incrementsCoalesced', 'intern', 'isDrained', 'isDraining', 'keyOf',
  'nextDeadline', 'pending', 'pendingDelta', 'pendingKeys', 'pendingRequests', 'pollOutput', 'pollTimeout', 'rows',
  'shardRef', 'snapshot', 'stats', 'takeChanges', 'takeStateChanged',
];

test('Shard exposes exactly the documented methods', () => {
  const own = Object.getOwnPropertyNames(Shard.prototype).filter((n) => n !== 'constructor');
  assert.deepEqual(own.sort(), [...methods].sort());
  assert.equal(typeof Shard.restore, 'function');
});

test('a new shard has its identity, defaults and nothing pending', () => {
  const s = new Shard({ shard: 3, incarnation: 42 });
  assert.deepEqual(s.shardRef(), { shard: 3, incarnation: 42 });
  assert.deepEqual(s.pending(), []);
  assert.equal(s.pendingRequests(), 0);
  assert.equal(s.pendingKeys(), 0);
  assert.equal(s.inFlight(), null);
  assert.equal(s.nextDeadline(), null);
  assert.equal(s.pollTimeout(), null);
  assert.equal(s.pollOutput(), null);
  assert.equal(s.generation(), 0);
  assert.equal(s.isDraining(), false);
  assert.equal(s.isDrained(), false);
  assert.equal(s.takeStateChanged(), false);
  assert.deepEqual(s.stats(), { requests: 0, batches: 0, retries: 0, acks: 0, duplicateAcks: 0, failures: 0, staleDropped: 0, rejectedBatches: 0, rejectedEntries: 0 });
  const big = new Shard({ shard: 0, incarnation: 2n ** 60n, generation: 5 });
  assert.deepEqual(big.shardRef(), { shard: 0, incarnation: 2n ** 60n }, 'incarnations beyond 2^53 come back as bigint');
  assert.equal(big.generation(), 5);
});

test('increment, increments and the pending views', () => {
  const s = new Shard({ shard: 0, incarnation: 1 });
  s.increment('b', 2, 10);
  s.increments({ a: 1, b: 3n }, 11);
  s.increments([['c', -4], ['a', 1]], 12);
  s.increments(new Map([['d', 7]]), 13);
  s.increments({}, 14); // an empty request changes nothing
  assert.deepEqual(s.pending(), [
    { key: 'a', generation: 0, delta: 2 },
    { key: 'b', generation: 0, delta: 5 },
    { key: 'c', generation: 0, delta: -4 },
    { key: 'd', generation: 0, delta: 7 },
  ]);
  assert.equal(s.pendingDelta('b'), 5);
  assert.equal(s.pendingDelta('zzz'), 0);
  assert.equal(s.pendingRequests(), 4);
  assert.equal(s.pendingKeys(), 4);
  assert.equal(s.takeStateChanged(), true);
  assert.equal(s.takeStateChanged(), false, 'the flag is taken');
  assert.deepEqual(s.nextDeadline(), { atMs: 13 + 5000, timer: 'idle' });
  assert.equal(s.pollTimeout(), 13 + 5000);
  assert.equal(s.stats().requests, 4);
});

test('deltas beyond 2^53 travel as bigint, exactly', () => {
  const s = new Shard({ shard: 0, incarnation: 1 });
  s.increment('x', 2n ** 62n, 0);
  s.increment('x', 1, 0);
  assert.equal(s.pendingDelta('x'), 2n ** 62n + 1n);
  s.increment('y', -(2n ** 63n), 0);
  assert.equal(s.pendingDelta('y'), -(2n ** 63n));
});

test('intern, incrementId, incrementIds and keyOf', () => {
  const s = new Shard({ shard: 0, incarnation: 1 });
  const a = s.intern('a');
  const b = s.intern('b');
  assert.equal(s.intern('a'), a, 'interning twice gives the same id');
  assert.notEqual(a, b);
  assert.equal(s.keyOf(a), 'a');
  assert.equal(s.keyOf(999), null);
  s.incrementId(a, 5, 0);
  s.incrementIds(new Uint32Array([a, b, a]), new Float64Array([1, 2, 3]), 1);
  s.incrementIds([b], new BigInt64Array([10n]), 2);
  s.incrementIds([a, b], [1, 2n], 3);
  s.incrementIds(new Uint32Array(0), new Float64Array(0), 4); // empty: not a request
  assert.equal(s.pendingDelta('a'), 10);
  assert.equal(s.pendingDelta('b'), 14);
  assert.equal(s.pendingRequests(), 4);
});

test('flush sends, defers while in flight, and reports nothing pending', () => {
  const s = new Shard({ shard: 1, incarnation: 7 });
  assert.deepEqual(s.flush(0), { type: 'nothing_pending' });
  assert.equal(s.pollOutput(), null);
  s.increment('x', 3, 0);
  assert.deepEqual(s.flush(1), { type: 'sent', seq: 1 });
  const batch = s.pollOutput();
  assert.equal(batch.type, 'batch');
  assert.ok(batch.bytes instanceof Uint8Array);
  assert.deepEqual({ ...batch, bytes: null }, {
    type: 'batch', bytes: null, shard: 1, incarnation: 7, seq: 1, reason: 'manual',
    entries: [{ key: 'x', generation: 0, delta: 3 }],
  });
  assert.equal(s.pollOutput(), null);
  assert.deepEqual({ ...s.inFlight(), bytes: null }, { ...batch, bytes: null });
  assert.deepEqual(s.inFlight().bytes, batch.bytes);
  assert.deepEqual(s.nextDeadline(), { atMs: 1 + 10000, timer: 'ack_timeout' });
  s.increment('y', 1, 2);
  assert.deepEqual(s.flush(3), { type: 'deferred', seq: 1 });
  assert.equal(s.pollOutput(), null, 'single flight');
  const g = new Global();
  const ack = g.handleBatch(batch.bytes, 4);
  assert.equal(s.handleAck(ack.bytes, 4), true);
  const next = s.pollOutput();
  assert.equal(next.seq, 2, 'the deferred flush goes out on the ack');
  assert.deepEqual(entriesOf(next), { y: 1 });
  assert.equal(s.stats().batches, 2);
});

test('handleFailure and handleTimeout re-send the same batch', () => {
  const s = new Shard({ shard: 0, incarnation: 1, retryJitterPercent: 0 });
  s.increment('x', 1, 0);
  s.flush(0);
  const first = s.pollOutput();
  assert.equal(s.handleFailure(99, 10), false, 'unknown seq');
  assert.equal(s.handleFailure(first.seq, 10), true);
  assert.equal(s.handleFailure(first.seq, 10), false, 'already backing off');
  assert.deepEqual(s.nextDeadline(), { atMs: 10 + 1000, timer: 'retry' });
  s.handleTimeout(500); // early: nothing
  assert.equal(s.pollOutput(), null);
  s.handleTimeout(1010);
  const again = s.pollOutput();
  assert.equal(again.seq, first.seq);
  assert.equal(again.reason, 'retry');
  assert.deepEqual(again.entries, first.entries);
  assert.deepEqual(again.bytes.length > 0, true);
  s.handleTimeout(1010); // twice: nothing more
  assert.equal(s.pollOutput(), null);
  // No answer at all: the ack timeout fails it, then the retry timer re-sends.
  s.handleTimeout(1010 + 10000);
  assert.equal(s.nextDeadline().timer, 'retry');
  s.handleTimeout(s.pollTimeout());
  assert.equal(s.pollOutput().seq, first.seq);
  assert.deepEqual(s.stats(), { requests: 1, batches: 1, retries: 2, acks: 0, duplicateAcks: 0, failures: 2, staleDropped: 0, rejectedBatches: 0, rejectedEntries: 0 });
});

test('handleRejection drops a batch the global rejects for good; later batches flow', () => {
  const g = new Global({ maxKeys: 1 });
  const s = new Shard({ shard: 0, incarnation: 1, flushAfterRequests: 1 });
  s.increment('a', 1, 1);
  assert.equal(s.handleAck(g.handleBatch(s.pollOutput(), 1), 1), true);
  s.increments({ b: 2, c: 3 }, 2);
  const rejected = s.pollOutput();
  let err = null;
  try {
    g.handleBatch(rejected, 3);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ShardtallyError);
  assert.deepEqual([err.code, err.table, err.limit, err.rejectsBatch], ['TABLE_FULL', 'totals', 1, true]);
  assert.equal(s.handleRejection(rejected.seq + 1, 3), false, 'only the batch in flight');
  assert.equal(s.handleRejection(rejected.seq, 3), true);
  assert.equal(s.handleRejection(rejected.seq, 3), false, 'once');
  assert.equal(s.inFlight(), null);
  assert.equal(s.pollOutput(), null);
  assert.deepEqual([s.stats().rejectedBatches, s.stats().rejectedEntries], [1, 2]);
  s.increment('a', 5, 4);
  const next = s.pollOutput();
  assert.equal(next.seq, rejected.seq + 1);
  assert.equal(s.handleAck(g.handleBatch(next, 4), 4), true);
  assert.deepEqual(g.totals(), [{ key: 'a', total: 6 }]);
  const restored = Shard.restore(s.snapshot());
  assert.deepEqual([restored.stats().rejectedBatches, restored.stats().rejectedEntries], [1, 2], 'kept across snapshots');
});

test('rejectsBatch is core\'s verdict; binding-level errors carry false', () => {
  const thrown = (f) => {
    try {
      f();
    } catch (e) {
      return [e.code, e.rejectsBatch];
    }
    assert.fail('expected an error');
  };
  const s = new Shard({ shard: 0, incarnation: 1, flushAfterRequests: 1 });
  s.increment('k'.repeat(9), 1, 1);
  const batch = s.pollOutput();
  assert.deepEqual(thrown(() => new Global({ maxKeyBytes: 8 }).handleBatch(batch, 1)), ['KEY_TOO_LONG', true]);
  assert.deepEqual(thrown(() => s.handleRejection('x', 1)), ['INVALID_ARGUMENT', false]);
  assert.deepEqual(thrown(() => s.handleRejection(1, -1)), ['INVALID_TIME', false]);
  assert.deepEqual(thrown(() => s.increment('', 1, 1)), ['EMPTY_KEY', false]);
  assert.deepEqual(thrown(() => new Global({ maxKeys: 0 })), ['CONFIG_ZERO', false]);
  assert.deepEqual(thrown(() => Shard.restore(new Uint8Array([1]))), ['DECODE_WRONG_KIND', false]);
  assert.deepEqual(thrown(() => new Global().handleUpstreamFailure(1, 1)), ['NO_UPSTREAM', false]);
  assert.equal(new ShardtallyError('m', 'X').rejectsBatch, false);
});

test('handleAck learns the generation and rejects acks for another shard', () => {
  const g = new Global();
  const s0 = new Shard({ shard: 0, incarnation: 1 });
  const s1 = new Shard({ shard: 1, incarnation: 1 });
  s0.increment('x', 1, 0);
  s0.flush(0);
  const ack = g.handleBatch(s0.pollOutput().bytes, 1);
  assert.throws(() => s1.handleAck(ack.bytes, 1), (e) => e.code === 'WRONG_SHARD'
    && e.expected.shard === 1 && e.got.shard === 0 && e.got.incarnation === 1);
  assert.equal(s0.handleAck(ack.bytes, 1), true);
  assert.equal(s0.handleAck(ack.bytes, 1), false, 'a late duplicate ack is harmless');
  g.reset('x', 2);
  s0.increment('x', 1, 3);
  s0.flush(3);
  const ack2 = g.handleBatch(s0.pollOutput().bytes, 4);
  assert.deepEqual(ack2.staleKeys, [{ key: 'x', generation: 1 }]);
  s0.handleAck(ack2.bytes, 4);
  assert.equal(s0.generation(), 1);
  assert.equal(s0.stats().acks, 2);
});

test('drain flushes until drained', () => {
  const g = new Global();
  const s = new Shard({ shard: 2, incarnation: 1 });
  s.increment('x', 7, 0);
  assert.deepEqual(s.drain(1), { type: 'sent', seq: 1 });
  assert.equal(s.isDraining(), true);
  assert.equal(s.isDrained(), false);
  s.increment('x', 1, 2); // still accepted while draining
  deliverAll(s, g, 3);
  assert.equal(g.total('x'), 8);
  assert.equal(s.isDrained(), true);
  assert.deepEqual(s.drain(4), { type: 'nothing_pending' });
});

test('snapshot and restore keep pending deltas, ids, in-flight batch and deadlines', () => {
  const s = new Shard({ shard: 4, incarnation: 9, flushAfterIdleMs: 300 });
  const id = s.intern('hot');
  s.increment('x', 5, 100);
  s.flush(100);
  const sent = s.pollOutput();
  s.increment('y', 2, 150);
  s.incrementId(id, 3, 160);
  const bytes = s.snapshot();
  assert.ok(bytes instanceof Uint8Array);
  const r = Shard.restore(bytes, { flushAfterIdleMs: 300 });
  assert.deepEqual(r.shardRef(), { shard: 4, incarnation: 9 });
  assert.deepEqual(r.pending(), s.pending());
  assert.equal(r.keyOf(id), 'hot');
  assert.equal(r.pollTimeout(), s.pollTimeout());
  assert.deepEqual(r.nextDeadline(), s.nextDeadline());
  assert.deepEqual(r.stats(), s.stats());
  const offered = r.pollOutput();
  assert.equal(offered.seq, sent.seq, 'the in-flight batch is offered again');
  assert.equal(offered.reason, 'retry');
  assert.deepEqual(offered.entries, sent.entries);
  assert.deepEqual(Shard.restore(Buffer.from(bytes), { flushAfterIdleMs: 300 }).pending(), s.pending(), 'a Buffer is accepted');
  assert.deepEqual(r.snapshot().length > 0, true);
});
