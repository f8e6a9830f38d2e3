// Every public method of Global, including tiered aggregation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Global, Shard } from 'shardtally-wasm';
import { deliverAll, drainOutputs, entriesOf, totalsOf } from './host.mjs';

const methods = [
  'config', 'flushUpstream', 'generation', 'generationNotice', 'handleBatch', 'handleGenerationNotice', 'handlePublishAck',
  'handlePublishFailure', 'handleTimeout', 'handleUpstreamAck', 'handleUpstreamFailure', 'handleUpstreamRejection', 'hasUpstream', 'inFlightPublish',
  'keyGeneration', 'lastSeq', 'nextDeadline', 'pollOutput', 'pollTimeout', 'publish', 'publishedVersion', 'reset', 'rows',
  'shardWrites', 'snapshot', 'stats', 'takeChanges', 'takeStateChanged', 'total', 'totals', 'writeLog',
];

function batchOf(shard, increments, nowMs) {
  shard.increments(increments, nowMs);
  shard.flush(nowMs);
  return shard.pollOutput();
}

test('Global exposes exactly the documented methods', () => {
  const own = Object.getOwnPropertyNames(Global.prototype).filter((n) => n !== 'constructor');
  assert.deepEqual(own.sort(), [...methods].sort());
  assert.equal(typeof Global.restore, 'function');
});

test('an empty global', () => {
  const g = new Global();
  assert.deepEqual(g.totals(), []);
  assert.equal(g.total('x'), 0);
  assert.deepEqual(g.writeLog(), []);
  assert.deepEqual(g.shardWrites(), []);
  assert.equal(g.publishedVersion(), 0);
  assert.equal(g.inFlightPublish(), null);
  assert.equal(g.generation(), 0);
  assert.equal(g.keyGeneration('x'), 0);
  assert.equal(g.lastSeq(0, 1), null);
  assert.equal(g.nextDeadline(), null);
  assert.equal(g.pollTimeout(), null);
  assert.equal(g.pollOutput(), null);
  assert.equal(g.takeStateChanged(), false);
  assert.deepEqual(g.publish(0), { type: 'nothing_changed' });
  assert.deepEqual(g.stats(), {
    totalWrites: 0, distinctShards: 0, duplicates: 0, staleDropped: 0, resets: 0, publishes: 0,
    publishFailures: 0, dedupEvictions: 0, untrackedShardWrites: 0,
  });
});

test('handleBatch applies once and acknowledges with the documented shape', () => {
  const g = new Global();
  const s = new Shard({ shard: 2, incarnation: 5 });
  const batch = batchOf(s, { a: 1, b: 2 }, 10);
  const ack = g.handleBatch(batch.bytes, 20);
  assert.ok(ack.bytes instanceof Uint8Array);
  assert.deepEqual({ ...ack, bytes: null }, {
    type: 'ack', bytes: null, shard: 2, incarnation: 5, seq: 1, duplicate: false, generation: 0, staleKeys: [],
  });
  assert.equal(g.takeStateChanged(), true);
  const again = g.handleBatch(batch.bytes, 21);
  assert.equal(again.duplicate, true);
  assert.deepEqual(totalsOf(g), { a: 1, b: 2 }, 'a duplicate is not applied');
  assert.equal(g.lastSeq(2, 5), 1);
  assert.equal(g.lastSeq(2, 6), null);
  assert.equal(g.stats().duplicates, 1);
  assert.deepEqual(g.writeLog(), [{
    type: 'batch', atMs: 20, shard: 2, incarnation: 5, seq: 1, keys: 2,
    entries: [{ key: 'a', delta: 1 }, { key: 'b', delta: 2 }], omitted: 0,
  }]);
  assert.deepEqual(g.shardWrites(), [{ shard: 2, writes: 1, deltas: [{ key: 'a', delta: 1 }, { key: 'b', delta: 2 }] }]);
  assert.deepEqual(g.nextDeadline(), { atMs: 20 + 5000, timer: 'idle' }, 'a duplicate does not re-arm the idle timer');
});

test('publish, handlePublishAck, handlePublishFailure and the publish timers', () => {
  const g = new Global({ publishMode: 'changes', retryJitterPercent: 0 });
  const s = new Shard({ shard: 0, incarnation: 1 });
  g.handleBatch(batchOf(s, { a: 1, b: 2 }, 0).bytes, 0);
  assert.deepEqual(g.publish(1), { type: 'sent', version: 1 });
  const [p1] = drainOutputs(g);
  assert.deepEqual(p1, { type: 'publish', version: 1, mode: 'changes', reason: 'manual', entries: [{ key: 'a', total: 1 }, { key: 'b', total: 2 }] });
  assert.deepEqual(g.inFlightPublish(), p1);
  assert.deepEqual(g.nextDeadline(), { atMs: 1 + 10000, timer: 'publish_timeout' });
  assert.equal(g.handlePublishAck(99, 2), false);
  assert.equal(g.handlePublishFailure(1, 2), true);
  assert.equal(g.nextDeadline().timer, 'publish_retry');
  assert.equal(g.nextDeadline().atMs, 2 + 1000);
  g.handleTimeout(g.pollTimeout());
  const [p2] = drainOutputs(g);
  assert.equal(p2.reason, 'retry');
  assert.equal(p2.version, 2);
  assert.deepEqual(p2.entries, p1.entries, 'a failed publish loses no change');
  assert.equal(g.handlePublishAck(2, 1004), true);
  assert.equal(g.publishedVersion(), 2);
  assert.equal(g.inFlightPublish(), null);
  // Only changed keys in 'changes' mode.
  s.handleAck(g.handleBatch(s.inFlight().bytes, 1005).bytes, 1005);
  g.handleBatch(batchOf(s, { b: 5 }, 1006).bytes, 1006);
  g.publish(1007);
  assert.deepEqual(drainOutputs(g)[0].entries, [{ key: 'b', total: 7 }]);
  assert.equal(g.stats().publishFailures, 1);
});

