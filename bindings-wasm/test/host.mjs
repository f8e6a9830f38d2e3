// A simulated host for the tests: delivers batches and acknowledgements in-process, and checks rejections.
import assert from 'node:assert/strict';

/** Delivers every batch the shard has queued to the global and routes the acks back. */
export function deliverAll(shard, global, nowMs) {
  const acks = [];
  for (let out = shard.pollOutput(); out !== null; out = shard.pollOutput()) {
    assert.equal(out.type, 'batch');
    const ack = global.handleBatch(out.bytes, nowMs);
    assert.equal(shard.handleAck(ack.bytes, nowMs), true);
    acks.push(ack);
  }
  return acks;
}

/** Drains a machine's outputs into an array. */
export function drainOutputs(machine) {
  const outs = [];
  for (let out = machine.pollOutput(); out !== null; out = machine.pollOutput()) outs.push(out);
  return outs;
}

/** Totals as a plain `{ key: total }` object. */
export function totalsOf(global) {
  return Object.fromEntries(global.totals().map(({ key, total }) => [key, total]));
}

/** Batch entries as `{ key: delta }` (single generation). */
export function entriesOf(batch) {
  return Object.fromEntries(batch.entries.map(({ key, delta }) => [key, delta]));
}

/**
 * Asserts that `fn` throws a ShardtallyError with `code` (and the given properties),
 * and that `snapshotOf()` is byte-identical before and after: the input changed nothing.
 */
export function assertRejected(fn, code, snapshotOf, props = {}) {
  const before = snapshotOf ? snapshotOf() : null;
  assert.throws(fn, (err) => {
    assert.ok(err instanceof Error, 'an Error instance');
    assert.equal(err.name, 'ShardtallyError');
    assert.equal(err.code, code, err.message);
    for (const [k, v] of Object.entries(props)) assert.deepEqual(err[k], v, `err.${k}`);
    return true;
  });
  if (snapshotOf) assert.deepEqual(snapshotOf(), before, 'state unchanged after a rejected input');
}
