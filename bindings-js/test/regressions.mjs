// Regression tests of the shared JS layer, run against both packages
// (bindings-node/test/regressions.test.mjs, bindings-wasm/test/regressions.test.mjs):
//
// - a misspelt setting of every machine is CONFIG_UNKNOWN_SETTING naming the closest name
//   (both packages used to ignore it and keep the default);
// - a key with a lone surrogate is INVALID_KEY (it used to become U+FFFD, or be split or
//   merged across the keys of one `increments` call, or fail as INVALID_DELTA);
// - a typed array is not `increments` entries (it used to add to keys "0", "1", ...);
// - an exception thrown by the caller's own code while the arguments are read (a getter, a
//   Proxy trap, an iterator) leaves the machine unchanged and usable (the WebAssembly shard
//   used to stay poisoned: "recursive use of an object detected").
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hex, throwsCode } from './assertions.mjs'

export function regressionTests(api) {
  const { Shard, Global, Router } = api
  const identity = { shard: 0, incarnation: 1 }

  test('a misspelt setting of every machine is CONFIG_UNKNOWN_SETTING with the closest name', () => {
    const cases = [
      [() => new Shard({ ...identity, flushAfterRequest: 10 }), 'flushAfterRequest', 'flushAfterRequests'],
      [() => new Shard({ ...identity, maxPendingKey: 10 }), 'maxPendingKey', 'maxPendingKeys'],
      [() => new Shard({ shard: 0, incarnaton: 1 }), 'incarnaton', 'incarnation'],
      [() => Shard.restore(new Shard(identity).snapshot(), { flushAfterIdle: 5 }), 'flushAfterIdle', 'flushAfterIdleMs'],
      [() => new Global({ persistAfterWrite: 1 }), 'persistAfterWrite', 'persistAfterWrites'],
      [() => new Global({ upstream: { ...identity, flushMaxAge: 5 } }), 'flushMaxAge', 'flushMaxAgeMs'],
      [() => Global.restore(new Global().snapshot(), { publishMod: 'full' }), 'publishMod', 'publishMode'],
      [() => new Router({ shardCont: 4 }), 'shardCont', 'shardCount'],
      [() => new Router({ stratgy: 'hash' }), 'stratgy', 'strategy'],
      [() => new Shard({ ...identity, flush_after_requests: 1 }), 'flush_after_requests', 'flushAfterRequests'],
    ]
    // The unknown name is the error's `setting` (an Error's own `name` stays 'ShardtallyError').
    for (const [make, setting, suggestion] of cases) throwsCode(api, make, 'CONFIG_UNKNOWN_SETTING', { setting, suggestion })
    const far = throwsCode(api, () => new Router({ colour: 'red' }), 'CONFIG_UNKNOWN_SETTING', { setting: 'colour', suggestion: null })
    assert.match(far.message, /colour/)
    // `undefined` is "not given"; every known name is accepted.
    assert.equal(new Shard({ ...identity, flushAfterRequests: undefined }).pendingRequests(), 0)
  })

  test('a key with a lone surrogate is INVALID_KEY, everywhere a key is taken', () => {
    const s = new Shard({ ...identity, flushAfterRequests: 0 })
    s.increment('\uFFFD', 1, 1)
    s.increment('x🔑', 1, 1)
    const before = hex(s.snapshot())
    for (const key of ['\uD800', '\uDC00', 'a\uD800b', 'x\uD83D']) {
      throwsCode(api, () => s.increment(key, 1, 1), 'INVALID_KEY', { argument: 'key' })
      throwsCode(api, () => s.intern(key), 'INVALID_KEY')
      throwsCode(api, () => s.pendingDelta(key), 'INVALID_KEY')
      throwsCode(api, () => s.increments({ ok: 1, [key]: 1 }, 1), 'INVALID_KEY')
      throwsCode(api, () => new Global().reset(key, 1), 'INVALID_KEY')
      throwsCode(api, () => new Global().total(key), 'INVALID_KEY')
      throwsCode(api, () => new Router().route(key), 'INVALID_KEY')
      throwsCode(api, () => api.keyHash(key), 'INVALID_KEY')
    }
    // Halves of one character in two keys are two bad keys, not one good key.
    throwsCode(api, () => s.increments([['x\ud83d', 1], ['\udd11y', 10]], 1), 'INVALID_KEY')
    throwsCode(api, () => s.increments([['\ud800', 1], ['\udc00', 2]], 1), 'INVALID_KEY')
    throwsCode(api, () => s.increments(new Map([['\ud800', 1]]), 1), 'INVALID_KEY')
    assert.equal(hex(s.snapshot()), before, 'nothing changed')
    assert.deepEqual(s.pending().map((e) => [e.key, e.delta]), [['x🔑', 1], ['\uFFFD', 1]])
    assert.equal(s.pendingDelta('\uFFFD'), 1, 'U+FFFD itself is a key like any other')
  })

  test('a typed array is not increments entries', () => {
    const s = new Shard(identity)
    const before = hex(s.snapshot())
    for (const entries of [new Uint8Array([5, 6]), new Float64Array([1]), new DataView(new ArrayBuffer(2))]) {
      throwsCode(api, () => s.increments(entries, 1), 'INVALID_ARGUMENT', { argument: 'entries' })
    }
    assert.equal(hex(s.snapshot()), before)
    assert.deepEqual(s.pending(), [])
  })

  /** `f` throws exactly `boom`, and the machine's snapshot is unchanged. */
  function callerThrows(machine, f) {
    const boom = new Error('the caller’s own error')
    const before = hex(machine.snapshot())
    assert.throws(() => f(boom), (e) => e === boom)
    assert.equal(hex(machine.snapshot()), before, 'state unchanged')
  }
  const thrower = (boom) => () => {
    throw boom
  }

  test("the caller's exception while arguments are read leaves the machine unchanged and usable", () => {
    const s = new Shard({ ...identity, flushAfterRequests: 0 })
    const id = s.intern('a')
    s.increment('a', 1, 5)
    s.increment('a', 1, 5) // buffered in JavaScript
    const g = new Global()
    g.handleBatch(batchOf(api), 1)
    const cases = [
      ['a throwing getter in increments', (boom) => s.increments(Object.defineProperty({ a: 1 }, 'b', { get: thrower(boom), enumerable: true }), 6)],
      ['a Proxy whose ownKeys throws', (boom) => s.increments(new Proxy({}, { ownKeys: thrower(boom) }), 6)],
      ['a Map subclass whose iterator throws', (boom) => s.increments(new (class extends Map { [Symbol.iterator] = thrower(boom) })([['a', 1]]), 6)],
      ['a throwing [key, delta] element', (boom) => s.increments([['a', 1], Object.defineProperty(['b', 1], 1, { get: thrower(boom) })], 6)],
      ['an id getter in incrementIds', (boom) => s.incrementIds(Object.defineProperty([id, id], 1, { get: thrower(boom) }), [1, 1], 6)],
      ['a delta getter in incrementIds', (boom) => s.incrementIds([id, id], Object.defineProperty([1, 1], 0, { get: thrower(boom) }), 6)],
      ['a typed array whose buffer getter throws', (boom) => s.incrementIds(Object.defineProperty(Uint32Array.of(id), 'buffer', { get: thrower(boom) }), Float64Array.of(1), 6)],
      ['an ack whose bytes getter throws', (boom) => s.handleAck({ get bytes() { return thrower(boom)() } }, 6)],
      ['options with a throwing getter (restore)', (boom) => Shard.restore(s.snapshot(), { get flushAfterRequests() { return thrower(boom)() } })],
    ]
    for (const [what, f] of cases) {
      try {
        callerThrows(s, f)
      } catch (e) {
        e.message = `${what}: ${e.message}`
        throw e
      }
    }
    callerThrows(g, (boom) => g.handleBatch({ get bytes() { return thrower(boom)() } }, 2))
    callerThrows(g, (boom) => Global.restore(g.snapshot(), { upstream: { get shardCount() { return thrower(boom)() } } }))
    // A non-string key is rejected by its type: its `toString` never runs.
    throwsCode(api, () => g.reset({ toString: () => 'a' }, 2), 'INVALID_ARGUMENT', { argument: 'key' })
    // Both machines still work.
    s.increment('a', 1, 7)
    s.incrementIds([id], [2], 7)
    assert.equal(s.pendingDelta('a'), 5)
    assert.deepEqual(s.flush(8), { type: 'sent', seq: 1 })
    const batch = s.pollOutput()
    assert.equal(s.handleAck(g.handleBatch(batch, 9), 9), true)
    assert.equal(g.total('a'), 5 + 3)
  })
}

/** A batch of `{ a: 3 }` from a throwaway shard. */
function batchOf(api) {
  const s = new api.Shard({ shard: 9, incarnation: 1 })
  s.increment('a', 3, 1)
  s.flush(1)
  return s.pollOutput()
}