test('persistAfterWrites and the idle publish', () => {
  const g = new Global({ persistAfterWrites: 2, persistAfterIdleMs: 100 });
  for (let i = 0; i < 2; i++) {
    const s = new Shard({ shard: i, incarnation: 1 });
    g.handleBatch(batchOf(s, { x: 1 }, 0).bytes, 10);
  }
  const [p] = drainOutputs(g);
  assert.equal(p.reason, 'writes');
  g.handlePublishAck(p.version, 11);
  const s = new Shard({ shard: 9, incarnation: 1 });
  g.handleBatch(batchOf(s, { y: 1 }, 20).bytes, 20);
  assert.deepEqual(g.nextDeadline(), { atMs: 120, timer: 'idle' });
  g.handleTimeout(119);
  assert.equal(g.pollOutput(), null, 'early timeout does nothing');
  g.handleTimeout(120);
  assert.equal(drainOutputs(g)[0].reason, 'idle');
});

test('reset drops stale deltas and publishes', () => {
  const g = new Global();
  const s = new Shard({ shard: 0, incarnation: 1 });
  g.handleBatch(batchOf(s, { x: 10 }, 0).bytes, 0);
  assert.deepEqual(g.reset('x', 1), { type: 'reset', previous: 10, generation: 1 });
  assert.deepEqual(g.reset('x', 2), { type: 'not_defined' });
  assert.deepEqual(g.reset('never', 2), { type: 'not_defined' });
  assert.equal(g.keyGeneration('x'), 1);
  assert.equal(g.generation(), 1);
  const outs = drainOutputs(g);
  const publish = outs.find((o) => o.type === 'publish');
  assert.equal(publish.reason, 'reset');
  assert.deepEqual(publish.entries, [{ key: 'x', total: 0 }]);
  // Every shard the global knows is told at once (its notice's bytes go to handleGenerationNotice).
  const notice = outs.find((o) => o.type === 'notice');
  assert.deepEqual({ ...notice, bytes: undefined }, { type: 'notice', bytes: undefined, shard: 0, incarnation: 1, generation: 1, keys: [{ key: 'x', generation: 1 }] });
  assert.equal(s.handleGenerationNotice(notice.bytes, 3), true);
  assert.equal(s.generation(), 1);
  assert.deepEqual(g.writeLog()[0], { type: 'reset', atMs: 1, key: 'x', previous: 10, generation: 1 });
  assert.equal(g.stats().resets, 1);
});

test('snapshot and restore keep totals, dedup state and the in-flight publish', () => {
  const g = new Global({ persistAfterWrites: 1 });
  const s = new Shard({ shard: 0, incarnation: 1 });
  const batch = batchOf(s, { x: 3 }, 0);
  g.handleBatch(batch.bytes, 5);
  const [p] = drainOutputs(g);
  const r = Global.restore(g.snapshot(), { persistAfterWrites: 1 });
  assert.deepEqual(r.totals(), g.totals());
  assert.deepEqual(r.writeLog(), g.writeLog());
  assert.deepEqual(r.shardWrites(), g.shardWrites());
  assert.deepEqual(r.stats(), g.stats());
  assert.deepEqual(r.nextDeadline(), g.nextDeadline());
  assert.deepEqual(r.pollOutput(), p, 'the in-flight publish is offered again');
  assert.equal(r.handleBatch(batch.bytes, 6).duplicate, true, 'dedup survives the restore');
});

