// GlobalBuilder and ShardBuilder, run against both packages (bindings-node/test/builders.test.mjs,
// bindings-wasm/test/builders.test.mjs): a machine rebuilt from its stored rows a page at a
// time, in any order, equals the one fromRows rebuilds from all of them; a bad row is a
// ShardtallyError with its DECODE_* code, thrown again by every later call; a finished
// builder is spent (INVALID_ARGUMENT).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hex } from './assertions.mjs'

/** Every stored `[table, value]` of a machine, as a host reads them back. */
const stored = (machine) => machine.rows().map((op) => [op.table, op.value])

/** The ShardtallyError `fn` throws. */
function thrown(api, fn) {
  try {
    fn()
  } catch (e) {
    assert.ok(e instanceof api.ShardtallyError, `not a ShardtallyError: ${e}`)
    return e
  }
  assert.fail('no error thrown')
}

export function builderTests(api) {
  const { Shard, Global, GlobalBuilder, ShardBuilder } = api

  /** A shard with a pending key and a global with totals, a reset and shard statistics. */
  function counted() {
    const shard = new Shard({ shard: 3, incarnation: 9, flushAfterRequests: 2 })
    const global = new Global({ persistAfterWrites: 1 })
    for (let i = 0; i < 40; i++) shard.increment(`k${i}`, i + 1, 10 + i)
    for (let out = shard.pollOutput(); out; out = shard.pollOutput()) {
      if (out.type === 'batch') shard.handleAck(global.handleBatch(out, 100), 100)
    }
    shard.increment('late', 2, 101)
    global.reset('k3', 102)
    return { shard, global }
  }

  test('a page-by-page rebuild, rows in any order, equals fromRows', () => {
    const { shard, global } = counted()
    for (const page of [1, 7, 1000]) {
      const rows = stored(global).reverse()
      const builder = new GlobalBuilder(global.config())
      for (let at = 0; at < rows.length; at += page) builder.add(rows.slice(at, at + page))
      const rebuilt = builder.finish()
      assert.ok(rebuilt instanceof Global)
      assert.equal(hex(rebuilt.snapshot()), hex(Global.fromRows(rows, global.config()).snapshot()))
      assert.equal(hex(rebuilt.snapshot()), hex(global.snapshot()))

      const shardRows = stored(shard).reverse()
      const shardBuilder = new ShardBuilder(shard.config())
      for (let at = 0; at < shardRows.length; at += page) shardBuilder.add(shardRows.slice(at, at + page))
      const back = shardBuilder.finish()
      assert.ok(back instanceof Shard)
      assert.equal(hex(back.snapshot()), hex(shard.snapshot()))
      assert.deepEqual(back.pending(), shard.pending())
    }
  })

  test('readFirst names the tables to read before every other, meta first', () => {
    assert.deepEqual(GlobalBuilder.readFirst().slice(0, 2), ['meta', 'totals'])
    assert.deepEqual(ShardBuilder.readFirst(), ['meta', 'slots'])
    const { global } = counted()
    const first = GlobalBuilder.readFirst()
    const rank = ([table]) => (first.includes(table) ? first.indexOf(table) : first.length)
    const rows = stored(global).sort((a, b) => rank(a) - rank(b))
    assert.deepEqual(rows[0][0], 'meta')
    const builder = new GlobalBuilder(global.config())
    for (const row of rows) builder.add([row])
    assert.equal(hex(builder.finish().snapshot()), hex(global.snapshot()))
  })

  test('a tiered global builder takes the upstream shard settings', () => {
    const tiered = new Global({ upstream: { shard: 5, incarnation: 1, flushAfterRequests: 1 } })
    const shard = new Shard({ shard: 0, incarnation: 1, flushAfterRequests: 1 })
    shard.increment('k', 3, 0)
    for (let out = shard.pollOutput(); out; out = shard.pollOutput()) if (out.type === 'batch') tiered.handleBatch(out, 1)
    const builder = new GlobalBuilder(tiered.config())
    builder.add(stored(tiered))
    const back = builder.finish()
    assert.ok(back.hasUpstream())
    assert.equal(hex(back.snapshot()), hex(tiered.snapshot()))
    assert.equal(thrown(api, () => new GlobalBuilder().add(stored(tiered))).code, 'DECODE_CORRUPT')
  })

  test('a bad row is a typed error that every later call throws again', () => {
    const { shard } = counted()
    const builder = new ShardBuilder(shard.config())
    builder.add(stored(shard).slice(0, 1))
    const first = thrown(api, () => builder.add([['meta', Uint8Array.of(1, 2, 3)]]))
    assert.equal(first.code, 'DECODE_WRONG_KIND')
    const again = thrown(api, () => builder.add(stored(shard).slice(1)))
    assert.deepEqual([again.code, again.message], [first.code, first.message])
    const atFinish = thrown(api, () => builder.finish())
    assert.deepEqual([atFinish.code, atFinish.message], [first.code, first.message])
    assert.equal(thrown(api, () => builder.finish()).code, 'INVALID_ARGUMENT', 'spent by the failed finish')

    const meta = stored(new Global()).find(([table]) => table === 'meta')
    const global = new GlobalBuilder()
    const corrupt = thrown(api, () => global.add([meta, meta]))
    assert.equal(corrupt.code, 'DECODE_CORRUPT', 'two meta rows')
    assert.equal(thrown(api, () => global.finish()).code, 'DECODE_CORRUPT')
  })

  test('a finished builder is spent; bad arguments and settings are rejected', () => {
    const { global } = counted()
    const builder = new GlobalBuilder(global.config())
    builder.add(stored(global))
    builder.finish()
    const spent = thrown(api, () => builder.add(stored(global)))
    assert.deepEqual([spent.code, spent.argument], ['INVALID_ARGUMENT', 'builder'])
    assert.equal(thrown(api, () => builder.finish()).code, 'INVALID_ARGUMENT')

    assert.equal(thrown(api, () => new ShardBuilder({ shard: 0 })).code, 'CONFIG_UNKNOWN_SETTING')
    assert.equal(thrown(api, () => new GlobalBuilder({ persistAfterWrite: 1 })).suggestion, 'persistAfterWrites')
    const fresh = new GlobalBuilder()
    for (const bad of [5, 'rows', [['meta']], [[1, Uint8Array.of()]], [['meta', 'text']]]) {
      assert.equal(thrown(api, () => fresh.add(bad)).code, 'INVALID_ARGUMENT')
    }
    fresh.add([])
    assert.equal(thrown(api, () => fresh.finish()).code, 'DECODE_CORRUPT', 'no meta row')
  })
}
