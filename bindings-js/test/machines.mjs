// A shard's incrementsCoalesced against the same increments one by one; bad inputs of the
// gateway, membership, buckets and outbox machines, of the change journal
// and notices, of the partition helpers and of the request-key functions, and every machine's
// config() and restores with it, run against both packages
// (bindings-node/test/machines.test.mjs, bindings-wasm/test/machines.test.mjs): every
// rejection is a ShardtallyError with its code and offending values and leaves the machine's
// snapshot bytes as they were, and so does an exception the caller's own code throws while
// the arguments are read (a getter, a Proxy). The journal's row operations, applied to a
// table, rebuild the machine they came from.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hex, rejects } from './assertions.mjs'

const DAY = 86_400_000

/** `f(boom)` throws exactly `boom`, the caller's own error, and `machine` is unchanged. */
function callerThrows(machine, f) {
  const boom = new Error('the caller’s own error')
  const before = hex(machine.snapshot())
  assert.throws(() => f(boom), (e) => e === boom)
  assert.equal(hex(machine.snapshot()), before, 'state unchanged')
}
const thrower = (boom) => () => {
  throw boom
}

/** A `(table, key) → value` table the row operations are applied to, as a host's SQL table. */
function rowTable() {
  const rows = new Map()
  const id = (table, key) => `${table} ${hex(key)}`
  return {
    apply(ops) {
      for (const { op, table, key, value } of ops) {
        if (op === 'put') rows.set(id(table, key), [table, key, value])
        else if (op === 'delete') rows.delete(id(table, key))
        else {
          for (const [k, [t, stored]] of rows) {
            if (t === table && (op === 'clear' || Buffer.compare(Buffer.from(stored), Buffer.from(key)) < 0)) rows.delete(k)
          }
        }
      }
    },
    pairs: () => [...rows.values()].map(([table, , value]) => [table, value]),
  }
}

