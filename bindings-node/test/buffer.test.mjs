// The JavaScript `Shard` buffers per-call increments and `increments` of plain objects
// (bindings-js/src/api.js). These tests
// drive it side by side with a shard that hands every increment to the engine at once, with
// the same inputs, and require identical results, errors, outputs, deadlines and snapshot
// bytes, plus targeted edge cases.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Shard, Global, ShardtallyError } from 'shardtally'
import { throwsCode, shardState } from './helpers.mjs'

const isDelta = (d) => (typeof d === 'number' && Number.isSafeInteger(d)) || (typeof d === 'bigint' && d >= -I64_MAX - 1n && d <= I64_MAX)

/**
 * The reference: a view after every increment hands it over at once (nothing stays
 * buffered), and the calls the wrapper may buffer go to the engine by another route that
 * has the same outcome (one request each): `increments` as `incrementsCoalesced(entries, 1)`,
 * `incrementId` as `incrementIds` of one id (arguments of the wrong type take the wrapper's
 * own method, whose checks come first).
 */
class Unbuffered extends Shard {
  increment(key, delta, nowMs) {
    super.increment(key, delta, nowMs)
    this.pendingKeys()
  }

  increments(entries, nowMs) {
    if (entries !== null && typeof entries === 'object' && Object.keys(entries).length > 0) super.incrementsCoalesced(entries, 1, nowMs)
    else super.increments(entries, nowMs)
    this.pendingKeys()
  }

  incrementId(id, delta, nowMs) {
    if (Number.isInteger(id) && id >= 0 && id < 2 ** 32 && isDelta(delta) && typeof nowMs === 'number') super.incrementIds(Uint32Array.of(id), [delta], nowMs)
    else super.incrementId(id, delta, nowMs)
    this.pendingKeys()
  }
}

/** mulberry32: a small seeded generator, so failures replay. */
function rng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const KEYS = ['a', 'b', 'c', 'd', 'e', 'é', 'x€']
// Empty, too long, lone surrogates (INVALID_KEY; they used to become U+FFFD, merging with the real one).
const ODD_KEYS = ['toolongkey', '', '\uD800', '\uDC00x', '\uFFFD', 'a\uDC00b']
const I64_MAX = 9223372036854775807n

function pickDelta(r, wild) {
  const x = r()
  if (x < 0.97) return Math.floor(r() * 7) - 2
  return wild ? pickOddDelta(r) : pick(r, [1.5, NaN, '1', null, 1n])
}

const pick = (r, xs) => xs[Math.floor(r() * xs.length)]

function pickOddDelta(r) {
  const x = r()
  if (x < 0.1) return Math.floor(r() * 7) - 2
  if (x < 0.8) return Number.MAX_SAFE_INTEGER - Math.floor(r() * 3)
  if (x < 0.85) return -Number.MAX_SAFE_INTEGER
  if (x < 0.88) return r() < 0.5 ? I64_MAX : -I64_MAX
  if (x < 0.9) return 2n ** 62n
  if (x < 0.92) return 3n
  const bad = [1.5, NaN, Infinity, '1', null, undefined, 2 ** 53, -(2 ** 60), 2n ** 64n]
  return bad[Math.floor(r() * bad.length)]
}

/** Runs `fn` on both shards; results (or error codes and messages) must be equal. */
function both(ref, sut, fn, what) {
  let a
  let b
  try {
    a = { ok: fn(ref) }
  } catch (e) {
    assert.ok(e instanceof ShardtallyError, `reference threw ${e}`)
    a = { code: e.code, message: e.message }
  }
  try {
    b = { ok: fn(sut) }
  } catch (e) {
    assert.ok(e instanceof ShardtallyError, `wrapper threw ${e}`)
    b = { code: e.code, message: e.message }
  }
  assert.deepStrictEqual(b, a, what)
  return b
}

function compareState(ref, sut, what) {
  assert.deepStrictEqual(shardState(sut), shardState(ref), what)
}

