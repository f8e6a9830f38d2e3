// Bad inputs: every rejection is a ShardtallyError with a stable code and the offending
// values, and leaves the machine byte-for-byte unchanged (compared through snapshot()).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Global, Router, Shard, ShardtallyError } from 'shardtally-wasm';
import { assertRejected, deliverAll } from './host.mjs';

const badTimes = [NaN, Infinity, -Infinity, -1, 1.5, 2 ** 53, '5', 5n, undefined, null, {}, true];
const badDeltas = [1.5, NaN, Infinity, 2 ** 53, -(2 ** 53), '1', 2n ** 63n, -(2n ** 63n) - 1n, undefined, null, {}, true];
const badKeys = [1, null, undefined, {}, ['x'], 1n, Symbol('x')];
const badBytes = ['sht', [115, 104, 116], new ArrayBuffer(8), null, undefined, 5, {}];

function busyShard() {
  const s = new Shard({ shard: 0, incarnation: 1, maxPendingKeys: 3, maxInternedKeys: 2, maxKeyBytes: 8 });
  s.increment('a', 1, 100);
  s.intern('hot');
  return s;
}

test('errors are ShardtallyError instances with code, message and name', () => {
  const s = busyShard();
  try {
    s.increment('', 1, 100);
    assert.fail('no error');
  } catch (err) {
    assert.ok(err instanceof ShardtallyError);
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'ShardtallyError');
    assert.equal(err.code, 'EMPTY_KEY');
    assert.equal(err.message, 'key must not be empty');
    assert.match(String(err), /^ShardtallyError: key must not be empty$/);
    assert.ok(err.stack.length > 0);
  }
  assert.equal(new ShardtallyError('m', 'C', { x: 1 }).x, 1);
});

test('INVALID_TIME: nowMs must be a finite integral number in 0..=2^53-1', () => {
  const s = busyShard();
  const g = new Global();
  for (const bad of badTimes) {
    const snap = () => s.snapshot();
    assertRejected(() => s.increment('a', 1, bad), 'INVALID_TIME', snap);
    assertRejected(() => s.increments({ a: 1 }, bad), 'INVALID_TIME', snap);
    assertRejected(() => s.incrementId(0, 1, bad), 'INVALID_TIME', snap);
    assertRejected(() => s.incrementIds([0], [1], bad), 'INVALID_TIME', snap);
    assertRejected(() => s.flush(bad), 'INVALID_TIME', snap);
    assertRejected(() => s.drain(bad), 'INVALID_TIME', snap);
    assertRejected(() => s.handleFailure(1, bad), 'INVALID_TIME', snap);
    assertRejected(() => s.handleRejection(1, bad), 'INVALID_TIME', snap);
    assertRejected(() => s.handleTimeout(bad), 'INVALID_TIME', snap);
    assertRejected(() => g.reset('a', bad), 'INVALID_TIME', () => g.snapshot());
    assertRejected(() => g.publish(bad), 'INVALID_TIME', () => g.snapshot());
    assertRejected(() => g.handleTimeout(bad), 'INVALID_TIME', () => g.snapshot());
    assertRejected(() => g.handlePublishAck(1, bad), 'INVALID_TIME', () => g.snapshot());
    assertRejected(() => g.handlePublishFailure(1, bad), 'INVALID_TIME', () => g.snapshot());
  }
  s.increment('a', 1, 2 ** 53 - 1); // the largest valid time
  assert.equal(s.pollTimeout(), 2 ** 53 - 1, 'deadlines beyond 2^53-1 are clamped');
});

test('INVALID_DELTA: a safe integer or an in-range bigint', () => {
  const s = busyShard();
  const snap = () => s.snapshot();
  for (const bad of badDeltas) {
    assertRejected(() => s.increment('a', bad, 100), 'INVALID_DELTA', snap);
    assertRejected(() => s.increments({ b: 1, a: bad }, 100), 'INVALID_DELTA', snap);
    assertRejected(() => s.increments([['b', 1], ['a', bad]], 100), 'INVALID_DELTA', snap);
    assertRejected(() => s.incrementId(0, bad, 100), 'INVALID_DELTA', snap);
    assertRejected(() => s.incrementIds([0, 0], [1, bad], 100), 'INVALID_DELTA', snap);
  }
  assertRejected(() => s.incrementIds([0], new Float64Array([0.5]), 100), 'INVALID_DELTA', snap, { value: '0.5' });
  assertRejected(() => s.increment('a', 1.5, 100), 'INVALID_DELTA', snap, { value: '1.5' });
  s.increment('a', 2 ** 53 - 1, 100);
  s.increment('a', -(2n ** 63n), 100);
});

