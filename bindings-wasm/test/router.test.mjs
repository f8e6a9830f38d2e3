// Every public method of Router.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router, keyHash, jumpHash } from 'shardtally-wasm';

test('Router exposes exactly the documented methods', () => {
  const own = Object.getOwnPropertyNames(Router.prototype).filter((n) => n !== 'constructor');
  assert.deepEqual(own.sort(), ['draining', 'markDrained', 'pinnedShard', 'route', 'setShardCount', 'shardCount', 'snapshot', 'strategy']);
  assert.equal(typeof Router.restore, 'function');
});

test('defaults: hash strategy over one shard', () => {
  const r = new Router();
  assert.equal(r.strategy(), 'hash');
  assert.equal(r.shardCount(), 1);
  assert.equal(r.route('anything'), 0);
  assert.deepEqual(r.draining(), []);
});

test('hash routing is sticky and agrees with jumpHash(keyHash(key))', () => {
  const r = new Router({ strategy: 'hash', shardCount: 8 });
  for (let i = 0; i < 100; i++) {
    const key = `page:/${i}`;
    const shard = r.route(key);
    assert.equal(r.route(key), shard);
    assert.equal(shard, jumpHash(keyHash(key), 8));
  }
});

test('round robin, pinned and seeded random', () => {
  const rr = new Router({ strategy: 'round_robin', shardCount: 3 });
  assert.deepEqual(['a', 'a', 'a', 'a'].map((k) => rr.route(k)), [0, 1, 2, 0]);
  const pinned = new Router({ strategy: 'pinned', pinnedShard: 2, shardCount: 4 });
  assert.deepEqual(['a', 'b'].map((k) => pinned.route(k)), [2, 2]);
  assert.equal(pinned.strategy(), 'pinned');
  const a = new Router({ strategy: 'random', shardCount: 16, seed: 7 });
  const b = new Router({ strategy: 'random', shardCount: 16, seed: 7n });
  const c = new Router({ strategy: 'random', shardCount: 16, seed: 8 });
  const seqA = Array.from({ length: 32 }, () => a.route('k'));
  const seqB = Array.from({ length: 32 }, () => b.route('k'));
  const seqC = Array.from({ length: 32 }, () => c.route('k'));
  assert.deepEqual(seqA, seqB, 'same seed, same choices');
  assert.notDeepEqual(seqA, seqC);
  assert.ok(seqA.every((s) => s >= 0 && s < 16));
  assert.ok(new Set(seqA).size > 1);
});

test('setShardCount reports draining shards; markDrained clears them', () => {
  const r = new Router({ shardCount: 4 });
  assert.deepEqual(r.setShardCount(2), [2, 3]);
  assert.equal(r.shardCount(), 2);
  assert.deepEqual(r.draining(), [2, 3]);
  assert.ok(r.route('x') < 2);
  assert.equal(r.markDrained(3), true);
  assert.equal(r.markDrained(3), false);
  assert.deepEqual(r.draining(), [2]);
  assert.deepEqual(r.setShardCount(3), [], 'raising the count takes shard 2 back');
  assert.deepEqual(r.draining(), []);
  assert.throws(() => r.setShardCount(0), (e) => e.code === 'SHARD_OUT_OF_RANGE' && e.shard === 0 && e.shardCount === 0);
  assert.equal(r.shardCount(), 3, 'a rejected count changes nothing');
  const pinned = new Router({ strategy: 'pinned', pinnedShard: 2, shardCount: 4 });
  assert.throws(() => pinned.setShardCount(2), (e) => e.code === 'SHARD_OUT_OF_RANGE' && e.shard === 2 && e.shardCount === 2);
});

test('snapshot and restore keep strategy, count, round-robin position and draining', () => {
  const r = new Router({ strategy: 'round_robin', shardCount: 5 });
  r.route('a');
  r.route('b');
  r.setShardCount(3);
  const back = Router.restore(r.snapshot());
  assert.equal(back.strategy(), 'round_robin');
  assert.equal(back.shardCount(), 3);
  assert.deepEqual(back.draining(), [3, 4]);
  assert.equal(back.route('c'), r.route('c'));
  assert.deepEqual(back.snapshot(), r.snapshot());
});

test('pinnedShard: the shard of the pinned strategy, null otherwise', () => {
  assert.equal(new Router({ strategy: 'pinned', pinnedShard: 2, shardCount: 3 }).pinnedShard(), 2);
  assert.equal(new Router({ strategy: 'hash', shardCount: 3 }).pinnedShard(), null);
  assert.equal(new Router({ pinnedShard: null, shardCount: 3 }).pinnedShard(), null);
  const restored = Router.restore(new Router({ strategy: 'pinned', pinnedShard: 1, shardCount: 2 }).snapshot());
  assert.equal(restored.pinnedShard(), 1);
});
