// Bad inputs: each gives a ShardtallyError with the documented code and offending values,
// and leaves the machine exactly as it was.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Shard, Global, Router, keyHash, jumpHash } from 'shardtally'
import { throwsCode, shardState, globalState, drain } from './helpers.mjs'

const I64_MAX = 9223372036854775807n
const NOW = 1000

/** A shard with pending state, some of it still buffered in JavaScript. */
function busyShard(options = {}) {
  const s = new Shard({ shard: 2, incarnation: 9, flushAfterRequests: 0, maxPendingKeys: 4, maxInternedKeys: 2, maxKeyBytes: 8, ...options })
  for (let i = 0; i < 20; i++) s.increment(i % 2 ? 'a' : 'b', 1, NOW)
  return s
}

/** `fn(shard)` must throw `code` with `props` and change nothing observable. */
function rejects(shard, fn, code, props) {
  const before = shardState(shard)
  const e = throwsCode(() => fn(shard), code, props)
  assert.deepStrictEqual(shardState(shard), before, `${code}: state unchanged`)
  return e
}

test('keys: empty, too long (bytes, not characters), not a string', () => {
  const s = busyShard()
  rejects(s, (x) => x.increment('', 1, NOW), 'EMPTY_KEY')
  rejects(s, (x) => x.increment('123456789', 1, NOW), 'KEY_TOO_LONG', { len: 9, max: 8 })
  rejects(s, (x) => x.increment('ééé€', 1, NOW), 'KEY_TOO_LONG', { len: 9, max: 8 })
  for (const key of [5, null, undefined, {}, ['a'], Symbol('k'), 1n]) {
    rejects(s, (x) => x.increment(key, 1, NOW), 'INVALID_ARGUMENT', { argument: 'key', expected: 'a string' })
  }
  rejects(s, (x) => x.intern(''), 'EMPTY_KEY')
  rejects(s, (x) => x.intern('123456789'), 'KEY_TOO_LONG', { len: 9, max: 8 })
  rejects(s, (x) => x.pendingDelta(3), 'INVALID_ARGUMENT', { argument: 'key' })
  throwsCode(() => keyHash(5), 'INVALID_ARGUMENT', { argument: 'key', value: '5' })
})