test('INVALID_ARGUMENT: wrong JS types', () => {
  const s = busyShard();
  const snap = () => s.snapshot();
  for (const bad of badKeys) {
    assertRejected(() => s.increment(bad, 1, 100), 'INVALID_ARGUMENT', snap);
    assertRejected(() => s.intern(bad), 'INVALID_ARGUMENT', snap);
    assertRejected(() => s.pendingDelta(bad), 'INVALID_ARGUMENT', snap);
  }
  assertRejected(() => s.increment(1, 1, 100), 'INVALID_ARGUMENT', snap, { argument: 'key', value: '1' });
  for (const bad of [5, 'x', null, undefined, true, () => 1]) {
    assertRejected(() => s.increments(bad, 100), 'INVALID_ARGUMENT', snap);
  }
  for (const bad of [[['a']], [['a', 1, 2]], ['a'], [[1, 1]]]) {
    assertRejected(() => s.increments(bad, 100), 'INVALID_ARGUMENT', snap);
  }
  for (const bad of [-1, 1.5, 2 ** 32, '0', null, 0n]) {
    assertRejected(() => s.incrementId(bad, 1, 100), 'INVALID_ARGUMENT', snap);
    assertRejected(() => s.incrementIds([0, bad], [1, 1], 100), 'INVALID_ARGUMENT', snap);
    assertRejected(() => s.keyOf(bad), 'INVALID_ARGUMENT', snap);
  }
  for (const bad of [new Int32Array([0]), 'x', 5, null, new Float64Array([0])]) {
    assertRejected(() => s.incrementIds(bad, [1], 100), 'INVALID_ARGUMENT', snap);
  }
  for (const bad of [new Int32Array([1]), 'x', 5, null]) {
    assertRejected(() => s.incrementIds([0], bad, 100), 'INVALID_ARGUMENT', snap);
  }
  for (const bad of [-1, 1.5, '1', null]) assertRejected(() => s.handleFailure(bad, 100), 'INVALID_ARGUMENT', snap);
  for (const bad of [-1, 1.5, '1', null]) assertRejected(() => s.handleRejection(bad, 100), 'INVALID_ARGUMENT', snap);
  for (const bad of badBytes) {
    assertRejected(() => s.handleAck(bad, 100), 'INVALID_ARGUMENT', snap);
    assertRejected(() => Shard.restore(bad), 'INVALID_ARGUMENT');
    assertRejected(() => Global.restore(bad), 'INVALID_ARGUMENT');
    assertRejected(() => Router.restore(bad), 'INVALID_ARGUMENT');
    const g = new Global();
    assertRejected(() => g.handleBatch(bad, 0), 'INVALID_ARGUMENT', () => g.snapshot());
  }
  // Options that are not an object.
  for (const bad of [5, 'x', [0, 1], true]) {
    assertRejected(() => new Shard(bad), 'INVALID_ARGUMENT', null, { argument: 'options' });
    assertRejected(() => new Global(bad), 'INVALID_ARGUMENT', null, { argument: 'options' });
    assertRejected(() => new Router(bad), 'INVALID_ARGUMENT', null, { argument: 'options' });
  }
  const r = new Router({ shardCount: 2 });
  for (const bad of [-1, 1.5, '2', null]) {
    assertRejected(() => r.setShardCount(bad), 'INVALID_ARGUMENT', () => r.snapshot());
    assertRejected(() => r.markDrained(bad), 'INVALID_ARGUMENT', () => r.snapshot());
  }
  assertRejected(() => r.route(5), 'INVALID_ARGUMENT', () => r.snapshot());
});