function session(seed) {
  const r = rng(seed)
  // Odd seeds also use deltas near the 64-bit limits (which stop buffering for a while).
  const wild = seed % 2 === 1
  const pick = (xs) => xs[Math.floor(r() * xs.length)]
  const options = {
    shard: 3,
    incarnation: 7,
    flushAfterRequests: pick([0, 0, 1, 2, 5, 20, 50]),
    flushAfterIdleMs: pick([0, 5, 40]),
    flushMaxAgeMs: pick([0, 10, 100]),
    ackTimeoutMs: pick([5, 50]),
    retryInitialMs: 2,
    retryMaxMs: 8,
    maxPendingKeys: pick([3, 100, 1000]),
    maxInternedKeys: 3,
    maxKeyBytes: pick([3, 8]),
    seed,
  }
  const ref = new Unbuffered(options)
  const sut = new Shard(options)
  const gRef = new Global({ persistAfterWrites: 0 })
  const gSut = new Global({ persistAfterWrites: 0 })
  let now = 1000
  let ids = []
  const steps = 300
  for (let step = 0; step < steps; step++) {
    const what = `seed ${seed} step ${step}`
    const x = r()
    if (x < 0.03) now = Math.max(0, now - Math.floor(r() * 5)) // the clock steps back
    else if (x < 0.2) now += Math.floor(r() * 12)
    const op = r()
    if (op < 0.7) {
      // Bursts of increments at one time: what the buffer is for.
      const n = 1 + Math.floor(r() * 30)
      for (let i = 0; i < n; i++) {
        const y = r()
        const key = y < 0.93 ? pick(KEYS) : y < 0.99 ? pick(ODD_KEYS) : pick([7, null, undefined])
        const delta = pickDelta(r, wild)
        const t = r() < 0.98 ? now : pick([-1, 1.5, NaN, '5', 2 ** 53])
        both(ref, sut, (s) => s.increment(key, delta, t), `${what} increment(${String(key)}, ${String(delta)}, ${String(t)})`)
      }
    } else if (op < 0.74) {
      // Plain objects of well-formed keys are buffered like increments; anything odd in
      // one (a key, a delta, a time) sends the whole call to the engine.
      const y = r()
      const entries =
        y < 0.6
          ? Object.fromEntries(Array.from({ length: 1 + Math.floor(r() * 4) }, () => [pick(KEYS), pickDelta(r, wild)]))
          : y < 0.8
            ? { [pick(KEYS)]: pickDelta(r, wild), [pick(ODD_KEYS)]: pickDelta(r, wild) }
            : [[pick(KEYS), pickOddDelta(r)], [pick(KEYS), 1]]
      const t = r() < 0.95 ? now : pick([-1, 1.5, '5'])
      both(ref, sut, (s) => s.increments(entries, t), `${what} increments`)
    } else if (op < 0.77) {
      const key = pick([...KEYS, ...ODD_KEYS])
      const id = both(ref, sut, (s) => s.intern(key), `${what} intern`)
      if (id.ok !== undefined) ids.push(id.ok)
    } else if (op < 0.8) {
      const pool = [...ids, 99]
      const chosen = [pick(pool), pick(pool)]
      const deltas = r() < 0.5 ? new Float64Array([pickOddDelta(r), 1].map(Number)) : [1, pickOddDelta(r)]
      both(ref, sut, (s) => s.incrementIds(Uint32Array.from(chosen), deltas, now), `${what} incrementIds`)
      const one = pick(pool)
      both(ref, sut, (s) => s.incrementId(one, 1, now), `${what} incrementId`)
    } else if (op < 0.84) {
      both(ref, sut, (s) => s.flush(now), `${what} flush`)
    } else if (op < 0.85 && r() < 0.2) {
      both(ref, sut, (s) => s.drain(now), `${what} drain`)
    } else if (op < 0.9) {
      both(ref, sut, (s) => s.handleTimeout(now), `${what} handleTimeout`)
    } else if (op < 0.92) {
      const seq = ref.inFlight()?.seq ?? 1
      both(ref, sut, (s) => s.handleFailure(seq, now), `${what} handleFailure`)
    } else if (op < 0.93) {
      const bytes = ref.snapshot()
      assert.deepStrictEqual(Buffer.from(sut.snapshot()), Buffer.from(bytes), `${what} snapshot`)
    }
    // The run loop: poll outputs and the deadline, deliver most batches.
    if (r() < 0.8) {
      for (;;) {
        const a = ref.pollOutput()
        const b = sut.pollOutput()
        assert.deepStrictEqual(b, a, `${what} pollOutput`)
        if (a === null) break
        if (r() < 0.85) {
          const acks = new Map()
          const result = both(gRef, gSut, (g) => {
            const ack = g.handleBatch(g === gRef ? a : b, now)
            acks.set(g, ack)
            return ack
          }, `${what} handleBatch`)
          if (result.code === undefined && r() < 0.9) {
            both(ref, sut, (s) => s.handleAck(acks.get(s === ref ? gRef : gSut), now), `${what} handleAck`)
          }
        }
      }
    }
    assert.deepStrictEqual(sut.pollTimeout(), ref.pollTimeout(), `${what} pollTimeout`)
    assert.deepStrictEqual(sut.nextDeadline(), ref.nextDeadline(), `${what} nextDeadline`)
    if (r() < 0.1) compareState(ref, sut, what)
    if (r() < 0.05) both(ref, sut, (s) => s.takeStateChanged(), `${what} takeStateChanged`)
  }
  compareState(ref, sut, `seed ${seed} end`)
  assert.deepStrictEqual(gSut.totals(), gRef.totals(), `seed ${seed} totals`)
}