test('deltas: fractions, NaN, infinities, unsafe integers, out-of-range bigints, wrong types', () => {
  const s = busyShard()
  // The offending value as the engine prints it (a JS number, a bigint with `n`, a quoted string).
  for (const [delta, value] of [[1.5, '1.5'], [-0.25, '-0.25'], [NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity'], [2 ** 53, '9007199254740992'], [-(2 ** 53), '-9007199254740992']]) {
    rejects(s, (x) => x.increment('a', delta, NOW), 'INVALID_DELTA', { value })
  }
  for (const delta of [2n ** 63n, -(2n ** 63n) - 1n, 2n ** 64n]) {
    rejects(s, (x) => x.increment('a', delta, NOW), 'INVALID_DELTA', { value: `${delta}n` })
  }
  for (const [delta, value] of [['1', '"1"'], [null, 'null'], [undefined, 'undefined'], [{}, 'an object'], [true, 'true']]) {
    rejects(s, (x) => x.increment('a', delta, NOW), 'INVALID_DELTA', { value })
  }
  const id = s.intern('a')
  rejects(s, (x) => x.incrementId(id, 0.5, NOW), 'INVALID_DELTA', { value: '0.5' })
  rejects(s, (x) => x.incrementIds(Uint32Array.of(id, id), Float64Array.of(1, 2 ** 60), NOW), 'INVALID_DELTA', { value: '1152921504606846976' })
  rejects(s, (x) => x.incrementIds([id], ['1'], NOW), 'INVALID_DELTA', { value: '"1"' })
  rejects(s, (x) => x.increments({ a: 1, b: 1.5 }, NOW), 'INVALID_DELTA', { value: '1.5' })
  rejects(s, (x) => x.increments([['a', 1], ['b', 2n ** 63n]], NOW), 'INVALID_DELTA', { value: `${2n ** 63n}n` })
  // The full signed 64-bit range is accepted as bigint; safe integers as numbers.
  s.increment('c', -(2n ** 63n), NOW)
  s.increment('d', Number.MAX_SAFE_INTEGER, NOW)
  assert.equal(s.pendingDelta('c'), -(2n ** 63n))
  assert.equal(s.pendingDelta('d'), Number.MAX_SAFE_INTEGER)
})

test('time: negative, fractional, NaN, infinite, beyond 2^53 - 1, wrong types', () => {
  const s = busyShard()
  const g = new Global()
  const shown = (t) => (typeof t === 'string' ? JSON.stringify(t) : typeof t === 'bigint' ? `${t}n` : t !== null && typeof t === 'object' ? 'an object' : t === 2 ** 53 ? '9007199254740992' : String(t))
  for (const t of [-1, 1.5, NaN, Infinity, 2 ** 53, -0.5, '5', null, undefined, 5n, {}]) {
    const check = (e) => assert.equal(e.value, shown(t), `value ${String(t)}`)
    check(rejects(s, (x) => x.increment('a', 1, t), 'INVALID_TIME'))
    check(rejects(s, (x) => x.flush(t), 'INVALID_TIME'))
    check(rejects(s, (x) => x.drain(t), 'INVALID_TIME'))
    check(rejects(s, (x) => x.handleTimeout(t), 'INVALID_TIME'))
    check(rejects(s, (x) => x.increments({ a: 1 }, t), 'INVALID_TIME'))
    check(throwsCode(() => g.handleTimeout(t), 'INVALID_TIME'))
    check(throwsCode(() => g.publish(t), 'INVALID_TIME'))
  }
  // The largest valid time is 2^53 - 1.
  s.handleTimeout(Number.MAX_SAFE_INTEGER)
})

test('overflow: a pending delta or a total that would pass the 64-bit limit', () => {
  const s = busyShard()
  s.increment('z', I64_MAX - 1n, NOW)
  rejects(s, (x) => x.increment('z', 2, NOW), 'OVERFLOW', { key: 'z', current: I64_MAX - 1n, delta: 2 })
  rejects(s, (x) => x.increments([['a', 1], ['z', 1], ['z', 1]], NOW), 'OVERFLOW', { key: 'z', current: I64_MAX - 1n, delta: 2 })
  s.increment('z', 1, NOW) // exactly the limit is fine

  const g = new Global()
  const a = new Shard({ shard: 0, incarnation: 1 })
  a.increment('t', I64_MAX, 1)
  a.flush(1)
  g.handleBatch(drain(a)[0], 1)
  const b = new Shard({ shard: 1, incarnation: 1 })
  b.increment('t', 1, 2)
  b.flush(2)
  const batch = drain(b)[0]
  const before = globalState(g)
  throwsCode(() => g.handleBatch(batch, 2), 'OVERFLOW', { key: 't', current: I64_MAX, delta: 1 })
  assert.deepStrictEqual(globalState(g), before)
})

test('bounds: pending keys, interned keys, global keys', () => {
  const s = busyShard() // a and b pending, maxPendingKeys 4
  s.increment('c', 1, NOW)
  s.increment('d', 1, NOW)
  rejects(s, (x) => x.increment('e', 1, NOW), 'TABLE_FULL', { table: 'pending keys', limit: 4 })
  rejects(s, (x) => x.increments([['a', 1], ['e', 1]], NOW), 'TABLE_FULL', { table: 'pending keys', limit: 4 })
  s.increment('a', 1, NOW) // a pending key still takes increments
  s.intern('k1')
  s.intern('k2')
  rejects(s, (x) => x.intern('k3'), 'TABLE_FULL', { table: 'interned keys', limit: 2 })

  const g = new Global({ maxKeys: 1 })
  const shard = new Shard({ shard: 0, incarnation: 1 })
  shard.increments({ p: 1, q: 1 }, 1)
  shard.flush(1)
  const batch = drain(shard)[0]
  const before = globalState(g)
  throwsCode(() => g.handleBatch(batch, 1), 'TABLE_FULL', { table: 'totals', limit: 1 })
  assert.deepStrictEqual(globalState(g), before)
  const small = new Global({ maxKeyBytes: 2 })
  const long = new Shard({ shard: 0, incarnation: 2 })
  long.increment('long', 1, 1)
  long.flush(1)
  throwsCode(() => small.handleBatch(drain(long)[0].bytes, 1), 'KEY_TOO_LONG', { len: 4, max: 2 })
  assert.deepEqual(small.totals(), [])
})

test('key ids: unknown ids, bad id types, length mismatches', () => {
  const s = busyShard()
  const id = s.intern('a')
  rejects(s, (x) => x.incrementId(77, 1, NOW), 'UNKNOWN_KEY_ID', { id: 77 })
  rejects(s, (x) => x.incrementIds(Uint32Array.of(id, 77), Float64Array.of(1, 1), NOW), 'UNKNOWN_KEY_ID', { id: 77 })
  rejects(s, (x) => x.incrementIds(Uint32Array.of(id), Float64Array.of(1, 1), NOW), 'LENGTH_MISMATCH', { what: 'ids and deltas', left: 1, right: 2 })
  for (const bad of [-1, 1.5, 2 ** 32, '0', null]) {
    rejects(s, (x) => x.incrementId(bad, 1, NOW), 'INVALID_ARGUMENT', { argument: 'id' })
    rejects(s, (x) => x.incrementIds([id, bad], [1, 1], NOW), 'INVALID_ARGUMENT', { argument: 'ids[i]' })
  }
  rejects(s, (x) => x.incrementIds('0', [1], NOW), 'INVALID_ARGUMENT', { argument: 'ids', value: '"0"' })
  rejects(s, (x) => x.incrementIds(Int32Array.of(0), [1], NOW), 'INVALID_ARGUMENT', { argument: 'ids' })
  rejects(s, (x) => x.incrementIds([id], Int32Array.of(1), NOW), 'INVALID_ARGUMENT', { argument: 'deltas' })
  rejects(s, (x) => x.keyOf(-1), 'INVALID_ARGUMENT', { argument: 'id' })
})

test('increments: malformed entries are rejected as a whole', () => {
  const s = busyShard()
  rejects(s, (x) => x.increments({ a: 1, '': 2 }, NOW), 'EMPTY_KEY')
  rejects(s, (x) => x.increments([['a', 1], ['b']], NOW), 'INVALID_ARGUMENT', { argument: 'entries[i]' })
  rejects(s, (x) => x.increments([['a', 1], 'b'], NOW), 'INVALID_ARGUMENT', { argument: 'entries[i]', value: '"b"' })
  rejects(s, (x) => x.increments([[1, 1]], NOW), 'INVALID_ARGUMENT', { argument: 'key', value: '1' })
  for (const bad of [5, 'ab', null, undefined]) {
    rejects(s, (x) => x.increments(bad, NOW), 'INVALID_ARGUMENT', { argument: 'entries' })
  }
})

test('messages: garbage bytes, the wrong kind, the wrong shard, not bytes', () => {
  const s = busyShard()
  const other = new Shard({ shard: 5, incarnation: 1 })
  other.increment('q', 1, 1)
  other.flush(1)
  const otherBatch = drain(other)[0]
  const g = new Global()
  const ack = g.handleBatch(otherBatch, 1)
  rejects(s, (x) => x.handleAck(ack, NOW), 'WRONG_SHARD', { expected: { shard: 2, incarnation: 9 }, got: { shard: 5, incarnation: 1 } })
  rejects(s, (x) => x.handleAck(otherBatch.bytes, NOW), 'DECODE_WRONG_KIND', { expected: 'ack' })
  rejects(s, (x) => x.handleAck(Uint8Array.of(1, 2, 3), NOW), 'DECODE_WRONG_KIND')
  const corrupt = Uint8Array.from(ack.bytes.subarray(0, ack.bytes.length - 1))
  rejects(s, (x) => x.handleAck(corrupt, NOW), 'DECODE_CHECKSUM')
  const future = Uint8Array.from(ack.bytes)
  future[4] = 99
  rejects(s, (x) => x.handleAck(future, NOW), 'DECODE_UNSUPPORTED_VERSION', { found: 99, supported: 2 })
  for (const bad of ['ack', 5, null, {}, { bytes: 'x' }]) {
    rejects(s, (x) => x.handleAck(bad, NOW), 'INVALID_ARGUMENT', { argument: 'ack' })
  }
  rejects(s, (x) => x.handleFailure('1', NOW), 'INVALID_ARGUMENT', { argument: 'seq' })
  rejects(s, (x) => x.handleFailure(-1, NOW), 'INVALID_ARGUMENT', { argument: 'seq' })
  rejects(s, (x) => x.handleRejection('1', NOW), 'INVALID_ARGUMENT', { argument: 'seq' })
  rejects(s, (x) => x.handleRejection(-1, NOW), 'INVALID_ARGUMENT', { argument: 'seq' })
  rejects(s, (x) => x.handleRejection(1, -1), 'INVALID_TIME')
  const before = globalState(g)
  throwsCode(() => g.handleBatch(ack.bytes, 1), 'DECODE_WRONG_KIND', { expected: 'batch' })
  throwsCode(() => g.handleBatch(new Uint8Array(0), 1), 'DECODE_WRONG_KIND')
  throwsCode(() => g.handleBatch([1, 2], 1), 'INVALID_ARGUMENT', { argument: 'batch' })
  throwsCode(() => g.handlePublishAck('1', 1), 'INVALID_ARGUMENT', { argument: 'version' })
  throwsCode(() => g.handlePublishFailure(1.5, 1), 'INVALID_ARGUMENT', { argument: 'version' })
  throwsCode(() => g.reset('', 1), 'EMPTY_KEY')
  throwsCode(() => g.reset('x'.repeat(257), 1), 'KEY_TOO_LONG', { len: 257, max: 256 })
  throwsCode(() => g.reset(7, 1), 'INVALID_ARGUMENT', { argument: 'key' })
  throwsCode(() => g.handleUpstreamAck(ack, 1), 'NO_UPSTREAM')
  throwsCode(() => g.handleUpstreamFailure(1, 1), 'NO_UPSTREAM')
  throwsCode(() => g.flushUpstream(1), 'NO_UPSTREAM')
  throwsCode(() => g.lastSeq(-1, 1), 'INVALID_ARGUMENT', { argument: 'shard' })
  assert.deepStrictEqual(globalState(g), before)
})

test('shard options: missing, mistyped, out of range, unknown, rejected by the engine', () => {
  const base = { shard: 0, incarnation: 1 }
  // No options (or null) is an empty options object: `shard` is missing.
  throwsCode(() => new Shard(), 'CONFIG_MISSING', { field: 'shard' })
  throwsCode(() => new Shard(null), 'CONFIG_MISSING', { field: 'shard' })
  for (const [bad, value] of [[5, '5'], ['x', '"x"'], [[], 'an array']]) throwsCode(() => new Shard(bad), 'INVALID_ARGUMENT', { argument: 'options', value })
  throwsCode(() => new Shard({ shard: 0 }), 'CONFIG_MISSING', { field: 'incarnation' })
  for (const shard of [-1, 1.5, 2 ** 32, '0']) {
    throwsCode(() => new Shard({ ...base, shard }), 'CONFIG_INVALID_VALUE', { field: 'shard', expected: 'an integer in 0..=4294967295' })
  }
  for (const incarnation of [-1, 1.5, 2 ** 53, -1n, 2n ** 64n, '1']) {
    throwsCode(() => new Shard({ ...base, incarnation }), 'CONFIG_INVALID_VALUE', { field: 'incarnation' })
  }
  new Shard({ shard: 2 ** 32 - 1, incarnation: 2n ** 64n - 1n }) // the full ranges
  throwsCode(() => new Shard({ ...base, flushAfterRequest: 5 }), 'CONFIG_UNKNOWN_SETTING', { suggestion: 'flushAfterRequests' })
  for (const [field, given, value] of [
    ['flushAfterRequests', -1, '-1'],
    ['flushAfterRequests', 2 ** 32, '4294967296'],
    ['flushAfterRequests', '5', '"5"'],
    ['flushAfterIdleMs', 1.5, '1.5'],
    ['flushMaxAgeMs', 2 ** 64, '18446744073709552000'],
    ['maxKeyBytes', NaN, 'NaN'],
    ['seed', -1, '-1'],
    ['seed', () => 1, 'a value of type function'],
    ['generation', null, 'null'],
  ]) {
    throwsCode(() => new Shard({ ...base, [field]: given }), 'CONFIG_INVALID_VALUE', { field, value })
  }
  throwsCode(() => new Shard({ ...base, ackTimeoutMs: 0 }), 'CONFIG_ZERO', { field: 'ackTimeoutMs' })
  throwsCode(() => new Shard({ ...base, retryInitialMs: 10, retryMaxMs: 5 }), 'CONFIG_BACKOFF_RANGE', { initialMs: 10, maxMs: 5 })
  throwsCode(() => new Shard({ ...base, retryJitterPercent: 101 }), 'CONFIG_TOO_LARGE', { field: 'retryJitterPercent', value: 101, max: 100 })
  // Durations and seeds also take a bigint.
  assert.equal(new Shard({ ...base, flushAfterIdleMs: 10n, seed: 2n ** 64n - 1n }).pendingRequests(), 0)
  throwsCode(() => new Shard({ ...base, maxKeyBytes: 2 ** 17 }), 'CONFIG_TOO_LARGE', { field: 'maxKeyBytes', max: 65536 })
  // Explicit undefined is the default.
  assert.equal(new Shard({ ...base, flushAfterRequests: undefined }).pendingRequests(), 0)
})

test('global and router options', () => {
  throwsCode(() => new Global({ publishMode: 'partial' }), 'CONFIG_INVALID_VALUE', { field: 'publishMode', value: '"partial"' })
  throwsCode(() => new Global({ maxKeys: 0 }), 'CONFIG_ZERO', { field: 'maxKeys' })
  throwsCode(() => new Global({ persistAfterWrite: 1 }), 'CONFIG_UNKNOWN_SETTING', { suggestion: 'persistAfterWrites' })
  throwsCode(() => new Global(7), 'INVALID_ARGUMENT', { argument: 'options' })
  throwsCode(() => new Global({ upstream: { shard: 0 } }), 'CONFIG_MISSING', { field: 'incarnation' })
  throwsCode(() => new Global({ upstream: 'x' }), 'CONFIG_INVALID_VALUE', { field: 'upstream', value: '"x"' })
  assert.equal(new Global({ upstream: null }).hasUpstream(), false)
  throwsCode(() => new Router({ strategy: 'weird' }), 'CONFIG_INVALID_VALUE', { field: 'strategy' })
  throwsCode(() => new Router({ strategy: 'pinned' }), 'CONFIG_INVALID_VALUE', { field: 'pinnedShard', value: 'null' })
  throwsCode(() => new Router({ pinnedShard: 1, shardCount: 2 }), 'CONFIG_INVALID_VALUE', { field: 'pinnedShard' })
  throwsCode(() => new Router({ strategy: 'pinned', pinnedShard: 3, shardCount: 3 }), 'CONFIG_PINNED_OUT_OF_RANGE', { shard: 3, shardCount: 3 })
  throwsCode(() => new Router({ shardCount: 0 }), 'CONFIG_ZERO', { field: 'shardCount' })
  throwsCode(() => new Router({ shardCount: -2 }), 'CONFIG_INVALID_VALUE', { field: 'shardCount' })
  const r = new Router({ strategy: 'pinned', pinnedShard: 2, shardCount: 4 })
  const before = Buffer.from(r.snapshot())
  throwsCode(() => r.setShardCount(0), 'SHARD_OUT_OF_RANGE', { shard: 0, shardCount: 0 })
  throwsCode(() => r.setShardCount(2), 'SHARD_OUT_OF_RANGE', { shard: 2, shardCount: 2 })
  throwsCode(() => r.setShardCount('3'), 'INVALID_ARGUMENT', { argument: 'count' })
  throwsCode(() => r.route(null), 'INVALID_ARGUMENT', { argument: 'key' })
  throwsCode(() => r.markDrained(-1), 'INVALID_ARGUMENT', { argument: 'shard' })
  assert.deepEqual(Buffer.from(r.snapshot()), before)
  throwsCode(() => jumpHash(-1, 3), 'INVALID_ARGUMENT', { argument: 'hash' })
  throwsCode(() => jumpHash(1n, -3), 'INVALID_ARGUMENT', { argument: 'buckets' })
})

test('snapshots: garbage, the wrong kind, not bytes', () => {
  const shardBytes = new Shard({ shard: 0, incarnation: 1 }).snapshot()
  const globalBytes = new Global().snapshot()
  throwsCode(() => Shard.restore(globalBytes), 'DECODE_WRONG_KIND', { expected: 'shard snapshot' })
  throwsCode(() => Global.restore(shardBytes), 'DECODE_WRONG_KIND', { expected: 'global snapshot' })
  throwsCode(() => Router.restore(shardBytes), 'DECODE_WRONG_KIND', { expected: 'router snapshot' })
  throwsCode(() => Shard.restore(shardBytes.subarray(0, 6)), 'DECODE_CORRUPT')
  for (const bad of [null, 'bytes', [1, 2], {}]) {
    throwsCode(() => Shard.restore(bad), 'INVALID_ARGUMENT', { argument: 'snapshot' })
    throwsCode(() => Global.restore(bad), 'INVALID_ARGUMENT', { argument: 'snapshot' })
    throwsCode(() => Router.restore(bad), 'INVALID_ARGUMENT', { argument: 'snapshot' })
  }
  throwsCode(() => Shard.restore(shardBytes, { flushAfterRequests: -1 }), 'CONFIG_INVALID_VALUE', { field: 'flushAfterRequests' })
  // The identity is in the snapshot: not a restore option.
  throwsCode(() => Shard.restore(shardBytes, { shard: 1 }), 'CONFIG_UNKNOWN_SETTING', { suggestion: null })
  throwsCode(() => Shard.restore(shardBytes, { maxKeyBytes: 0 }), 'CONFIG_ZERO', { field: 'maxKeyBytes' })
})