test('core input errors carry their values and change nothing', () => {
  const s = busyShard();
  const snap = () => s.snapshot();
  assertRejected(() => s.increment('', 1, 100), 'EMPTY_KEY', snap);
  assertRejected(() => s.increment('123456789', 1, 100), 'KEY_TOO_LONG', snap, { len: 9, max: 8 });
  assertRejected(() => s.increments({ b: 1, '': 1 }, 100), 'EMPTY_KEY', snap);
  assertRejected(() => s.increment('a', 2n ** 63n - 1n, 100), 'OVERFLOW', snap, { key: 'a', current: 1, delta: 2n ** 63n - 1n });
  assertRejected(() => s.increments([['z', 2n ** 62n], ['z', 2n ** 62n]], 100), 'OVERFLOW', snap, { key: 'z' });
  s.increments({ b: 1, c: 1 }, 100);
  assertRejected(() => s.increment('d', 1, 100), 'TABLE_FULL', snap, { table: 'pending keys', limit: 3 });
  assertRejected(() => s.increments({ a: 1, d: 1 }, 100), 'TABLE_FULL', snap);
  s.intern('hot2');
  assertRejected(() => s.intern('hot3'), 'TABLE_FULL', snap, { table: 'interned keys', limit: 2 });
  const hot = s.intern('hot');
  assertRejected(() => s.incrementId(77, 1, 100), 'UNKNOWN_KEY_ID', snap, { id: 77 });
  assertRejected(() => s.incrementIds([hot, 77], [1, 1], 100), 'UNKNOWN_KEY_ID', snap, { id: 77 });
  assertRejected(() => s.incrementIds([hot, hot], [1, 2n ** 63n - 1n], 100), 'OVERFLOW', snap, { key: 'hot' });
  assertRejected(() => s.incrementIds([hot, hot], [1], 100), 'LENGTH_MISMATCH', snap, { what: 'ids and deltas', left: 2, right: 1 });
  assert.equal(s.pendingDelta('a'), 1, 'nothing of the rejected requests was applied');
});

test('global: a batch that would overflow a total or exceed maxKeys changes nothing', () => {
  const g = new Global({ maxKeys: 2 });
  const s = new Shard({ shard: 0, incarnation: 1 });
  s.increment('x', 2n ** 63n - 1n, 0);
  s.flush(0);
  deliverAll(s, g, 0);
  s.increments({ x: 1, y: 1 }, 1);
  s.flush(1);
  const batch = s.pollOutput();
  assertRejected(() => g.handleBatch(batch.bytes, 2), 'OVERFLOW', () => g.snapshot(), { key: 'x', current: 2n ** 63n - 1n, delta: 1 });
  assert.equal(g.lastSeq(0, 1), 1, 'the rejected batch is not recorded as applied');
  const t = new Shard({ shard: 1, incarnation: 1 });
  t.increments({ p: 1, q: 1, r: 1 }, 0);
  t.flush(0);
  assertRejected(() => g.handleBatch(t.pollOutput().bytes, 3), 'TABLE_FULL', () => g.snapshot(), { table: 'totals', limit: 2 });
  assertRejected(() => g.reset('', 3), 'EMPTY_KEY', () => g.snapshot());
});

test('options are checked by the engine: missing, wrong values, unknown names', () => {
  for (const bad of [undefined, null, {}, { incarnation: 1 }]) assertRejected(() => new Shard(bad), 'CONFIG_MISSING', null, { field: 'shard' });
  assertRejected(() => new Shard({ shard: 0 }), 'CONFIG_MISSING', null, { field: 'incarnation' });
  for (const [bad, field] of [[{ shard: -1, incarnation: 1 }, 'shard'], [{ shard: 0, incarnation: -1 }, 'incarnation'], [{ shard: 0, incarnation: 2n ** 64n }, 'incarnation'],
    [{ shard: 0, incarnation: 1, flushAfterRequests: 1.5 }, 'flushAfterRequests'], [{ shard: 0, incarnation: 1, flushAfterIdleMs: '5' }, 'flushAfterIdleMs'],
    [{ shard: 0, incarnation: 1, seed: -1 }, 'seed']]) {
    assertRejected(() => new Shard(bad), 'CONFIG_INVALID_VALUE', null, { field });
  }
  for (const [bad, field] of [[{ publishMode: 'some' }, 'publishMode'], [{ persistAfterWrites: -1 }, 'persistAfterWrites'], [{ upstream: 5 }, 'upstream']]) {
    assertRejected(() => new Global(bad), 'CONFIG_INVALID_VALUE', null, { field });
  }
  assertRejected(() => new Global({ upstream: { shard: 0 } }), 'CONFIG_MISSING', null, { field: 'incarnation' });
  for (const [bad, field] of [[{ strategy: 'best' }, 'strategy'], [{ strategy: 'pinned' }, 'pinnedShard'], [{ shardCount: 1.5 }, 'shardCount'], [{ strategy: 1 }, 'strategy']]) {
    assertRejected(() => new Router(bad), 'CONFIG_INVALID_VALUE', null, { field });
  }
  assertRejected(() => new Shard({ shard: 0, incarnation: 1, flushAfterRequest: 1 }), 'CONFIG_UNKNOWN_SETTING', null, { suggestion: 'flushAfterRequests' });
});

