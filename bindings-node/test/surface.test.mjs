// The public typing (index.d.ts, copied from bindings-js/src) describes exactly what the
// package exports at run time: every export, every class method. tsc checks the usage files
// against it (scripts/test.sh); the native addon's own typing (binding.d.ts) is internal.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import * as pkg from 'shardtally'

const dts = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8')

/** Declared classes: name → { methods, statics } from index.d.ts. */
function declaredClasses() {
  const classes = new Map()
  for (const m of dts.matchAll(/^export declare class (\w+)[^{]*\{\n([\s\S]*?)^\}/gm)) {
    const methods = new Set()
    const statics = new Set()
    for (const line of m[2].split('\n')) {
      const method = /^ {2}(static )?(\w+)\(/.exec(line)
      if (method && method[2] !== 'constructor') (method[1] ? statics : methods).add(method[2])
    }
    classes.set(m[1], { methods, statics })
  }
  return classes
}

const publicMethods = (proto) =>
  new Set(Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor' && !n.startsWith('_') && typeof Object.getOwnPropertyDescriptor(proto, n).value === 'function'))

test('every runtime export is declared, and every declaration exists at run time', () => {
  const declared = new Set([...dts.matchAll(/^export declare (?:class|function|const) (\w+)/gm)].map((m) => m[1]))
  const runtime = new Set(Object.keys(pkg).filter((k) => k !== 'default'))
  assert.deepEqual([...runtime].sort(), [...declared].sort())
})

const MACHINES = ['Shard', 'Global', 'Router', 'Gateway', 'Membership', 'Buckets', 'Outbox']
const BUILDERS = ['GlobalBuilder', 'ShardBuilder']

/** Own static methods of a class. */
const publicStatics = (C) => new Set(Object.getOwnPropertyNames(C).filter((n) => typeof Object.getOwnPropertyDescriptor(C, n).value === 'function'))

test('declared class methods are the runtime methods', () => {
  const classes = declaredClasses()
  assert.deepEqual([...classes.keys()].sort(), [...MACHINES, ...BUILDERS, 'ShardtallyError'].sort())
  for (const name of [...MACHINES, ...BUILDERS]) {
    const { methods, statics } = classes.get(name)
    assert.deepEqual([...publicMethods(pkg[name].prototype)].sort(), [...methods].sort(), `${name} methods`)
    assert.deepEqual([...publicStatics(pkg[name])].sort(), [...statics].sort(), `${name} statics`)
    if (MACHINES.includes(name)) assert.ok(statics.has('restore'), `${name}.restore`)
  }
})

test('the benchmark still runs (smoke mode) and writes a row for every case', () => {
  const json = join(mkdtempSync(join(tmpdir(), 'shardtally-bench-')), 'rows.json')
  const out = execFileSync(process.execPath, [new URL('../bench/bench.mjs', import.meta.url).pathname, '--smoke', '--json', json], { encoding: 'utf8' })
  assert.match(out, /baseline: JS Map/)
  const rows = JSON.parse(readFileSync(json, 'utf8'))
  const ops = ['keyed_increment', 'increment_id', 'increment_ids', 'increments', 'end_to_end']
  assert.deepEqual(rows.map((r) => `${r.op}/${r.keys}`).sort(), [1, 100].flatMap((n) => ops.map((op) => `${op}/${n}`)).sort())
  for (const r of rows) assert.ok(r.lang === 'node' && r.ns > 0 && r.baseline_ns > 0, JSON.stringify(r))
})