test('the buffered Shard behaves exactly like the native one (random sessions)', () => {
  for (let seed = 1; seed <= 60; seed++) session(seed)
})

test('the request that reaches flushAfterRequests cuts the batch, with everything buffered', () => {
  const s = new Shard({ shard: 0, incarnation: 1, flushAfterRequests: 100 })
  for (let i = 0; i < 99; i++) {
    s.increment(i % 2 ? 'x' : 'y', 1, 50)
    assert.equal(s.pollOutput(), null)
  }
  assert.equal(s.pendingRequests(), 99)
  s.increment('x', 1, 50)
  const batch = s.pollOutput()
  assert.equal(batch.reason, 'requests')
  assert.deepEqual(batch.entries.map((e) => [e.key, e.delta]), [['x', 50], ['y', 50]])
  assert.equal(s.pendingRequests(), 0)
  assert.equal(s.stats().requests, 100)
})

test('an error in the middle of buffered increments is thrown by its own call, state unchanged', () => {
  const s = new Shard({ shard: 0, incarnation: 1, flushAfterRequests: 0, maxPendingKeys: 3, maxKeyBytes: 4 })
  for (let i = 0; i < 10; i++) s.increment('a', 1, 7)
  s.increment('b', 2, 7)
  s.increment('c', 3, 7)
  const before = shardState(s)
  throwsCode(() => s.increment('d', 1, 7), 'TABLE_FULL', { table: 'pending keys', limit: 3 })
  throwsCode(() => s.increment('abcde', 1, 7), 'KEY_TOO_LONG', { len: 5, max: 4 })
  throwsCode(() => s.increment('a', 0.5, 7), 'INVALID_DELTA', { value: '0.5' })
  assert.deepStrictEqual(shardState(s), before)
  assert.deepEqual(s.pending().map((e) => [e.key, e.delta]), [['a', 10], ['b', 2], ['c', 3]])
  assert.equal(s.pendingRequests(), 12)
})

test('a buffered key near the 64-bit limit still reports OVERFLOW on the exact call', () => {
  const s = new Shard({ shard: 0, incarnation: 1, flushAfterRequests: 0 })
  s.increment('z', I64_MAX - 5n, 9)
  s.increment('z', 2, 9)
  s.increment('z', 3, 9)
  throwsCode(() => s.increment('z', 1, 9), 'OVERFLOW', { key: 'z', current: I64_MAX, delta: 1 })
  s.increment('z', -10, 9)
  assert.equal(s.pendingDelta('z'), I64_MAX - 10n)
})

test('pollOutput and pollTimeout stay in JavaScript between native inputs', () => {
  const s = new Shard({ shard: 0, incarnation: 1, flushAfterRequests: 0, flushAfterIdleMs: 100, flushMaxAgeMs: 0 })
  s.increment('k', 1, 10)
  assert.equal(s.pollTimeout(), 110)
  for (let i = 0; i < 50; i++) {
    s.increment('k', 1, 10)
    assert.equal(s.pollOutput(), null)
    assert.equal(s.pollTimeout(), 110)
  }
  s.increment('k', 1, 20) // a new time: the idle deadline moves
  assert.equal(s.pollTimeout(), 120)
  s.handleTimeout(120)
  const batch = s.pollOutput()
  assert.equal(batch.reason, 'idle')
  assert.deepEqual(batch.entries.map((e) => e.delta), [52])
  assert.equal(s.pollOutput(), null)
})

