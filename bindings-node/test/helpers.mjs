// Shared helpers of the tests.
import assert from 'node:assert/strict'
import { ShardtallyError } from 'shardtally'

/** Asserts that `fn` throws a ShardtallyError with `code` and the given properties. */
export function throwsCode(fn, code, props = {}) {
  let error
  try {
    fn()
  } catch (e) {
    error = e
  }
  assert.ok(error !== undefined, `expected ${code}, nothing was thrown`)
  assert.ok(error instanceof ShardtallyError, `expected a ShardtallyError, got ${error}`)
  assert.ok(error instanceof Error)
  assert.equal(error.code, code, `code of: ${error.message}`)
  assert.equal(typeof error.message, 'string')
  assert.ok(error.message.length > 0)
  for (const [k, v] of Object.entries(props)) assert.deepEqual(error[k], v, `property ${k} of ${code}`)
  return error
}

/** Drains every output of a machine. */
export function drain(machine) {
  const out = []
  for (let o = machine.pollOutput(); o !== null; o = machine.pollOutput()) out.push(o)
  return out
}

/** A shard and a global wired together: delivers every batch and acknowledges it. */
export function deliverAll(shard, global, nowMs) {
  let n = 0
  for (const batch of drain(shard)) {
    shard.handleAck(global.handleBatch(batch, nowMs), nowMs)
    n++
  }
  return n
}

/** Every observable of a shard, for "state unchanged" comparisons. */
export function shardState(shard) {
  return {
    snapshot: Buffer.from(shard.snapshot()).toString('hex'),
    pending: shard.pending(),
    requests: shard.pendingRequests(),
    keys: shard.pendingKeys(),
    stats: shard.stats(),
    deadline: shard.nextDeadline(),
    inFlight: shard.inFlight() && shard.inFlight().seq,
  }
}

/** Every observable of a global. */
export function globalState(global) {
  return {
    snapshot: Buffer.from(global.snapshot()).toString('hex'),
    totals: global.totals(),
    stats: global.stats(),
    log: global.writeLog(),
  }
}