test('tiered aggregation forwards applied deltas upstream', () => {
  const top = new Global();
  const mid = new Global({ upstream: { shard: 7, incarnation: 3, flushAfterRequests: 1 } });
  const s = new Shard({ shard: 0, incarnation: 1 });
  mid.handleBatch(batchOf(s, { x: 2, y: 1 }, 0).bytes, 1);
  const outs = drainOutputs(mid);
  const fwd = outs.find((o) => o.type === 'forward');
  assert.ok(fwd, `a forward output among ${JSON.stringify(outs.map((o) => o.type))}`);
  assert.deepEqual({ shard: fwd.shard, incarnation: fwd.incarnation, seq: fwd.seq }, { shard: 7, incarnation: 3, seq: 1 });
  assert.deepEqual(entriesOf(fwd), { x: 2, y: 1 });
  const ack = top.handleBatch(fwd.bytes, 2);
  assert.equal(mid.handleUpstreamAck(ack.bytes, 2), true);
  assert.deepEqual(totalsOf(top), { x: 2, y: 1 });
  assert.deepEqual(mid.flushUpstream(3), { type: 'nothing_pending' });
  assert.equal(mid.handleUpstreamFailure(1, 3), false, 'nothing in flight');
  // A tiered snapshot restores with the upstream settings.
  const r = Global.restore(mid.snapshot(), { upstream: { flushAfterRequests: 1 } });
  assert.deepEqual(r.totals(), mid.totals());
  // A plain global has no upstream.
  assert.throws(() => top.flushUpstream(4), (e) => e.code === 'NO_UPSTREAM');
  assert.throws(() => top.handleUpstreamFailure(1, 4), (e) => e.code === 'NO_UPSTREAM');
  assert.throws(() => top.handleUpstreamAck(ack.bytes, 4), (e) => e.code === 'NO_UPSTREAM');
});

test('many small batches keep shard and global consistent', () => {
  const g = new Global();
  const s = new Shard({ shard: 0, incarnation: 1, flushAfterRequests: 2 });
  for (let i = 0; i < 10; i++) {
    s.increment(`k${i % 3}`, i, i);
    deliverAll(s, g, i);
  }
  assert.deepEqual(totalsOf(g), { k0: 0 + 3 + 6 + 9, k1: 1 + 4 + 7, k2: 2 + 5 + 8 });
});

test('keyed lists keep non-ASCII keys and values beyond 2^53 exact', () => {
  const g = new Global({ persistAfterWrites: 1 });
  const s = new Shard({ shard: 0, incarnation: 1 });
  const keys = ['a', 'ключ', '🦀x', 'é', '日本', 'z'];
  s.increments(keys.map((k, i) => [k, i + 1]), 0);
  assert.deepEqual(s.pending().map((e) => e.key), [...keys].sort(), 'pending keys survive packing');
  s.flush(0);
  const batch = s.pollOutput();
  assert.deepEqual(batch.entries.map((e) => [e.key, e.delta]), [...keys].sort().map((k) => [k, keys.indexOf(k) + 1]));
  s.handleAck(g.handleBatch(batch.bytes, 1).bytes, 1);
  assert.deepEqual(g.totals().map((e) => e.key), [...keys].sort());
  const [p] = drainOutputs(g);
  assert.deepEqual(p.entries.map((e) => e.key), [...keys].sort());
  g.handlePublishAck(p.version, 1);
  // One value beyond 2^53 switches the whole list to exact per-entry conversion.
  s.increments([['big', 2n ** 60n], ['small', 1], ['ключ', -(2n ** 62n)]], 2);
  assert.deepEqual(s.pending(), [
    { key: 'big', generation: 0, delta: 2n ** 60n },
    { key: 'small', generation: 0, delta: 1 },
    { key: 'ключ', generation: 0, delta: -(2n ** 62n) },
  ]);
  s.flush(2);
  const big = s.pollOutput();
  assert.deepEqual(big.entries.map((e) => e.delta), [2n ** 60n, 1, -(2n ** 62n)]);
  s.handleAck(g.handleBatch(big.bytes, 3).bytes, 3);
  assert.deepEqual(totalsOf(g), { a: 1, big: 2n ** 60n, small: 1, z: 6, é: 4, ключ: 2n - 2n ** 62n, '日本': 5, '🦀x': 3 });
  assert.equal(g.writeLog()[0].entries[0].delta, 2n ** 60n);
  assert.deepEqual(g.shardWrites()[0].deltas.find((d) => d.key === 'big'), { key: 'big', delta: 2n ** 60n });
  assert.equal(drainOutputs(g)[0].entries.find((e) => e.key === 'big').total, 2n ** 60n);
});

test('hasUpstream: only a tiered global forwards', () => {
  assert.equal(new Global().hasUpstream(), false);
  const tiered = new Global({ upstream: { shard: 0, incarnation: 1 } });
  assert.equal(tiered.hasUpstream(), true);
  assert.equal(Global.restore(tiered.snapshot(), { upstream: {} }).hasUpstream(), true);
});

test('handleBatch and handleAck take the output objects as well as their bytes', () => {
  const s = new Shard({ shard: 0, incarnation: 1 });
  const g = new Global();
  s.increment('a', 2, 1);
  s.flush(1);
  const batch = s.pollOutput();
  const ack = g.handleBatch(batch, 2);
  assert.equal(ack.duplicate, false);
  assert.equal(g.handleBatch(batch.bytes, 2).duplicate, true);
  assert.equal(s.handleAck(ack, 3), true);
  assert.equal(s.handleAck(ack.bytes, 3), false);
  assert.equal(g.total('a'), 2);
  assert.throws(() => g.handleBatch({ bytes: 'x' }, 4), (e) => e.code === 'INVALID_ARGUMENT' && e.argument === 'batch' && e.expected === 'a Uint8Array');
  assert.equal(g.total('a'), 2);
});
