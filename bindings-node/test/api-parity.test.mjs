// The Node package (`shardtally`) and the WebAssembly package (`shardtally-wasm`) are one JS
// API (bindings-js/src/api.js over each package's native half), mapped name by name to the
// Python package. This file checks it:
//
// - the same exported names, classes, methods and error codes in both packages, and the
//   same low-level surface in both native halves (napi-rs and wasm-bindgen);
// - identical inputs give identical results, errors (class, code, message, fields);
// - every JS name has its Python name (camelCase → snake_case; error codes ↔ exception
//   classes; a method Python spells as a protocol, `len` as `__len__`, counts), read from the
//   Python package itself: a JS name Python lacks fails the test.
//
// The WebAssembly package is built by ../bindings-wasm/scripts/build.sh (quick when it is up
// to date). The wasm checks are skipped, with a message, only when the wasm tooling (cargo
// and the wasm32-unknown-unknown target, or rustup to install it) is absent. The Python
// package comes from the venv bindings-python/scripts/test.sh builds (`make test` runs it
// first); without it the Python test fails, saying how to build it.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import * as node from '../index.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const wasmDir = join(here, '..', '..', 'bindings-wasm')
const pkg = join(wasmDir, 'pkg')
const nodeNative = createRequire(import.meta.url)('../binding.js')

/** Why the WebAssembly package cannot be built here, or `null` when it can. */
function missingTooling() {
  const has = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0
  if (!has('cargo', ['--version'])) return 'cargo is not installed'
  if (has('rustup', ['--version'])) return null
  if (has('rustc', ['--print', 'target-libdir', '--target', 'wasm32-unknown-unknown'])) return null
  return 'the wasm32-unknown-unknown target is missing and rustup is not available to add it'
}

const skip = missingTooling()
let wasm = null
let wasmNative = null
if (skip === null) {
  // Builds (or confirms up to date) the package the parity checks load.
  execFileSync('sh', [join(wasmDir, 'scripts', 'build.sh')], { stdio: ['ignore', 'ignore', 'inherit'] })
  wasm = await import(join(pkg, 'index.js'))
  wasmNative = await import(join(pkg, 'shardtally_wasm.js'))
}
const opts = skip === null ? {} : { skip: `shardtally-wasm cannot be built here (${skip}); install Rust with rustup to run the parity checks` }

/**
 * A comparable form of any result: bytes as arrays, errors as their class, code, message
 * and fields, instances of the packages' classes as their class name.
 */
function norm(v) {
  if (v instanceof Uint8Array) return { uint8array: Array.from(v) }
  if (v instanceof Error) {
    const out = { errorClass: v.constructor.name, name: v.name, isError: true, message: v.message }
    for (const k of Object.keys(v)) out[k] = norm(v[k])
    return out
  }
  if (Array.isArray(v)) return v.map(norm)
  if (v !== null && typeof v === 'object') {
    const proto = Object.getPrototypeOf(v)
    if (proto !== Object.prototype && proto !== null) return { instanceOf: v.constructor.name }
    const out = {}
    for (const k of Object.keys(v)) out[k] = norm(v[k])
    return out
  }
  return v
}

/** Runs `f`, returning its normalised result or thrown error. */
function attempt(f) {
  try {
    return norm(f())
  } catch (e) {
    return norm(e)
  }
}

/** Public method names of a class (own and inherited), without WebAssembly memory handling. */
function methods(C) {
  const names = new Set()
  for (let p = C.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const n of Object.getOwnPropertyNames(p)) {
      if (n !== 'constructor' && !n.startsWith('_') && n !== 'free' && typeof Object.getOwnPropertyDescriptor(p, n).value === 'function') names.add(n)
    }
  }
  return [...names].sort()
}

/** Static methods of a class. */
function statics(C) {
  return Object.getOwnPropertyNames(C)
    .filter((n) => !n.startsWith('_') && typeof Object.getOwnPropertyDescriptor(C, n).value === 'function')
    .sort()
}