test('increments of a plain object are buffered as one request, and a bad entry sends the whole call to the engine', () => {
  const s = new Shard({ shard: 0, incarnation: 1, flushAfterRequests: 5, maxPendingKeys: 3, maxKeyBytes: 4 })
  s.increment('a', 1, 7) // a native input at 7: later inputs at 7 may be buffered
  s.increments({ a: 2, b: 3 }, 7)
  s.increments({ b: 1, c: 4 }, 7)
  const before = shardState(s)
  // A fourth key: the pending table is full; the whole call fails and nothing of it stays.
  throwsCode(() => s.increments({ a: 1, d: 1 }, 7), 'TABLE_FULL', { table: 'pending keys', limit: 3 })
  throwsCode(() => s.increments({ a: 1, abcde: 1 }, 7), 'KEY_TOO_LONG', { len: 5, max: 4 })
  throwsCode(() => s.increments({ a: 1, b: 0.5 }, 7), 'INVALID_DELTA', { value: '0.5' })
  assert.deepStrictEqual(shardState(s), before)
  assert.deepEqual(s.pending().map((e) => [e.key, e.delta]), [['a', 3], ['b', 4], ['c', 4]])
  assert.equal(s.pendingRequests(), 3)
  // The fifth request reaches flushAfterRequests: it cuts the batch at once.
  s.increments({ c: 1 }, 7)
  assert.equal(s.pollOutput(), null)
  s.increments({ a: 1, b: 1 }, 7)
  const batch = s.pollOutput()
  assert.equal(batch.reason, 'requests')
  assert.deepEqual(batch.entries.map((e) => [e.key, e.delta]), [['a', 4], ['b', 5], ['c', 5]])
  assert.equal(s.stats().requests, 5)
})

test('incrementId takes the buffered path for ids it knows, including a restored shard ids, but not for keys its settings would refuse', () => {
  const opts = { shard: 0, incarnation: 1, flushAfterRequests: 0, maxKeyBytes: 8 }
  const s = new Shard(opts)
  const [short, long] = [s.intern('ab'), s.intern('abcdefg')]
  const snapshot = s.snapshot()
  // Restored with a lower maxKeyBytes: `increment('abcdefg')` would be KEY_TOO_LONG, the id still works.
  const r = Shard.restore(snapshot, { flushAfterRequests: 0, maxKeyBytes: 4 })
  for (let i = 0; i < 3; i++) {
    r.incrementId(short, 2, 5)
    r.incrementId(long, 1, 5)
  }
  throwsCode(() => r.incrementId(99, 1, 5), 'UNKNOWN_KEY_ID', { id: 99 })
  assert.deepEqual(r.pending().map((e) => [e.key, e.delta]), [['ab', 6], ['abcdefg', 3]])
  assert.equal(r.pendingRequests(), 6)
  assert.equal(r.stats().requests, 6)
})

test('incrementId over many distinct ids (sent directly once the buffer stops paying) ends as the reference', () => {
  const opts = { shard: 0, incarnation: 1, flushAfterRequests: 0, maxPendingKeys: 10_000, maxInternedKeys: 10_000 }
  const [ref, sut] = [new Unbuffered(opts), new Shard(opts)]
  const ids = []
  for (let i = 0; i < 3000; i++) ids.push(both(ref, sut, (s) => s.intern(`k${i}`), `intern ${i}`).ok)
  // A first pass of distinct ids fills the buffer with as many keys as increments; the view
  // hands it over, and the next passes go to the engine one call each, then buffer again.
  for (let pass = 0; pass < 3; pass++) {
    for (const id of ids) both(ref, sut, (s) => s.incrementId(id, pass + 1, 7), `pass ${pass} id ${id}`)
    assert.equal(sut.pendingKeys(), 3000)
  }
  both(ref, sut, (s) => s.incrementId(99_999, 1, 7), 'an unknown id')
  compareState(ref, sut, 'after three passes')
  assert.equal(sut.pendingDelta('k2999'), 6)
  assert.equal(sut.pendingRequests(), 9000)
})
