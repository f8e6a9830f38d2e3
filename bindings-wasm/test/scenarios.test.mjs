// SPEC §11 acceptance scenarios 1-7 (time in ms), driven through the wasm package.
// Shard 100/5000/60000 and global 100/5000/60000 (the defaults) unless stated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Global, Router, Shard } from 'shardtally-wasm';
import { deliverAll, drainOutputs, entriesOf, totalsOf } from './host.mjs';

/**
 * Jumps the clock from deadline to deadline up to `untilMs`, firing each; every batch
 * emitted is delivered to `global` and acknowledged at once. Returns the batches with
 * their send time.
 */
function runTimers(shard, global, untilMs) {
  const sent = [];
  for (let at = shard.pollTimeout(); at !== null && at <= untilMs; at = shard.pollTimeout()) {
    shard.handleTimeout(at);
    for (let out = shard.pollOutput(); out !== null; out = shard.pollOutput()) {
      sent.push({ at, batch: out });
      shard.handleAck(global.handleBatch(out.bytes, at).bytes, at);
    }
  }
  return sent;
}

test('1: the 100th increment emits a batch {x: 100} (requests); no idle flush follows', () => {
  const shard = new Shard({ shard: 0, incarnation: 1 });
  const global = new Global();
  for (let i = 0; i < 99; i++) {
    shard.increment('x', 1, i);
    assert.equal(shard.pollOutput(), null, `no batch after increment ${i + 1}`);
  }
  shard.increment('x', 1, 99);
  const batch = shard.pollOutput();
  assert.equal(batch.reason, 'requests');
  assert.deepEqual(entriesOf(batch), { x: 100 });
  const ack = global.handleBatch(batch.bytes, 99);
  shard.handleAck(ack.bytes, 99);
  assert.deepEqual(runTimers(shard, global, 1_000_000), [], 'no idle flush follows');
  assert.equal(shard.pollTimeout(), null);
  assert.equal(global.total('x'), 100);
});

test('2: increments at 0, 4000, 8000 flush once at 13000 (idle); max age 10000 flushes at 10000', () => {
  for (const [options, expectedAt, reason] of [[{}, 13_000, 'idle'], [{ flushMaxAgeMs: 10_000 }, 10_000, 'max_age']]) {
    const shard = new Shard({ shard: 0, incarnation: 1, ...options });
    const global = new Global();
    shard.increment('x', 1, 0);
    shard.increment('x', 1, 4000);
    shard.handleTimeout(5000);
    assert.equal(shard.pollOutput(), null, 'nothing at 5000');
    shard.increment('x', 1, 8000);
    shard.handleTimeout(9000);
    assert.equal(shard.pollOutput(), null, 'nothing at 9000');
    assert.equal(shard.pollTimeout(), expectedAt);
    shard.handleTimeout(expectedAt - 1);
    assert.equal(shard.pollOutput(), null);
    const sent = runTimers(shard, global, 20_000);
    assert.equal(sent.length, 1, JSON.stringify(options));
    assert.equal(sent[0].at, expectedAt);
    assert.equal(sent[0].batch.reason, reason);
    assert.deepEqual(entriesOf(sent[0].batch), { x: 3 });
    assert.equal(global.total('x'), 3);
  }
});

test('3: seq 7 applied but its ack lost; the re-sent seq 7 is acknowledged, totals unchanged', () => {
  const shard = new Shard({ shard: 0, incarnation: 1 });
  const global = new Global();
  for (let i = 1; i <= 6; i++) {
    shard.increment('x', 1, i * 10);
    shard.flush(i * 10);
    deliverAll(shard, global, i * 10);
  }
  shard.increment('x', 1, 100);
  assert.deepEqual(shard.flush(100), { type: 'sent', seq: 7 });
  const seq7 = shard.pollOutput();
  const lost = global.handleBatch(seq7.bytes, 101);
  assert.equal(lost.duplicate, false);
  const totals = global.totals();
  // No ack arrives: the ack timeout fails the batch, then the retry re-sends seq 7.
  shard.handleTimeout(100 + 10_000);
  shard.handleTimeout(shard.pollTimeout());
  const resent = shard.pollOutput();
  assert.equal(resent.seq, 7);
  assert.equal(resent.reason, 'retry');
  const ack = global.handleBatch(resent.bytes, shard.pollTimeout() ?? 20_000);
  assert.equal(ack.duplicate, true);
  assert.equal(ack.seq, 7);
  assert.equal(shard.handleAck(ack.bytes, 20_000), true);
  assert.deepEqual(global.totals(), totals, 'totals unchanged');
  assert.equal(global.total('x'), 7);
  assert.equal(shard.inFlight(), null);
});

