// Replays the golden traces (traces/*.json, format in traces/README.md) against a JS package:
// the same files the Rust engine and the Python binding replay. Generic: method and option
// names are converted from snake_case, results are turned into the canonical JSON form
// (camelCase keys to snake_case, unsafe bigints to decimal strings, bytes to hex) and no
// file or step is special-cased. Used by bindings-node/test/traces.test.mjs and
// bindings-wasm/test/traces.test.mjs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'

const dir = new URL('../../traces/', import.meta.url)
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

const camel = (s) => s.replace(/_([a-z0-9])/g, (_m, c) => c.toUpperCase())
const snake = (s) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
const single = (v, name) => v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && name in v

function hexBytes(hex) {
  return Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16))
}

/** A JSON argument as the JS value it stands for (README "Arguments"). */
function argument(v, saved) {
  if (single(v, 'int')) return BigInt(v.int)
  if (single(v, 'ref')) {
    assert.ok(v.ref in saved, `nothing was saved as ${v.ref}`)
    return saved[v.ref]
  }
  if (single(v, 'bytes')) return hexBytes(v.bytes)
  if (single(v, 'u32')) return Uint32Array.from(v.u32)
  if (single(v, 'f64')) return Float64Array.from(v.f64)
  if (single(v, 'i64')) return BigInt64Array.from(v.i64, (x) => BigInt(single(x, 'int') ? x.int : x))
  if (Array.isArray(v)) return v.map((x) => argument(x, saved))
  return v
}

/** Trace options (snake_case) as a JS options object. */
function options(o) {
  const out = {}
  for (const [k, v] of Object.entries(o ?? {})) {
    out[camel(k)] = single(v, 'int') ? BigInt(v.int) : v !== null && typeof v === 'object' && !Array.isArray(v) ? options(v) : v
  }
  return out
}

/** Any JS result in the canonical JSON form of `shardtally_api::Value::to_json`. */
export function canonical(v) {
  if (v === undefined || v === null) return null
  if (typeof v === 'bigint') return v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v.toString()
  if (v instanceof Uint8Array) return Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('')
  if (Array.isArray(v)) return v.map(canonical)
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [snake(k), canonical(x)]))
  return v
}

/** The ways a `restore` step rebuilds a machine, by its `via` (README "Steps"). */
const restore = {
  snapshot: (Kind, m, opts) => Kind.restore(m.snapshot(), ...opts),
  rows: (Kind, m, opts) => Kind.fromRows(m.rows().map((op) => [op.table, op.value]), ...opts),
  clusters: (Kind, m, opts) => Kind.restoreClusters(m.clusters().map((c) => m.snapshotCluster(c)), ...opts),
}

/** Replays one trace document against `api`; returns the mismatches, one line each. */
export function replay(api, doc, file) {
  assert.equal(doc.format, 2, `${file}: format`)
  const machines = {}
  const kinds = {}
  const saved = {}
  const mismatches = []
  doc.steps.forEach((step, i) => {
    let result
    let failed = false
    try {
      if ('new' in step) {
        machines[step.new] = new api[step.kind](options(step.options))
        kinds[step.new] = step.kind
        result = null
      } else if ('restore' in step) {
        const Kind = api[kinds[step.restore]]
        const m = machines[step.restore]
        const opts = step.options ? [options(step.options)] : []
        machines[step.restore] = restore[step.via ?? 'snapshot'](Kind, m, opts)
        result = null
      } else {
        const [target, method] = step.call.includes('.') ? step.call.split('.') : [null, step.call]
        const args = (step.args ?? []).map((a) => argument(a, saved))
        const self = target === null ? api : machines[target]
        assert.ok(self, `${file} step ${i}: no machine ${target}`)
        const fn = self[camel(method)]
        assert.equal(typeof fn, 'function', `${file} step ${i}: no method ${camel(method)}`)
        const value = fn.apply(self, args)
        if (step.save) saved[step.save] = value
        result = canonical(value)
      }
    } catch (e) {
      if (!(e instanceof api.ShardtallyError)) throw new Error(`${file} step ${i} ${JSON.stringify(step)}: ${e?.stack ?? e}`)
      result = { error: e.code }
      failed = true
    }
    const shown = () => JSON.stringify({ ...step, expect: undefined })
    if ('expect' in step) {
      try {
        assert.deepStrictEqual(result, step.expect)
      } catch {
        mismatches.push(`${file} step ${i}: ${shown()}\n    expected ${JSON.stringify(step.expect)}\n    got      ${JSON.stringify(result)}`)
      }
    } else if (failed) {
      mismatches.push(`${file} step ${i}: ${shown()}\n    must not fail, got ${JSON.stringify(result)}`)
    }
  })
  return mismatches
}

/** One `node:test` test per trace file. */
export function traceTests(api) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
  test('the traces directory holds traces', () => assert.ok(files.length > 0, 'no traces/*.json'))
  for (const file of files) {
    test(`trace ${file}`, () => {
      const doc = JSON.parse(readFileSync(new URL(file, dir), 'utf8'))
      const mismatches = replay(api, doc, file)
      assert.equal(mismatches.length, 0, `${mismatches.length} step(s) differ:\n${mismatches.join('\n')}`)
    })
  }
}