/** The same scenario against a package `M`: every call's result, by label. */
function scenario(M) {
  const log = []
  const call = (label, f) => log.push([label, attempt(f)])
  const s = new M.Shard({ shard: 2, incarnation: 7, flushAfterRequests: 4, flushAfterIdleMs: 50, seed: 1 })
  const g = new M.Global({ persistAfterWrites: 1, publishMode: 'changes' })
  call('increment', () => s.increment('a', 1, 10))
  call('increment bigint', () => s.increment('big', 2n ** 60n, 10))
  call('increments record', () => s.increments({ b: 2, a: 3 }, 11))
  call('increments array', () => s.increments([['c', 4n], ['c', 1]], 12))
  call('pending', () => s.pending())
  call('pendingDelta', () => s.pendingDelta('c'))
  call('pendingRequests', () => s.pendingRequests())
  call('pendingKeys', () => s.pendingKeys())
  call('nextDeadline', () => s.nextDeadline())
  call('pollTimeout', () => s.pollTimeout())
  call('increments map', () => s.increments(new Map([['d', 1]]), 12))
  call('incrementsCoalesced', () => s.incrementsCoalesced({ d: 2, e: -1n }, 3n, 12))
  call('pollOutput (requests)', () => s.pollOutput())
  call('pollOutput again', () => s.pollOutput())
  call('intern', () => [s.intern('x'), s.intern('y'), s.intern('x'), s.keyOf(1), s.keyOf(99)])
  call('incrementId', () => s.incrementId(0, 5, 13))
  call('incrementIds', () => s.incrementIds(new Uint32Array([0, 1]), new Float64Array([1, 2]), 13))
  call('incrementIds arrays', () => s.incrementIds([1], [3n], 13))
  call('flush deferred', () => s.flush(14))
  call('inFlight', () => s.inFlight())
  call('takeStateChanged', () => [s.takeStateChanged(), s.takeStateChanged()])
  call('shardRef', () => s.shardRef())
  let batch = null
  call('retry after failure', () => [s.handleFailure(1, 15), s.handleFailure(1, 15), s.nextDeadline(), s.handleTimeout(5000), (batch = s.pollOutput())])
  let ack = null
  call('handleBatch bytes', () => (ack = g.handleBatch(batch.bytes, 16)))
  call('handleBatch object (duplicate)', () => g.handleBatch(batch, 16))
  call('handleAck object', () => [s.handleAck(ack, 17), s.handleAck(ack.bytes, 17)])
  call('flush after ack', () => [s.flush(18), s.pollOutput()])
  call('drain', () => [s.drain(19), s.isDraining(), s.isDrained()])
  call('global pollOutput', () => [g.pollOutput(), g.pollOutput()])
  call('global inFlightPublish', () => g.inFlightPublish())
  call('publish ack', () => [g.handlePublishAck(1, 20), g.handlePublishAck(1, 20), g.publishedVersion()])
  call('reset', () => [g.reset('a', 21), g.reset('nothing', 21), g.generation(), g.keyGeneration('a')])
  call('publish', () => [g.publish(22), g.pollOutput(), g.handlePublishFailure(2, 23), g.handlePublishFailure(2, 23)])
  call('global views', () => [g.total('b'), g.total('none'), g.totals(), g.writeLog(), g.shardWrites(), g.stats(), g.lastSeq(2, 7), g.lastSeq(3, 1)])
  call('global timers', () => [g.nextDeadline(), g.pollTimeout(), g.takeStateChanged(), g.hasUpstream()])
  call('stale keys', () => {
    const late = new M.Shard({ shard: 5, incarnation: 1 })
    late.increment('a', 9, 24)
    late.flush(24)
    return [g.handleBatch(late.pollOutput(), 25), late.stats()]
  })
  call('rejected batch', () => {
    const small = new M.Global({ maxKeys: 1 })
    const r = new M.Shard({ shard: 3, incarnation: 4, flushAfterRequests: 1 })
    r.increment('a', 1, 26)
    r.handleAck(small.handleBatch(r.pollOutput(), 26), 26)
    r.increments({ b: 2, c: 3 }, 27)
    const b = r.pollOutput()
    const rejection = attempt(() => small.handleBatch(b, 27))
    const out = [rejection, r.handleRejection(b.seq + 1, 28), r.handleRejection(b.seq, 28), r.handleRejection(b.seq, 28), r.inFlight()]
    r.increment('a', 5, 29)
    const next = r.pollOutput()
    out.push(next, r.handleAck(small.handleBatch(next, 29), 29), r.stats(), small.totals(), r.snapshot())
    return out
  })
  call('shard stats', () => s.stats())
  call('snapshots', () => [s.snapshot(), g.snapshot()])
  call('shard restore', () => {
    const r = M.Shard.restore(s.snapshot(), { flushAfterRequests: 2 })
    return [r.shardRef(), r.pending(), r.inFlight(), r.pollOutput(), r.nextDeadline(), r.generation()]
  })
  call('global restore', () => {
    const r = M.Global.restore(g.snapshot())
    return [r.totals(), r.stats(), r.pollOutput(), r.writeLog()]
  })
  call('generation option', () => {
    const n = new M.Shard({ shard: 6, incarnation: 2, generation: g.generation() })
    n.increment('a', 1, 30)
    n.flush(30)
    return [n.generation(), g.handleBatch(n.pollOutput(), 30)]
  })
  call('far deadline', () => {
    const far = new M.Shard({ shard: 0, incarnation: 1, flushAfterIdleMs: 1000 })
    far.increment('a', 1, 2 ** 53 - 1)
    return [far.pollTimeout(), far.nextDeadline()]
  })
  call('tiered', () => {
    const t = new M.Global({ upstream: { shard: 1, incarnation: 3, flushAfterIdleMs: 10 } })
    const b = new M.Shard({ shard: 0, incarnation: 1 })
    b.increment('k', 3, 1)
    b.flush(1)
    t.handleBatch(b.pollOutput(), 1)
    const top = new M.Global()
    const out = [t.hasUpstream(), t.nextDeadline(), t.flushUpstream(2)]
    const fwd = t.pollOutput()
    const up = top.handleBatch(fwd, 3)
    out.push(fwd, up, t.handleUpstreamAck(up, 4), t.handleUpstreamFailure(1, 4), t.pollOutput(), top.totals())
    const r = M.Global.restore(t.snapshot(), { upstream: { flushAfterIdleMs: 10 } })
    out.push(r.hasUpstream(), r.totals())
    return out
  })
  for (const [strategy, extra] of [['hash', {}], ['random', { seed: 3 }], ['round_robin', {}], ['pinned', { pinnedShard: 2 }]]) {
    call(`router ${strategy}`, () => {
      const r = new M.Router({ strategy, shardCount: 4, ...extra })
      const routes = ['a', 'b', 'c', 'd', 'e'].map((k) => r.route(k))
      const out = [routes, r.strategy(), r.pinnedShard(), r.shardCount()]
      out.push(attempt(() => r.setShardCount(3)), r.draining(), r.markDrained(3), r.markDrained(3), r.draining())
      const back = M.Router.restore(r.snapshot())
      out.push(back.route('z'), back.strategy(), back.pinnedShard(), back.draining(), r.snapshot())
      return out
    })
  }
  call('router defaults', () => {
    const r = new M.Router()
    return [r.strategy(), r.shardCount(), r.pinnedShard(), r.route('x'), new M.Router({ pinnedShard: 1, shardCount: 2 }).strategy()]
  })
  call('partition', () => [M.keyHash('a'), M.jumpHash(M.keyHash('a'), 10), M.jumpHash(12345, 0)])
  call('config', () => [
    s.config(),
    g.config(),
    new M.Global({ upstream: { shard: 1, incarnation: 2, seed: 2n ** 64n - 1n } }).config(),
    new M.Gateway({ group: 'g', limit: 4 }).config(),
    new M.Membership({ assignment: 'compact' }).config(),
    new M.Buckets({ utcOffsetMinutes: -60 }).config(),
    new M.Outbox({ seed: 2n ** 64n - 1n }).config(),
  ])
  call('request keys', () => [
    M.defaultRoute(''),
    M.defaultRoute('/users/42/x/3f2c1b9e-0a5d-4c1e-9a7b-1234567890ab'),
    M.requestKey('PATCH', '/é', 7),
    M.requestKey('get', '/'),
    M.requestKey('GET', '/x'.repeat(200)),
  ])
  call('partition helpers', () => [M.knuthHash(7), M.ownerMod(2n ** 64n - 1n, 3), M.ownerRange(M.keyHash('a'), 5), M.shardRange(1, 2), M.shardRange(2, 2), M.shardRange(0, 0)])
  call('journal and notices', () => {
    const j = new M.Global({ persistAfterWrites: 0 })
    const a = new M.Shard({ shard: 1, incarnation: 2, flushAfterRequests: 1 })
    a.increment('k', 4, 1)
    const b = a.pollOutput()
    a.handleAck(j.handleBatch(b, 2), 2)
    a.increment('k', 1, 3)
    const out = [a.takeChanges(), a.takeChanges(), j.takeChanges(), j.reset('k', 4)]
    const notice = j.pollOutput()
    out.push(notice, a.handleGenerationNotice(notice, 5), a.handleGenerationNotice(notice.bytes, 5), a.pending(), j.generationNotice('k', 1, 2))
    out.push(M.Shard.fromRows(a.rows().map((o) => [o.table, o.value])).snapshot(), M.Global.fromRows(j.rows().map((o) => [o.table, o.value])).totals())
    return out
  })
  call('gateway', () => {
    const gw = new M.Gateway({ group: 'g', limit: 1, retireAfterIdleMs: 100 })
    const r = gw.route('u1', 1)
    const out = [r, gw.pollOutput(), gw.handleReplicaCreated(r.creation, 'r1', 2), gw.handleConnect('g', 'r1', 'c1', 'u1', 3), gw.route('u2', 4)]
    out.push(gw.handleReplicaCreated(1, 'r2', 5), gw.handleConnect('g', 'r2', 'c2', 'u2', 5), gw.pollOutput(), gw.pollOutput())
    const plan = gw.gossip('g', 'r1', 6)
    out.push(plan, gw.handleGossipReply('g', plan.gossip, 'r2', Uint8Array.of(1, 2), 7), gw.pollOutput())
    out.push(gw.emit('g', 'r1', 'c1', true), gw.broadcast('g', 'r1', 'c1', false), gw.whisper('g', 'r1', 'c1', 'u2'))
    out.push(gw.replicas(), gw.replica('r2'), gw.replica('nope'), gw.connections('r1'), gw.sticky('u2'), gw.requestIds(), gw.reservations(), gw.pendingCreations(), gw.gossips(), gw.current(), gw.group())
    out.push(gw.handleClose('g', 'r1', 'c1', 8), gw.handleClose('g', 'r1', 'c1', 8), gw.nextDeadline(), gw.pollTimeout(), gw.handleTimeout(200), gw.pollOutput(), gw.stats(), gw.takeStateChanged())
    const back = M.Gateway.restore(gw.snapshot(), { limit: 1 })
    back.handleReport('g', 'r2', [['c2', 'u2'], ['c3', 'u3']], 9)
    out.push(back.replicas(), back.handleCreationFailed(7, 9), gw.snapshot())
    out.push(gw.takeChanges(), gw.takeChanges(), back.takeChanges(), gw.rows(), M.Gateway.fromRows(back.rows().map((o) => [o.table, o.value]), { limit: 1 }).snapshot())
    return out
  })
  call('membership', () => {
    const m = new M.Membership({ heartbeatIntervalMs: 100, gracePeriodMs: 50, reshardIntervalMs: 10 })
    m.register('c', 'h1', 1)
    m.register('c', 'h2', 2)
    const out = [m.pollOutput(), m.shardInfo('c', 'h1', 3), m.nextDeadline(), m.pollTimeout()]
    m.handleTimeout(20)
    out.push(m.pollOutput(), m.pollOutput(), m.assignments('c', 20), m.clusterInfo('c'), m.clusterInfo('x'), m.clusters(), m.takeChangedClusters(), m.takeChangedClusters())
    m.heartbeat('c', 'h1', 30)
    m.unregister('c', 'h2', 31)
    m.register('d', 'h9', 32)
    m.removeCluster('d', 33)
    out.push(m.pollOutput(), m.stats(), m.takeStateChanged(), m.snapshotCluster('c'), m.snapshotCluster('d'))
    out.push(M.Membership.restore(m.snapshot()).clusters(), M.Membership.restoreClusters([m.snapshotCluster('c')]).snapshot())
    return out
  })
  call('buckets', () => {
    const b = new M.Buckets({ utcOffsetMinutes: 60 })
    const day = 86_400_000
    const out = [b.record('GET /', 5 * day, 5 * day), b.recordCount('GET /', 3n, 5 * day + 1, 5 * day), b.recordMany({ 'POST /': 2, 'GET /': 1 }, 6 * day, 6 * day)]
    const s = new M.Shard({ shard: 0, incarnation: 1 })
    s.increments({ x: 2, y: 1 }, 1)
    s.flush(1)
    out.push(b.recordBatch(s.pollOutput(), 6 * day, 6 * day), b.takeChanges(), b.rollup('1970-01', 7 * day), b.dailyTotals('1970-01-06', '1970-01-07'), b.periodTotals('1970'))
    out.push(b.dailyTotal('1970-01-06', 'GET /'), b.rawCount('1970-01-07', 'x'), b.rawDays(), b.rawEvents(), b.keyCount(), b.dailyDays(), b.dayOf(day - 1), b.dayStart('1970-01-02'))
    out.push(b.expire(100 * day), b.nextDeadline(), b.pollTimeout(), b.handleTimeout(100 * day), b.stats(), b.takeStateChanged(), b.rows(), b.takeChanges())
    out.push(M.Buckets.fromRows(b.rows(), { utcOffsetMinutes: 60 }).snapshot(), M.Buckets.restore(b.snapshot(), { utcOffsetMinutes: 60 }).snapshot())
    return out
  })
  call('outbox', () => {
    const o = new M.Outbox({ capacity: 2, seed: 5 })
    const out = [o.offer(Uint8Array.of(1), 1), o.offer(Uint8Array.of(2), 1), o.offer(Uint8Array.of(3), 1), o.pollOutput(), o.len(), o.isEmpty(), o.queuedIds(), o.inFlightIds()]
    out.push(o.failed(1, 2), o.isReconnecting(), o.nextDeadline(), o.pollTimeout())
    o.handleTimeout(10_000)
    out.push(o.pollOutput(), o.pollOutput(), o.sent(1, 10_001), o.sent(1, 10_001), o.close(10_002), o.isClosed(), o.pollOutput())
    out.push(o.sent(2, 10_003), o.pollOutput(), o.isDrained(), o.stats(), o.takeStateChanged(), M.Outbox.restore(o.snapshot()).stats())
    out.push(o.takeChanges(), o.takeChanges(), o.rows(), M.Outbox.fromRows(o.rows().map((r) => [r.table, r.value]), { capacity: 2 }).snapshot())
    return out
  })
  return log
}

