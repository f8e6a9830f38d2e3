// Replays the shared golden trace (core/tests/fixtures/golden-trace.json, format in
// core/tests/fixtures/README.md) through the wasm package and checks every expected output.
// The Rust, Python and Node tests replay the same file, so the runtimes provably agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Global, Shard } from 'shardtally-wasm';

const FIXTURE = new URL('../../core/tests/fixtures/golden-trace.json', import.meta.url);

/**
 * JSON.parse that keeps 64-bit integers exact: integer literals beyond 2^53-1 become
 * bigints (strings in the source are left alone).
 */
export function parseExact(text) {
  const marked = text.replace(/"(?:[^"\\]|\\.)*"|-?\d{16,}/g, (m) => (m.startsWith('"') ? m : `"\\u0000big:${m}"`));
  return JSON.parse(marked, (_key, value) => {
    if (typeof value === 'string' && value.startsWith('\u0000big:')) {
      const n = BigInt(value.slice(5));
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
    }
    return value;
  });
}

/** A delta argument: a JSON integer, or a decimal string beyond 2^53 (README of the fixture). */
const int = (v) => (typeof v === 'string' ? BigInt(v) : v);

const camel = (s) => s.replace(/_([a-z])/g, (_m, c) => c.toUpperCase());
const camelKeys = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [camel(k), v]));

/** Runs `fn`, mapping a thrown ShardtallyError to `{ error: code }` as the trace records it. */
function outcome(fn) {
  try {
    const v = fn();
    return v === undefined ? null : v;
  } catch (err) {
    if (typeof err?.code !== 'string') throw err;
    return { error: err.code };
  }
}

const batchJson = (b) => ({
  type: 'batch', shard: b.shard, incarnation: b.incarnation, seq: b.seq, reason: b.reason,
  entries: b.entries.map(({ key, generation, delta }) => ({ key, generation, delta })),
});

/** Replays the trace; returns `[index, op, actual, expected]` per step. */
export function replay(doc) {
  const shardConfig = camelKeys(doc.shard_config);
  const globalConfig = camelKeys(doc.global_config);
  const shards = doc.shards.map((s) => new Shard({ ...shardConfig, shard: s.shard, incarnation: s.incarnation }));
  let global = new Global(globalConfig);
  const lastBatch = shards.map(() => null);
  const heldAck = shards.map(() => null);
  const results = [];
  doc.steps.forEach((step, i) => {
    const now = step.at;
    const s = step.shard ?? 0;
    const key = step.key ?? '';
    const delta = int(step.delta ?? 0);
    let actual;
    switch (step.op) {
      case 'increment': actual = outcome(() => shards[s].increment(key, delta, now)); break;
      case 'increments': actual = outcome(() => shards[s].increments(step.entries.map(([k, d]) => [k, int(d)]), now)); break;
      case 'intern': actual = outcome(() => shards[s].intern(key)); break;
      case 'increment_id': actual = outcome(() => shards[s].incrementId(step.id, delta, now)); break;
      case 'increment_ids': actual = outcome(() => shards[s].incrementIds(step.ids, step.deltas.map(int), now)); break;
      case 'flush': actual = shards[s].flush(now); break;
      case 'drain': actual = shards[s].drain(now); break;
      case 'poll_shard': {
        actual = [];
        for (let b = shards[s].pollOutput(); b !== null; b = shards[s].pollOutput()) {
          actual.push(batchJson(b));
          lastBatch[s] = b;
        }
        break;
      }
      case 'deliver': {
        assert.ok(lastBatch[s], `step ${i}: deliver without a polled batch`);
        actual = outcome(() => {
          const ack = global.handleBatch(lastBatch[s].bytes, now);
          heldAck[s] = ack;
          return {
            type: ack.type, shard: ack.shard, incarnation: ack.incarnation, seq: ack.seq,
            duplicate: ack.duplicate, generation: ack.generation, stale: ack.staleKeys,
          };
        });
        break;
      }
      case 'ack':
        assert.ok(heldAck[s], `step ${i}: ack without a delivered batch`);
        actual = outcome(() => shards[s].handleAck(heldAck[s].bytes, now));
        break;
      case 'fail': actual = shards[s].handleFailure(step.seq, now); break;
      case 'timeout_shard': shards[s].handleTimeout(now); actual = null; break;
      case 'deadline_shard': {
        const d = shards[s].nextDeadline();
        actual = d && { at: d.atMs, timer: d.timer };
        break;
      }
      case 'pending': actual = shards[s].pending(); break;
      case 'restore_shard': shards[s] = Shard.restore(shards[s].snapshot(), shardConfig); actual = null; break;
      case 'reset': actual = outcome(() => global.reset(key, now)); break;
      case 'publish': actual = global.publish(now); break;
      case 'poll_global': {
        actual = [];
        for (let o = global.pollOutput(); o !== null; o = global.pollOutput()) if (o.type === 'publish') actual.push(o);
        break;
      }
      case 'publish_ack': actual = global.handlePublishAck(step.version, now); break;
      case 'publish_fail': actual = global.handlePublishFailure(step.version, now); break;
      case 'timeout_global': global.handleTimeout(now); actual = null; break;
      case 'deadline_global': {
        const d = global.nextDeadline();
        actual = d && { at: d.atMs, timer: d.timer };
        break;
      }
      case 'restore_global': global = Global.restore(global.snapshot(), globalConfig); actual = null; break;
      case 'totals': actual = global.totals(); break;
      default: throw new Error(`step ${i}: unknown op ${step.op}`);
    }
    results.push([i, step.op, actual, step.expect ?? null]);
  });
  return results;
}

test('the golden trace replays exactly', () => {
  const doc = parseExact(readFileSync(FIXTURE, 'utf8'));
  assert.ok(doc.steps.length > 0);
  const results = replay(doc);
  for (const [i, op, actual, expected] of results) {
    assert.deepEqual(actual, expected, `step ${i} (${op}) of the golden trace`);
  }
});

test('parseExact keeps 64-bit integers exact', () => {
  const v = parseExact('{"a": 9223372036854775807, "b": -9223372036854775808, "c": 1000000000000000, "d": "12345678901234567890", "e": [1, 2]}');
  assert.deepEqual(v, { a: 2n ** 63n - 1n, b: -(2n ** 63n), c: 1e15, d: '12345678901234567890', e: [1, 2] });
});