export function machineTests(api) {
  const { Gateway, Membership, Buckets, Outbox, Shard, Global } = api
  const fails = (machine, fn, code, props) => rejects(api, machine, fn, code, props)

  test('a misspelt setting of a new machine names it (setting) and the closest name (suggestion)', () => {
    const cases = [
      [() => new Gateway({ group: 'g', limt: 2 }), 'limt', 'limit'],
      [() => Gateway.restore(new Gateway({ group: 'g' }).snapshot(), { reservationTtl: 5 }), 'reservationTtl', 'reservationTtlMs'],
      [() => new Membership({ heartbeatInterval: 5 }), 'heartbeatInterval', 'heartbeatIntervalMs'],
      [() => Membership.restoreClusters([], { gracePeriod: 5 }), 'gracePeriod', 'gracePeriodMs'],
      [() => new Buckets({ utcOffsetMinute: 60 }), 'utcOffsetMinute', 'utcOffsetMinutes'],
      [() => Buckets.fromRows([], { maxKey: 1 }), 'maxKey', 'maxKeys'],
      [() => new Outbox({ capacty: 1 }), 'capacty', 'capacity'],
      [() => Shard.fromRows([], { flushAfterRequest: 1 }), 'flushAfterRequest', 'flushAfterRequests'],
      [() => Global.fromRows([], { persistAfterWrite: 1 }), 'persistAfterWrite', 'persistAfterWrites'],
    ]
    for (const [make, setting, suggestion] of cases) {
      const e = fails(null, make, 'CONFIG_UNKNOWN_SETTING', { setting, suggestion })
      assert.match(e.message, new RegExp(setting))
    }
    fails(null, () => new Outbox({ colour: 1 }), 'CONFIG_UNKNOWN_SETTING', { setting: 'colour', suggestion: null })
  })

  test('shard: incrementsCoalesced ends as the same increments one by one; entries without requests are LENGTH_MISMATCH', () => {
    const settings = { shard: 1, incarnation: 2, flushAfterRequests: 10, flushAfterIdleMs: 1000, flushMaxAgeMs: 5000 }
    const [one, group] = [new Shard(settings), new Shard(settings)]
    // `increments` of one entry is one request, and one the per-call buffer never holds.
    const single = (k, d, t) => one.increments([[k, d]], t)
    for (const s of [one, group]) s.increments({ a: 1 }, 0)
    for (const [k, d] of [['a', 2], ['b', 5n], ['a', -4], ['é🔑', 1]]) single(k, d, 100)
    group.incrementsCoalesced(new Map([['a', -2], ['b', 5n], ['é🔑', 1]]), 4, 100)
    assert.deepEqual(group.pending(), one.pending())
    assert.deepEqual([group.pendingRequests(), one.pendingRequests()], [5, 5])
    assert.deepEqual([group.nextDeadline(), one.nextDeadline()], [{ atMs: 1100, timer: 'idle' }, { atMs: 1100, timer: 'idle' }])
    assert.equal(hex(group.snapshot()), hex(one.snapshot()))
    // Repeated keys are summed; the group that reaches flushAfterRequests cuts one batch.
    for (let i = 0; i < 5; i++) single('b', 1, 200)
    group.incrementsCoalesced([['b', 2], ['b', 3]], 5n, 200)
    const [sent, expected] = [group.pollOutput(), one.pollOutput()]
    assert.equal(sent.reason, 'requests')
    assert.deepEqual(sent.entries.map((e) => [e.key, e.delta]), [['a', -1], ['b', 10], ['é🔑', 1]])
    assert.equal(hex(sent.bytes), hex(expected.bytes))
    assert.equal(hex(group.snapshot()), hex(one.snapshot()))

    fails(group, () => group.incrementsCoalesced({ x: 1, y: 1, z: 1 }, 0, 200), 'LENGTH_MISMATCH', { what: 'requests and keys', left: 0, right: 3 })
    fails(group, () => group.incrementsCoalesced({}, 1, 200), 'LENGTH_MISMATCH', { left: 1, right: 0 })
    fails(group, () => group.incrementsCoalesced([['x', 1], ['', 1]], 2, 200), 'EMPTY_KEY')
    fails(group, () => group.incrementsCoalesced({ x: 1 }, -1, 200), 'INVALID_ARGUMENT', { argument: 'requests' })
    fails(group, () => group.incrementsCoalesced({ x: 1 }, '1', 200), 'INVALID_ARGUMENT', { argument: 'requests' })
    callerThrows(group, (boom) =>
      group.incrementsCoalesced(
        {
          get x() {
            throw boom
          },
        },
        1,
        200,
      ),
    )
    group.incrementsCoalesced({}, 0, 200)
    assert.equal(hex(group.snapshot()), hex(one.snapshot()), 'nothing at all is not a request')
  })

  test('gateway: bad inputs are typed errors and change nothing', () => {
    const gw = new Gateway({ group: 'g', limit: 2, maxGossipReplyBytes: 4 })
    gw.handleReplicaCreated(gw.route('u1', 1).creation, 'r1', 1)
    gw.handleConnect('g', 'r1', 'c1', 'u1', 1)
    assert.equal(gw.route('u2', 1).replica, 'r1', 'the last slot of r1')
    gw.handleReplicaCreated(gw.route('u3', 2).creation, 'r2', 2)
    const plan = gw.gossip('g', 'r1', 3)
    assert.deepEqual(plan.peers, ['r2'])
    for (const bad of [5, null, undefined, ['u'], {}]) fails(gw, () => gw.route(bad, 4), 'INVALID_ARGUMENT', { argument: 'request', expected: 'a string' })
    fails(gw, () => gw.route('\ud800', 4), 'INVALID_ARGUMENT', { argument: 'request', expected: 'a well-formed string (no lone surrogates)' })
    fails(gw, () => gw.route('', 4), 'EMPTY_ID', { what: 'request id' })
    fails(gw, () => gw.route('u'.repeat(257), 4), 'ID_TOO_LONG', { what: 'request id', len: 257, max: 256 })
    for (const bad of [-1, 1.5, NaN, '4', 4n]) fails(gw, () => gw.route('u3', bad), 'INVALID_TIME')
    fails(gw, () => gw.handleReplicaCreated('0', 'r', 4), 'INVALID_ARGUMENT', { argument: 'creation' })
    fails(gw, () => gw.handleReplicaCreated(-1, 'r', 4), 'INVALID_ARGUMENT', { argument: 'creation' })
    fails(gw, () => gw.handleReplicaCreated(99, 'r', 4), 'UNKNOWN_CREATION', { creation: 99 })
    fails(gw, () => gw.handleConnect('h', 'r1', 'c2', 'u2', 4), 'WRONG_GROUP', { expected: 'g', got: 'h' })
    fails(gw, () => gw.handleConnect('g', 'nope', 'c2', 'u2', 4), 'UNKNOWN_REPLICA', { replica: 'nope' })
    fails(gw, () => gw.handleConnect('g', 'r1', 'c1', 'u2', 4), 'DUPLICATE_CONNECTION', { replica: 'r1', connection: 'c1' })
    fails(gw, () => gw.handleClose('g', 'r1', 7, 4), 'INVALID_ARGUMENT', { argument: 'connection' })
    fails(gw, () => gw.emit('g', 'r1', 'c1', 'yes'), 'INVALID_ARGUMENT', { argument: 'includeSender', expected: 'a boolean', value: '"yes"' })
    fails(gw, () => gw.emit('g', 'r1', 'nobody', true), 'UNKNOWN_CONNECTION', { replica: 'r1', connection: 'nobody' })
    fails(gw, () => gw.whisper('g', 'r1', 'c1', 1), 'INVALID_ARGUMENT', { argument: 'target' })
    fails(gw, () => gw.handleReport('g', 'r1', 'c1', 4), 'INVALID_ARGUMENT', { argument: 'connections' })
    fails(gw, () => gw.handleReport('g', 'r1', [['c1']], 4), 'INVALID_ARGUMENT', { argument: 'connections[i]' })
    fails(gw, () => gw.handleReport('g', 'r1', [['c1', 2]], 4), 'INVALID_ARGUMENT', { argument: 'request' })
    fails(gw, () => gw.handleReport('g', 'r1', [['c1', 'u1'], ['c1', 'u2']], 4), 'DUPLICATE_CONNECTION')
    fails(gw, () => gw.handleReport('g', 'r1', [['a', '1'], ['b', '2'], ['c', '3']], 4), 'TABLE_FULL', { table: 'connections per replica', limit: 2 })
    fails(gw, () => gw.handleGossipReply('g', plan.gossip, 'r2', [1], 4), 'INVALID_ARGUMENT', { argument: 'payload' })
    fails(gw, () => gw.handleGossipReply('g', plan.gossip, 'r2', new Uint8Array(5), 4), 'PAYLOAD_TOO_LARGE', { len: 5, max: 4 })
    fails(gw, () => gw.handleGossipFailure('g', 'x', 'r2', 4), 'INVALID_ARGUMENT', { argument: 'gossip' })
    fails(null, () => new Gateway({ limit: 2 }), 'CONFIG_MISSING', { field: 'group' })
    fails(null, () => new Gateway(), 'CONFIG_MISSING', { field: 'group' })
    fails(null, () => new Gateway({ group: 5 }), 'CONFIG_INVALID_VALUE', { field: 'group', expected: 'a string' })
    fails(null, () => new Gateway({ group: '' }), 'EMPTY_ID', { what: 'group' })
    fails(null, () => new Gateway({ group: 'g', limit: 0 }), 'CONFIG_ZERO', { field: 'limit' })
    fails(null, () => new Gateway({ group: 'g', limit: '2' }), 'CONFIG_INVALID_VALUE', { field: 'limit', value: '"2"' })
    fails(null, () => Gateway.restore(gw.snapshot(), { group: 'g' }), 'CONFIG_UNKNOWN_SETTING', { setting: 'group' })
    fails(null, () => Gateway.restore(new Outbox().snapshot()), 'DECODE_WRONG_KIND')
    fails(null, () => Gateway.restore('bytes'), 'INVALID_ARGUMENT', { argument: 'snapshot' })
    callerThrows(gw, (boom) => gw.handleReport('g', 'r1', [Object.defineProperty(['c2', 'u2'], 1, { get: thrower(boom) })], 4))
    callerThrows(gw, (boom) => gw.handleReport('g', 'r1', new Proxy([], { get: thrower(boom) }), 4))
    callerThrows(gw, (boom) => gw.handleGossipReply('g', plan.gossip, 'r2', Object.defineProperty(Uint8Array.of(1), 'buffer', { get: thrower(boom) }), 4))
    callerThrows(gw, (boom) => Gateway.restore(gw.snapshot(), { get limit() { return thrower(boom)() } }))
    // Still works.
    assert.equal(gw.handleGossipReply('g', plan.gossip, 'r2', Uint8Array.of(7), 5), true)
    const outputs = []
    for (let out = gw.pollOutput(); out !== null; out = gw.pollOutput()) outputs.push(out)
    assert.deepEqual(outputs.at(-1), { type: 'gossip_done', gossip: plan.gossip, origin: 'r1', replies: [{ peer: 'r2', payload: Uint8Array.of(7) }], failed: [], missing: [] })
  })

  test('membership: bad inputs are typed errors and change nothing', () => {
    const m = new Membership({ heartbeatIntervalMs: 100, gracePeriodMs: 50 })
    m.register('c', 'h1', 1)
    for (const bad of [5, null, {}]) {
      fails(m, () => m.register(bad, 'h', 2), 'INVALID_ARGUMENT', { argument: 'cluster', expected: 'a string' })
      fails(m, () => m.heartbeat('c', bad, 2), 'INVALID_ARGUMENT', { argument: 'holder', expected: 'a string' })
    }
    fails(m, () => m.register('c', '', 2), 'EMPTY_ID', { what: 'holder id' })
    fails(m, () => m.register('c', 'h2', -2), 'INVALID_TIME', { value: '-2' })
    fails(m, () => m.shardInfo('nope', 'h1', 2), 'UNKNOWN_CLUSTER', { cluster: 'nope' })
    fails(m, () => m.shardInfo('c', 'nobody', 2), 'UNKNOWN_HOLDER', { cluster: 'c', holder: 'nobody' })
    fails(m, () => m.heartbeat('c', 'nobody', 2), 'UNKNOWN_HOLDER')
    fails(m, () => m.removeCluster('c', 2), 'CLUSTER_NOT_EMPTY', { cluster: 'c', holders: 1 })
    fails(m, () => m.assignments(1, 2), 'INVALID_ARGUMENT', { argument: 'cluster' })
    fails(null, () => new Membership({ assignment: 'hashed' }), 'CONFIG_INVALID_VALUE', { field: 'assignment', value: '"hashed"' })
    fails(null, () => new Membership({ gracePeriodMs: 0 }), 'CONFIG_ZERO', { field: 'gracePeriodMs' })
    fails(null, () => new Membership({ heartbeatIntervalMs: -1 }), 'CONFIG_INVALID_VALUE', { field: 'heartbeatIntervalMs' })
    fails(null, () => Membership.restoreClusters('x'), 'INVALID_ARGUMENT', { argument: 'rows' })
    fails(null, () => Membership.restoreClusters(['x']), 'INVALID_ARGUMENT', { argument: 'rows[i]' })
    fails(null, () => Membership.restoreClusters([m.snapshot()]), 'DECODE_WRONG_KIND')
    fails(null, () => Membership.restore(m.snapshotCluster('c')), 'DECODE_WRONG_KIND')
    callerThrows(m, (boom) => Membership.restore(m.snapshot(), { get heartbeatIntervalMs() { return thrower(boom)() } }))
    callerThrows(m, (boom) => Membership.restoreClusters([Object.defineProperty(m.snapshotCluster('c'), 'byteOffset', { get: thrower(boom) })]))
    // Both ways back give the same machine.
    assert.equal(hex(Membership.restoreClusters([m.snapshotCluster('c')], { heartbeatIntervalMs: 100, gracePeriodMs: 50 }).snapshot()), hex(m.snapshot()))
  })

  test('buckets: bad inputs are typed errors and change nothing', () => {
    const b = new Buckets({ maxKeys: 2, maxFutureMs: 1000 })
    b.record('GET /a', 10 * DAY, 10 * DAY)
    const s = new Shard({ shard: 0, incarnation: 1 })
    s.increment('x', 1, 1)
    s.flush(1)
    const batch = s.pollOutput()
    for (const bad of [5, null, {}]) fails(b, () => b.record(bad, 10 * DAY, 10 * DAY), 'INVALID_ARGUMENT', { argument: 'key', expected: 'a string' })
    fails(b, () => b.record('\udc00', 10 * DAY, 10 * DAY), 'INVALID_KEY', { argument: 'key' })
    fails(b, () => b.record('', 10 * DAY, 10 * DAY), 'EMPTY_KEY')
    fails(b, () => b.record('GET /a', -1, 10 * DAY), 'INVALID_TIME', { value: '-1' })
    fails(b, () => b.record('GET /a', 10 * DAY + 2000, 10 * DAY), 'INVALID_ARGUMENT')
    fails(b, () => b.recordCount('GET /a', 1.5, 10 * DAY, 10 * DAY), 'INVALID_DELTA', { value: '1.5' })
    fails(b, () => b.recordCount('GET /a', '1', 10 * DAY, 10 * DAY), 'INVALID_DELTA', { value: '"1"' })
    fails(b, () => b.recordMany(5, 10 * DAY, 10 * DAY), 'INVALID_ARGUMENT', { argument: 'entries' })
    fails(b, () => b.recordMany({ b: 1, c: 1 }, 10 * DAY, 10 * DAY), 'TABLE_FULL', { limit: 2 })
    fails(b, () => b.recordBatch('x', 10 * DAY, 10 * DAY), 'INVALID_ARGUMENT', { argument: 'batch' })
    fails(b, () => b.recordBatch(Uint8Array.of(1, 2), 10 * DAY, 10 * DAY), 'DECODE_WRONG_KIND', { expected: 'batch' })
    fails(b, () => b.rollup('2022-13', 10 * DAY), 'INVALID_ARGUMENT', { argument: 'period', value: '2022-13' })
    fails(b, () => b.rollup(2022, 10 * DAY), 'INVALID_ARGUMENT', { argument: 'period', expected: 'a string' })
    fails(b, () => b.dailyTotals('1970-01-11', 'tomorrow'), 'INVALID_ARGUMENT', { argument: 'day' })
    fails(b, () => b.periodTotals('1999'), 'NOT_FOUND', { what: 'totals', query: '1999' })
    fails(b, () => b.dayStart(null), 'INVALID_ARGUMENT', { argument: 'day' })
    fails(null, () => new Buckets({ utcOffsetMinutes: 1440 }), 'CONFIG_INVALID_VALUE', { field: 'utcOffsetMinutes', value: '1440' })
    fails(null, () => new Buckets({ rawRetentionDays: 0 }), 'CONFIG_ZERO', { field: 'rawRetentionDays' })
    fails(null, () => Buckets.fromRows('x'), 'INVALID_ARGUMENT', { argument: 'rows' })
    fails(null, () => Buckets.fromRows([null]), 'INVALID_ARGUMENT', { argument: 'rows[i]' })
    fails(null, () => Buckets.fromRows([{ type: 'weekly' }]), 'INVALID_ARGUMENT', { argument: 'rows[i].type' })
    fails(null, () => Buckets.fromRows([{ type: 'raw', day: '2022-02-30', key: 'k', count: 1 }]), 'INVALID_ARGUMENT', { argument: 'day' })
    fails(null, () => Buckets.fromRows([{ type: 'daily', day: '2022-02-03', key: 'k', total: 0.5 }]), 'INVALID_DELTA')
    fails(null, () => Buckets.fromRows([{ type: 'meta', bytes: 'x' }]), 'INVALID_ARGUMENT', { argument: 'bytes' })
    fails(null, () => Buckets.fromRows([{ type: 'meta', bytes: Uint8Array.of(1) }]), 'DECODE_WRONG_KIND')
    callerThrows(b, (boom) => b.recordMany(Object.defineProperty({ a: 1 }, 'b', { get: thrower(boom), enumerable: true }), 10 * DAY, 10 * DAY))
    callerThrows(b, (boom) => b.recordBatch({ get bytes() { return thrower(boom)() } }, 10 * DAY, 10 * DAY))
    callerThrows(b, (boom) => Buckets.fromRows([{ type: 'raw', day: '1970-01-11', key: 'k', get count() { return thrower(boom)() } }]))
    // The batch of a shard counts its deltas; stored rows rebuild the buckets.
    assert.deepEqual(b.recordBatch(batch, 10 * DAY, 10 * DAY), { type: 'recorded', day: '1970-01-11' })
    assert.equal(hex(Buckets.fromRows(b.rows(), { maxKeys: 2, maxFutureMs: 1000 }).snapshot()), hex(b.snapshot()))
  })

  test('outbox: bad inputs are typed errors and change nothing', () => {
    const o = new Outbox({ capacity: 2, maxMessageBytes: 4 })
    o.offer(Uint8Array.of(1), 1)
    for (const bad of ['x', [1], null, new ArrayBuffer(1)]) fails(o, () => o.offer(bad, 2), 'INVALID_ARGUMENT', { argument: 'message', expected: 'a Uint8Array' })
    fails(o, () => o.offer(Uint8Array.of(2), 1.5), 'INVALID_TIME', { value: '1.5' })
    fails(o, () => o.sent('1', 2), 'INVALID_ARGUMENT', { argument: 'id' })
    fails(o, () => o.failed(-1, 2), 'INVALID_ARGUMENT', { argument: 'id' })
    fails(o, () => o.close('now'), 'INVALID_TIME', { value: '"now"' })
    fails(null, () => new Outbox({ capacity: 0 }), 'CONFIG_ZERO', { field: 'capacity' })
    const e = fails(null, () => new Outbox({ reconnectMinMs: 300, reconnectMaxMs: 300 }), 'CONFIG_INVALID_VALUE', { field: 'reconnectMaxMs' })
    assert.match(e.message, /reconnectMinMs/, 'the message names the other setting in camelCase')
    fails(null, () => Outbox.restore(o.snapshot(), { seed: -1 }), 'CONFIG_INVALID_VALUE', { field: 'seed' })
    callerThrows(o, (boom) => o.offer(Object.defineProperty(Uint8Array.of(1), 'buffer', { get: thrower(boom) }), 2))
    // Drops are outcomes, not errors.
    assert.deepEqual(o.offer(new Uint8Array(5), 2), { type: 'dropped', reason: 'too_large' })
    assert.deepEqual(o.offer(Uint8Array.of(2), 2), { type: 'queued', id: 2 })
    assert.deepEqual(o.offer(Uint8Array.of(3), 2), { type: 'dropped', reason: 'full' })
  })

  test('journal: row operations rebuild shards and globals; bad stored rows are typed errors', () => {
    const settings = { flushAfterRequests: 2 }
    const s = new Shard({ shard: 3, incarnation: 4, ...settings })
    const g = new Global({ persistAfterWrites: 1 })
    const [shardRows, globalRows] = [rowTable(), rowTable()]
    const sync = () => {
      shardRows.apply(s.takeChanges())
      globalRows.apply(g.takeChanges())
      assert.equal(hex(Shard.fromRows(shardRows.pairs(), settings).snapshot()), hex(s.snapshot()))
      assert.equal(hex(Global.fromRows(globalRows.pairs(), { persistAfterWrites: 1 }).snapshot()), hex(g.snapshot()))
    }
    sync()
    for (let t = 1; t < 8; t++) {
      s.increment(`k${t % 3}`, t, t)
      s.increment('k0', 1, t) // buffered in JavaScript: takeChanges sees it all the same
      for (let out = s.pollOutput(); out !== null; out = s.pollOutput()) s.handleAck(g.handleBatch(out, t), t)
      for (let out = g.pollOutput(); out !== null; out = g.pollOutput()) {
        if (out.type === 'publish') g.handlePublishAck(out.version, t)
        if (out.type === 'notice') s.handleGenerationNotice(out, t)
      }
      if (t === 4) g.reset('k1', t)
      sync()
    }
    const ops = s.rows()
    assert.ok(ops.every((op) => op.op === 'put' && op.key instanceof Uint8Array && op.value instanceof Uint8Array), 'rows() are puts')
    assert.equal(new Set(ops.map((op) => op.value.buffer)).size, ops.length, 'each value is a Uint8Array of its own')
    fails(null, () => Shard.fromRows('x'), 'INVALID_ARGUMENT', { argument: 'pairs' })
    fails(null, () => Shard.fromRows([['meta']]), 'INVALID_ARGUMENT', { argument: 'pairs[i]' })
    fails(null, () => Shard.fromRows([[1, Uint8Array.of(1)]]), 'INVALID_ARGUMENT', { argument: 'table' })
    fails(null, () => Shard.fromRows([['meta', [1]]]), 'INVALID_ARGUMENT', { argument: 'value' })
    fails(null, () => Shard.fromRows([['meta', Uint8Array.of(1, 2, 3)]]), 'DECODE_WRONG_KIND')
    fails(null, () => Global.fromRows(shardRows.pairs()), 'DECODE_WRONG_KIND')
    fails(null, () => Shard.fromRows(shardRows.pairs(), { shard: 1 }), 'CONFIG_UNKNOWN_SETTING', { setting: 'shard' })
    // Notices: a shard learns a reset from its notice; a plain global has no upstream to tell.
    fails(s, () => s.handleGenerationNotice(Uint8Array.of(1), 9), 'DECODE_WRONG_KIND')
    fails(s, () => s.handleGenerationNotice('notice', 9), 'INVALID_ARGUMENT', { argument: 'notice' })
    fails(g, () => g.handleGenerationNotice(g.generationNotice('k1', 3, 4), 9), 'NO_UPSTREAM')
    fails(g, () => g.generationNotice('k1', -3, 4), 'INVALID_ARGUMENT', { argument: 'shard' })
    callerThrows(s, (boom) => s.handleGenerationNotice({ get bytes() { return thrower(boom)() } }, 9))
    callerThrows(s, (boom) => Shard.fromRows([Object.defineProperty(['meta', Uint8Array.of(1)], 1, { get: thrower(boom) })]))
    const notice = g.generationNotice('k1', 3, 4)
    assert.deepEqual({ ...notice, bytes: null }, { type: 'notice', bytes: null, shard: 3, incarnation: 4, generation: 1, keys: [{ key: 'k1', generation: 1 }] })
    assert.equal(s.handleGenerationNotice(notice.bytes, 9), false, 'learned already')
  })

  test('partition helpers: values, and bad arguments are INVALID_ARGUMENT', () => {
    assert.equal(api.knuthHash(1), 2654435761)
    assert.equal(api.knuthHash(2), (2 * 2654435761) % 2 ** 32)
    assert.equal(api.ownerMod(10n, 3), 1)
    assert.equal(api.ownerMod(10, 0), 0, '0 shards count as 1')
    assert.equal(api.ownerRange(2n ** 64n - 1n, 4), 3)
    assert.deepEqual(api.shardRange(0, 1), { start: 0, end: 2n ** 64n - 1n })
    assert.deepEqual(api.shardRange(1, 2), { start: 2n ** 63n, end: 2n ** 64n - 1n })
    assert.equal(api.shardRange(2, 2), null)
    for (let n = 1; n <= 5; n++) {
      for (const h of [0n, 1n, 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n, api.keyHash('x')]) {
        const owner = api.ownerRange(h, n)
        const { start, end } = api.shardRange(owner, n)
        assert.ok(BigInt(start) <= h && h <= BigInt(end), `hash ${h} in its owner's range`)
      }
    }
    for (const bad of [-1, 2 ** 32, 1.5, '1', 1n]) fails(null, () => api.knuthHash(bad), 'INVALID_ARGUMENT', { argument: 'x' })
    for (const bad of [-1, 2n ** 64n, 1.5, '1', null]) {
      fails(null, () => api.ownerMod(bad, 2), 'INVALID_ARGUMENT', { argument: 'hash' })
      fails(null, () => api.ownerRange(bad, 2), 'INVALID_ARGUMENT', { argument: 'hash' })
    }
    fails(null, () => api.ownerMod(1, -1), 'INVALID_ARGUMENT', { argument: 'numShards' })
    fails(null, () => api.ownerRange(1, 2 ** 32), 'INVALID_ARGUMENT', { argument: 'numShards' })
    fails(null, () => api.shardRange(0.5, 2), 'INVALID_ARGUMENT', { argument: 'shard' })
    fails(null, () => api.shardRange(0, 'two'), 'INVALID_ARGUMENT', { argument: 'numShards' })
  })

  test('request keys: strings and a byte bound; a lone surrogate or another type is INVALID_ARGUMENT', () => {
    // The values are traces/routes.json's; here, the arguments.
    assert.equal(api.defaultRoute('/users/42'), '/users/:id')
    assert.equal(api.requestKey('GET', '/x'), 'GET /x')
    assert.equal(api.requestKey('GET', `/${'x'.repeat(300)}`), `GET /${'x'.repeat(251)}`, '256 bytes by default')
    assert.equal(api.requestKey('GET', '/x', undefined), 'GET /x')
    const wellFormed = 'a well-formed string (no lone surrogates)'
    fails(null, () => api.defaultRoute('/a\ud800'), 'INVALID_ARGUMENT', { argument: 'path', expected: wellFormed })
    fails(null, () => api.requestKey('GET', '/\udc00'), 'INVALID_ARGUMENT', { argument: 'route', expected: wellFormed })
    fails(null, () => api.requestKey('G\ud800', '/'), 'INVALID_ARGUMENT', { argument: 'method', expected: wellFormed })
    for (const bad of [null, undefined, 42, ['/']]) fails(null, () => api.defaultRoute(bad), 'INVALID_ARGUMENT', { argument: 'path', expected: 'a string' })
    fails(null, () => api.requestKey(undefined, '/'), 'INVALID_ARGUMENT', { argument: 'method' })
    fails(null, () => api.requestKey('GET', 7), 'INVALID_ARGUMENT', { argument: 'route' })
    for (const bad of [-1, 2 ** 32, 1.5, '1', 1n, null]) fails(null, () => api.requestKey('GET', '/', bad), 'INVALID_ARGUMENT', { argument: 'maxKeyBytes' })
  })

  test('config(): every setting in camelCase, and X.restore(x.snapshot(), x.config()) round-trips', () => {
    const seed = 2n ** 64n - 1n
    const shard = new api.Shard({ shard: 1, incarnation: 2, flushAfterRequests: 7, seed })
    const config = shard.config()
    assert.deepEqual(Object.keys(config), [
      'flushAfterRequests',
      'flushAfterIdleMs',
      'flushMaxAgeMs',
      'ackTimeoutMs',
      'retryInitialMs',
      'retryMaxMs',
      'retryJitterPercent',
      'maxPendingKeys',
      'maxInternedKeys',
      'maxKeyBytes',
      'seed',
    ])
    assert.equal(config.flushAfterRequests, 7)
    assert.equal(config.flushAfterIdleMs, 5000, 'a default')
    assert.equal(config.seed, seed, 'beyond 2^53: a bigint')
    const global = new api.Global({ publishMode: 'changes', upstream: { shard: 0, incarnation: 9, maxKeyBytes: 64 } })
    const tiered = global.config()
    assert.equal(tiered.publishMode, 'changes')
    assert.equal(tiered.upstream.maxKeyBytes, 64)
    assert.equal(new api.Global().config().upstream, undefined, 'no upstream: no upstream key')
    const membership = new api.Membership({ assignment: 'compact', gracePeriodMs: 5 })
    assert.deepEqual([membership.config().assignment, membership.config().gracePeriodMs], ['compact', 5])
    assert.equal(new api.Buckets({ utcOffsetMinutes: -90 }).config().utcOffsetMinutes, -90)

    const day = 86_400_000
    const machines = [
      [api.Shard, shard, (m) => m.increment('a', 1, 1)],
      [api.Global, global, (m) => m.reset('a', 1)],
      [api.Gateway, new api.Gateway({ group: 'g', limit: 3, maxIdBytes: 40 }), (m) => m.route('u', 1)],
      [api.Membership, membership, (m) => m.register('c', 'h', 1)],
      [api.Buckets, new api.Buckets({ utcOffsetMinutes: 60, maxKeys: 5 }), (m) => m.record('GET /', day, day)],
      [api.Outbox, new api.Outbox({ capacity: 3, seed: 11 }), (m) => m.offer(Uint8Array.of(1), 1)],
    ]
    for (const [Kind, m, input] of machines) {
      input(m)
      const back = Kind.restore(m.snapshot(), m.config())
      assert.deepEqual(back.config(), m.config(), `${Kind.name}: the same settings`)
      assert.equal(hex(back.snapshot()), hex(m.snapshot()), `${Kind.name}: the same state`)
      // Settings are not in the snapshot: without them a restore takes the defaults.
      assert.notDeepEqual(Kind.restore(m.snapshot(), Kind === api.Global ? { upstream: {} } : {}).config(), m.config(), `${Kind.name}: settings matter`)
    }
    // Where the constructor takes the settings alone, `new X(x.config())` builds the same machine.
    for (const m of [new api.Global({ persistAfterWrites: 3 }), new api.Membership({ maxHolders: 9 }), new api.Buckets({ maxDays: 10 }), new api.Outbox({ maxInFlight: 4 })]) {
      assert.deepEqual(new m.constructor(m.config()).config(), m.config())
    }
  })
}