/** The same bad inputs against a package `M`: every error's class, code, message and fields. */
function badInputs(M) {
  const s = new M.Shard({ shard: 0, incarnation: 1, maxKeyBytes: 8, maxPendingKeys: 2 })
  const g = new M.Global({ maxKeys: 1 })
  const other = new M.Shard({ shard: 9, incarnation: 1 })
  other.increment('a', 1, 1)
  other.flush(1)
  const foreignAck = new M.Global().handleBatch(other.pollOutput(), 1)
  const cases = {
    'empty key': () => s.increment('', 1, 1),
    'key too long': () => s.increment('k'.repeat(9), 1, 1),
    'fractional delta': () => s.increment('a', 1.5, 1),
    'unsafe delta': () => s.increment('a', 2 ** 53, 1),
    'bigint delta out of range': () => s.increment('a', 2n ** 63n, 1),
    'string delta': () => s.increment('a', '1', 1),
    'negative time': () => s.increment('a', 1, -1),
    'NaN time': () => s.increment('a', 1, NaN),
    'fractional time': () => s.increment('a', 1, 1.5),
    'time beyond 2^53-1': () => s.increment('a', 1, 2 ** 53),
    'string time': () => s.increment('a', 1, '1'),
    'non-string key': () => s.increment(5, 1, 1),
    overflow: () => {
      s.increment('o', 2n ** 62n, 2)
      return s.increment('o', 2n ** 62n * 2n, 2)
    },
    'pending table full': () => s.increments({ p: 1, q: 1, r: 1 }, 2),
    'increments not an object': () => s.increments(5, 2),
    'increments bad pair': () => s.increments([['a']], 2),
    'increments bad delta': () => s.increments({ a: 1.5 }, 2),
    'coalesced: entries without requests': () => s.incrementsCoalesced({ a: 1, b: 1 }, 0, 2),
    'coalesced: requests not an integer': () => s.incrementsCoalesced({ a: 1 }, 1.5, 2),
    'coalesced: requests a string': () => s.incrementsCoalesced({ a: 1 }, '1', 2),
    'unknown key id': () => s.incrementId(99, 1, 2),
    'ids/deltas length mismatch': () => s.incrementIds([0, 0], [1], 2),
    'ids not an array': () => s.incrementIds('x', [1], 2),
    'deltas not an array': () => s.incrementIds([], 'x', 2),
    'id not an integer': () => s.incrementId(-1, 1, 2),
    'ack for another shard': () => s.handleAck(foreignAck, 3),
    'ack not bytes': () => s.handleAck({ bytes: 'x' }, 3),
    'ack garbage bytes': () => s.handleAck(new Uint8Array([1, 2, 3]), 3),
    'seq not a number': () => s.handleFailure('x', 3),
    'rejection seq not a number': () => s.handleRejection('x', 3),
    'rejection seq negative': () => s.handleRejection(-1, 3),
    'rejection bad time': () => s.handleRejection(1, -3),
    'global key too long': () => {
      const long = new M.Shard({ shard: 2, incarnation: 1 })
      long.increment('k'.repeat(20), 1, 1)
      long.flush(1)
      return new M.Global({ maxKeyBytes: 8 }).handleBatch(long.pollOutput(), 1)
    },
    'global overflow': () => {
      const big = new M.Shard({ shard: 3, incarnation: 1 })
      const h = new M.Global()
      for (const t of [1, 2]) {
        big.increment('o', 2n ** 62n * 3n / 2n, t)
        big.flush(t)
        const b = big.pollOutput()
        big.handleAck(h.handleBatch(b, t), t)
      }
    },
    'snapshot of another kind': () => M.Shard.restore(g.snapshot()),
    'snapshot not bytes': () => M.Global.restore('x'),
    'snapshot truncated': () => M.Router.restore(new M.Router().snapshot().slice(0, 3)),
    'batch garbage': () => g.handleBatch(new Uint8Array([0]), 1),
    'batch not bytes': () => g.handleBatch(null, 1),
    'global table full': () => {
      const two = new M.Shard({ shard: 1, incarnation: 1 })
      two.increments({ a: 1, b: 1 }, 1)
      two.flush(1)
      return g.handleBatch(two.pollOutput(), 1)
    },
    'reset empty key': () => g.reset('', 1),
    'publish version negative': () => g.handlePublishAck(-1, 1),
    'no upstream: ack': () => g.handleUpstreamAck(foreignAck, 1),
    'no upstream: failure': () => g.handleUpstreamFailure(1, 1),
    'no upstream: flush': () => g.flushUpstream(1),
    'shard options missing': () => new M.Shard(),
    'shard missing': () => new M.Shard({ incarnation: 1 }),
    'incarnation missing': () => new M.Shard({ shard: 0 }),
    'shard negative': () => new M.Shard({ shard: -1, incarnation: 1 }),
    'incarnation negative': () => new M.Shard({ shard: 0, incarnation: -1 }),
    'options not an object': () => new M.Shard(5),
    'options an array': () => new M.Global([]),
    'config zero': () => new M.Shard({ shard: 0, incarnation: 1, retryInitialMs: 0 }),
    'config backoff range': () => new M.Shard({ shard: 0, incarnation: 1, retryInitialMs: 5, retryMaxMs: 2 }),
    'config too large': () => new M.Shard({ shard: 0, incarnation: 1, retryJitterPercent: 101 }),
    'config jitter far too large': () => new M.Global({ retryJitterPercent: 300 }),
    'config option wrong type': () => new M.Shard({ shard: 0, incarnation: 1, flushAfterIdleMs: 'soon' }),
    'global config zero': () => new M.Global({ maxKeys: 0 }),
    'publish mode unknown': () => new M.Global({ publishMode: 'x' }),
    'upstream not an object': () => new M.Global({ upstream: 5 }),
    'upstream without incarnation': () => new M.Global({ upstream: { shard: 1 } }),
    'strategy unknown': () => new M.Router({ strategy: 'x' }),
    'pinned without pinnedShard': () => new M.Router({ strategy: 'pinned', shardCount: 2 }),
    'pinned out of range': () => new M.Router({ strategy: 'pinned', pinnedShard: 3, shardCount: 2 }),
    'shard count zero': () => new M.Router({ shardCount: 0 }),
    'setShardCount zero': () => new M.Router().setShardCount(0),
    'setShardCount below pinned': () => new M.Router({ strategy: 'pinned', pinnedShard: 2, shardCount: 3 }).setShardCount(2),
    'route non-string': () => new M.Router().route(1),
    'lastSeq bad shard': () => g.lastSeq(-1, 1),
    'notice garbage': () => s.handleGenerationNotice(new Uint8Array([1]), 1),
    'notice not bytes': () => g.handleGenerationNotice('x', 1),
    'notice without upstream': () => g.handleGenerationNotice(g.generationNotice('a', 0, 1), 1),
    'fromRows not pairs': () => M.Shard.fromRows([['meta']]),
    'fromRows corrupt row': () => M.Global.fromRows([['meta', new Uint8Array([1, 2])]]),
    'fromRows table not a string': () => M.Global.fromRows([[1, new Uint8Array(0)]]),
    'gateway fromRows of an outbox': () => M.Gateway.fromRows(new M.Outbox().rows().map((r) => [r.table, r.value])),
    'outbox fromRows without meta': () => M.Outbox.fromRows([]),
    'gateway group missing': () => new M.Gateway({ limit: 2 }),
    'gateway misspelt setting': () => new M.Gateway({ group: 'g', limt: 2 }),
    'gateway wrong group': () => new M.Gateway({ group: 'g' }).handleConnect('h', 'r', 'c', 'u', 1),
    'gateway id not a string': () => new M.Gateway({ group: 'g' }).route(5, 1),
    'gateway lone surrogate id': () => new M.Gateway({ group: 'g' }).route('\ud800', 1),
    'gateway creation not a number': () => new M.Gateway({ group: 'g' }).handleReplicaCreated('0', 'r', 1),
    'gateway unknown creation': () => new M.Gateway({ group: 'g' }).handleReplicaCreated(9, 'r', 1),
    'gateway includeSender not a boolean': () => new M.Gateway({ group: 'g' }).emit('g', 'r', 'c', 1),
    'gateway report not pairs': () => new M.Gateway({ group: 'g' }).handleReport('g', 'r', [['c']], 1),
    'gateway payload not bytes': () => new M.Gateway({ group: 'g' }).handleGossipReply('g', 0, 'p', 'x', 1),
    'membership misspelt setting': () => new M.Membership({ heartbeatInterval: 1 }),
    'membership unknown cluster': () => new M.Membership().shardInfo('c', 'h', 1),
    'membership empty holder': () => new M.Membership().register('c', '', 1),
    'membership rows not bytes': () => M.Membership.restoreClusters(['x']),
    'membership a snapshot as a cluster row': () => M.Membership.restoreClusters([new M.Membership().snapshot()]),
    'buckets misspelt setting': () => new M.Buckets({ utcOffsetMinute: 1 }),
    'buckets bad period': () => new M.Buckets().rollup('2022-13', 1),
    'buckets bad day': () => new M.Buckets().dailyTotals('x', '2022-01-01'),
    'buckets nothing found': () => new M.Buckets().periodTotals('2022'),
    'buckets count not an integer': () => new M.Buckets().recordCount('k', 1.5, 1, 1),
    'buckets bad row type': () => M.Buckets.fromRows([{ type: 'weird' }]),
    'buckets bad row day': () => M.Buckets.fromRows([{ type: 'raw', day: '2022-02-30', key: 'k', count: 1 }]),
    'buckets bad meta bytes': () => M.Buckets.fromRows([{ type: 'meta', bytes: new Uint8Array([1]) }]),
    'outbox misspelt setting': () => new M.Outbox({ capacty: 1 }),
    'outbox zero capacity': () => new M.Outbox({ capacity: 0 }),
    'outbox message not bytes': () => new M.Outbox().offer('x', 1),
    'outbox id negative': () => new M.Outbox().sent(-1, 1),
    'knuthHash negative': () => M.knuthHash(-1),
    'ownerMod hash not a number': () => M.ownerMod('1', 2),
    'ownerRange shards too large': () => M.ownerRange(1, 2 ** 32),
    'shardRange shard fractional': () => M.shardRange(0.5, 2),
    'defaultRoute lone surrogate': () => M.defaultRoute('/\ud800'),
    'defaultRoute not a string': () => M.defaultRoute(1),
    'requestKey route lone surrogate': () => M.requestKey('GET', '\udc00'),
    'requestKey method not a string': () => M.requestKey(null, '/'),
    'requestKey bound negative': () => M.requestKey('GET', '/', -1),
    'requestKey bound fractional': () => M.requestKey('GET', '/', 2.5),
  }
  const out = {}
  for (const [label, f] of Object.entries(cases)) {
    let thrown = null
    try {
      f()
    } catch (e) {
      thrown = e
    }
    assert.ok(thrown !== null, `${label}: expected an error`)
    assert.ok(thrown instanceof M.ShardtallyError && thrown instanceof Error, `${label}: not a ShardtallyError`)
    assert.equal(typeof thrown.code, 'string', `${label}: no code`)
    assert.equal(typeof thrown.rejectsBatch, 'boolean', `${label}: no rejectsBatch`)
    out[label] = norm(thrown)
  }
  // A rejected call changed nothing.
  out['state after errors'] = attempt(() => [s.pending(), s.stats(), g.totals()])
  return out
}