test('configuration errors name the JS option', () => {
  assertRejected(() => new Shard({ shard: 0, incarnation: 1, maxKeyBytes: 0 }), 'CONFIG_ZERO', null, { field: 'maxKeyBytes' });
  assertRejected(() => new Shard({ shard: 0, incarnation: 1, retryInitialMs: 5, retryMaxMs: 4 }), 'CONFIG_BACKOFF_RANGE', null, { initialMs: 5, maxMs: 4 });
  assertRejected(() => new Shard({ shard: 0, incarnation: 1, retryJitterPercent: 101 }), 'CONFIG_TOO_LARGE', null, { field: 'retryJitterPercent', value: 101, max: 100 });
  assertRejected(() => new Shard({ shard: 0, incarnation: 1, retryJitterPercent: 1000 }), 'CONFIG_INVALID_VALUE', null, { field: 'retryJitterPercent' });
  assertRejected(() => new Shard({ shard: 0, incarnation: 1, maxPendingKeys: 2 ** 31 + 1 }), 'CONFIG_TOO_LARGE', null, { field: 'maxPendingKeys' });
  assertRejected(() => new Global({ maxKeys: 0 }), 'CONFIG_ZERO', null, { field: 'maxKeys' });
  assertRejected(() => new Global({ upstream: { shard: 0, incarnation: 1, ackTimeoutMs: 0 } }), 'CONFIG_ZERO', null, { field: 'ackTimeoutMs' });
  assertRejected(() => new Router({ shardCount: 0 }), 'CONFIG_ZERO', null, { field: 'shardCount' });
  assertRejected(() => new Router({ strategy: 'pinned', pinnedShard: 3, shardCount: 3 }), 'CONFIG_PINNED_OUT_OF_RANGE', null, { shard: 3, shardCount: 3 });
  assertRejected(() => Shard.restore(new Shard({ shard: 0, incarnation: 1 }).snapshot(), { maxKeyBytes: 0 }), 'CONFIG_ZERO');
});

test('decode errors: wrong kind, unsupported version, corrupt bytes', () => {
  const shard = new Shard({ shard: 0, incarnation: 1 });
  const global = new Global();
  const router = new Router();
  shard.increment('x', 1, 0);
  shard.flush(0);
  const batch = shard.pollOutput().bytes;
  const snap = shard.snapshot();
  assertRejected(() => Shard.restore(batch), 'DECODE_WRONG_KIND', null, { expected: 'shard snapshot' });
  assertRejected(() => Global.restore(snap), 'DECODE_WRONG_KIND', null, { expected: 'global snapshot' });
  assertRejected(() => Router.restore(snap), 'DECODE_WRONG_KIND', null, { expected: 'router snapshot' });
  assertRejected(() => global.handleBatch(snap, 0), 'DECODE_WRONG_KIND', () => global.snapshot(), { expected: 'batch' });
  assertRejected(() => shard.handleAck(batch, 0), 'DECODE_WRONG_KIND', () => shard.snapshot(), { expected: 'ack' });
  const future = Uint8Array.from(snap);
  future[4] = 99;
  assertRejected(() => Shard.restore(future), 'DECODE_UNSUPPORTED_VERSION', null, { found: 99, supported: 2 });
  assertRejected(() => Shard.restore(snap.subarray(0, snap.length - 3)), 'DECODE_CHECKSUM');
  assertRejected(() => global.handleBatch(Uint8Array.from([...batch, 0]), 0), 'DECODE_CHECKSUM', () => global.snapshot());
  assertRejected(() => Router.restore(router.snapshot().subarray(0, 6)), 'DECODE_CORRUPT');
  assertRejected(() => Shard.restore(new Uint8Array(0)), 'DECODE_WRONG_KIND');
  // Arbitrary bytes never crash the module.
  let seed = 1;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 500; i++) {
    const bytes = Uint8Array.from(snap);
    bytes[5 + Math.floor(rand() * (bytes.length - 5))] = Math.floor(rand() * 256);
    try {
      Shard.restore(bytes);
    } catch (err) {
      assert.ok(err.code.startsWith('DECODE_'), err.code);
    }
  }
  shard.increment('y', 1, 1); // the module is still usable
});

test('wrong-shard and out-of-range errors', () => {
  const g = new Global();
  const a = new Shard({ shard: 0, incarnation: 1 });
  const b = new Shard({ shard: 0, incarnation: 2 });
  a.increment('x', 1, 0);
  a.flush(0);
  const ack = g.handleBatch(a.pollOutput().bytes, 0);
  assertRejected(() => b.handleAck(ack.bytes, 0), 'WRONG_SHARD', () => b.snapshot(), {
    expected: { shard: 0, incarnation: 2 },
    got: { shard: 0, incarnation: 1 },
  });
});