test('4: a failed batch is re-sent unchanged; 2 later increments go in the next batch; totals exact', () => {
  const shard = new Shard({ shard: 0, incarnation: 1 });
  const global = new Global();
  shard.increments({ x: 5, y: 1 }, 0);
  shard.flush(0);
  const first = shard.pollOutput();
  assert.equal(shard.handleFailure(first.seq, 10), true);
  shard.increment('x', 2, 20);
  shard.increment('z', 3, 30);
  shard.handleTimeout(shard.pollTimeout());
  const retry = shard.pollOutput();
  assert.equal(retry.seq, first.seq);
  assert.deepEqual(retry.entries, first.entries, 'the same batch, nothing merged in');
  const at = 2000;
  shard.handleAck(global.handleBatch(retry.bytes, at).bytes, at);
  // The 2 new increments are still pending and leave in the next batch.
  assert.deepEqual(shard.pending().map((e) => [e.key, e.delta]), [['x', 2], ['z', 3]]);
  const next = runTimers(shard, global, 100_000);
  assert.equal(next.length, 1);
  assert.equal(next[0].batch.seq, first.seq + 1);
  assert.deepEqual(entriesOf(next[0].batch), { x: 2, z: 3 });
  assert.deepEqual(totalsOf(global), { x: 7, y: 1, z: 3 });
});

test('5: reset while a shard holds a pending delta: the pending delta never counts; a publish shows 0', () => {
  const global = new Global();
  const shard = new Shard({ shard: 0, incarnation: 1 });
  shard.increment('x', 10, 0);
  shard.flush(0);
  deliverAll(shard, global, 0);
  assert.equal(global.total('x'), 10);
  shard.increment('x', 5, 10); // pending, accepted before the shard learns of the reset
  assert.deepEqual(global.reset('x', 20), { type: 'reset', previous: 10, generation: 1 });
  assert.equal(global.total('x'), 0);
  const publishes = drainOutputs(global).filter((o) => o.type === 'publish');
  assert.ok(publishes.length >= 1);
  assert.deepEqual(publishes.at(-1).entries.find((e) => e.key === 'x'), { key: 'x', total: 0 });
  shard.flush(30);
  const [ack] = deliverAll(shard, global, 30);
  assert.deepEqual(ack.staleKeys, [{ key: 'x', generation: 1 }]);
  assert.equal(global.total('x'), 0, "the shard's pending 5 never counts");
  assert.equal(global.stats().staleDropped, 1);
  shard.increment('x', 1, 40); // accepted after the shard learned of the reset: counts
  shard.flush(40);
  deliverAll(shard, global, 40);
  assert.equal(global.total('x'), 1);
});

test('6: per-shard statistics after {x:1}, {x:2} from shard 0 and {y:5} from shard 1', () => {
  const global = new Global();
  const s0 = new Shard({ shard: 0, incarnation: 1 });
  const s1 = new Shard({ shard: 1, incarnation: 1 });
  for (const [shard, key, delta, at] of [[s0, 'x', 1, 0], [s0, 'x', 2, 10], [s1, 'y', 5, 20]]) {
    shard.increment(key, delta, at);
    shard.flush(at);
    deliverAll(shard, global, at);
  }
  assert.deepEqual(global.shardStats(), [
    { shard: 0, writes: 2, deltas: [{ key: 'x', delta: 3 }] },
    { shard: 1, writes: 1, deltas: [{ key: 'y', delta: 5 }] },
  ]);
  const stats = global.stats();
  assert.equal(stats.totalWrites, 3);
  assert.equal(stats.distinctShards, 2);
  assert.equal(global.writeLog().length, 3);
  assert.equal(global.writeLog()[0].shard, 1, 'newest first');
});

test('7: shard count 4 → 2 with shard 3 holding {x: 7}: shard 3 drains and flushes; total x 7', () => {
  const router = new Router({ shardCount: 4 });
  const global = new Global();
  const shards = [0, 1, 2, 3].map((i) => new Shard({ shard: i, incarnation: 1 }));
  shards[3].increment('x', 7, 0);
  const draining = router.setShardCount(2);
  assert.deepEqual(draining, [2, 3]);
  for (const i of draining) {
    shards[i].drain(10);
    deliverAll(shards[i], global, 10);
    assert.equal(shards[i].isDrained(), true);
    assert.equal(router.markDrained(i), true);
  }
  assert.deepEqual(router.draining(), []);
  assert.equal(global.total('x'), 7);
  assert.ok(router.route('x') < 2);
});