/** The error codes of a typing (`ShardtallyErrorCode`). */
function declaredCodes(file) {
  const union = /export type ShardtallyErrorCode =([^;]*?)\n\n/s.exec(readFileSync(file, 'utf8'))
  assert.ok(union, `no ShardtallyErrorCode in ${file}`)
  return [...union[1].matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]).sort()
}

/** Exported names of a module, without the loaders' own. */
function exported(M, own = []) {
  return Object.keys(M).filter((n) => n !== 'default' && !own.includes(n)).sort()
}

const MACHINES = ['Shard', 'Global', 'Router', 'Gateway', 'Membership', 'Buckets', 'Outbox']
const BUILDERS = ['GlobalBuilder', 'ShardBuilder']
const FUNCTIONS = ['defaultRoute', 'jumpHash', 'keyHash', 'knuthHash', 'ownerMod', 'ownerRange', 'requestKey', 'shardRange']

test('both packages export the same names, classes and methods', opts, () => {
  assert.deepEqual(exported(node), [...MACHINES, ...BUILDERS, 'ShardtallyError', ...FUNCTIONS].sort())
  assert.deepEqual(exported(node), exported(wasm))
  for (const cls of MACHINES) {
    assert.deepEqual(methods(node[cls]), methods(wasm[cls]), `${cls} methods`)
    assert.deepEqual(statics(node[cls]), statics(wasm[cls]), `${cls} static methods`)
    assert.ok(methods(node[cls]).length > 5, `${cls} has methods`)
  }
  for (const cls of BUILDERS) {
    assert.deepEqual(methods(node[cls]), ['add', 'finish'], `${cls} methods`)
    assert.deepEqual(methods(wasm[cls]), ['add', 'finish'], `${cls} methods`)
    assert.deepEqual(statics(node[cls]), ['readFirst'], `${cls} static methods`)
    assert.deepEqual(statics(wasm[cls]), ['readFirst'], `${cls} static methods`)
    assert.deepEqual(node[cls].readFirst(), wasm[cls].readFirst())
  }
})

test('both native halves have the same low-level surface', opts, () => {
  // Loader-specific names: napi-rs's artifact marker; wasm-bindgen's initialisation.
  assert.deepEqual(exported(nodeNative, ['__napiBindingTarget']), exported(wasmNative, ['initSync']))
  for (const cls of [...MACHINES, ...BUILDERS]) {
    assert.deepEqual(methods(nodeNative[cls]), methods(wasmNative[cls]), `native ${cls} methods`)
    assert.deepEqual(statics(nodeNative[cls]), statics(wasmNative[cls]), `native ${cls} static methods`)
  }
})

test('both packages ship the one typing and the same error codes', opts, () => {
  for (const file of ['index.d.ts', 'surface.d.ts']) {
    assert.equal(readFileSync(join(here, '..', file), 'utf8'), readFileSync(join(pkg, file), 'utf8'), `${file} is the bindings-js copy in both`)
    assert.equal(readFileSync(join(here, '..', file), 'utf8'), readFileSync(join(here, '..', '..', 'bindings-js', 'src', file), 'utf8'))
  }
  assert.ok(declaredCodes(join(here, '..', 'surface.d.ts')).length >= 20)
  assert.ok(existsSync(join(pkg, 'shardtally_wasm_bg.wasm')))
})

test('the same calls give deep-equal results', opts, () => {
  const a = scenario(node)
  const b = scenario(wasm)
  assert.equal(a.length, b.length)
  for (let i = 0; i < a.length; i++) {
    assert.equal(a[i][0], b[i][0])
    assert.deepStrictEqual(a[i][1], b[i][1], `results of "${a[i][0]}" differ (actual: shardtally, expected: shardtally-wasm)`)
  }
})

test('the same bad inputs give the same error class, code, message and fields', opts, () => {
  const a = badInputs(node)
  const b = badInputs(wasm)
  assert.deepEqual(Object.keys(a), Object.keys(b))
  for (const label of Object.keys(a)) {
    assert.deepStrictEqual(a[label], b[label], `error for "${label}" differs (actual: shardtally, expected: shardtally-wasm)`)
  }
})

test('ShardtallyError is constructed the same way', opts, () => {
  const fields = { argument: 'x', value: 1 }
  assert.deepStrictEqual(norm(new node.ShardtallyError('m', 'EMPTY_KEY', fields)), norm(new wasm.ShardtallyError('m', 'EMPTY_KEY', fields)))
  assert.deepStrictEqual(norm(new node.ShardtallyError('m')), norm(new wasm.ShardtallyError('m')))
  const flagged = { rejectsBatch: true }
  assert.deepStrictEqual(norm(new node.ShardtallyError('m', 'TABLE_FULL', flagged)), norm(new wasm.ShardtallyError('m', 'TABLE_FULL', flagged)))
})

/** The Python package's names: functions, classes with their methods, and error classes by code. */
function pythonNames() {
  const python = join(homedir(), '.cache', 'shardtally', 'python-venv', 'bin', 'python')
  assert.ok(
    existsSync(python),
    `the Python package is not built (${python} is missing): run bindings-python/scripts/test.sh (make test runs it before the JS tests)`,
  )
  const script = `
import inspect, json, shardtally
out = {"module": [n for n in dir(shardtally) if not n.startswith("_")], "classes": {}, "codes": {}}
for n in out["module"]:
    o = getattr(shardtally, n)
    if inspect.isclass(o):
        # Python's protocol methods stand for JS methods of the same meaning (\`len(outbox)\`).
        out["classes"][n] = [m for m in dir(o) if not m.startswith("_")] + [m.strip("_") for m in ("__len__",) if m in vars(o)]
        code = getattr(o, "code", None)
        if issubclass(o, BaseException) and isinstance(code, str):
            out["codes"][code] = n
print(json.dumps(out))
`
  return JSON.parse(execFileSync(python, ['-c', script], { encoding: 'utf8' }))
}

const snake = (s) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

test('every JS name has its Python name: functions, classes, methods, error codes', () => {
  const py = pythonNames()
  const missing = []
  for (const name of exported(node)) {
    if (typeof node[name] !== 'function' || !/^[A-Z]/.test(name)) {
      if (!py.module.includes(snake(name))) missing.push(`${name} → shardtally.${snake(name)}`)
      continue
    }
    if (!(name in py.classes)) missing.push(`${name} → class shardtally.${name}`)
    if (name === 'ShardtallyError') continue
    for (const m of [...methods(node[name]), ...statics(node[name])]) {
      if (!(py.classes[name] ?? []).includes(snake(m))) missing.push(`${name}.${m} → ${name}.${snake(m)}`)
    }
  }
  for (const code of declaredCodes(join(here, '..', 'surface.d.ts'))) {
    const cls = py.codes[code]
    if (cls === undefined) missing.push(`error code ${code} → a Python exception class with code ${code}`)
    else if (!(cls in py.classes)) missing.push(`error code ${code} → class shardtally.${cls}`)
  }
  assert.deepEqual(missing, [], `the Python package lacks these names of the JS API:\n  ${missing.join('\n  ')}`)
})
