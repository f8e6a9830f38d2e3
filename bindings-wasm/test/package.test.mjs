// The package itself: its files, its export conditions, and each entry loading the module
// the way its runtime does (Node reads the file; workerd imports a compiled module; a
// browser fetches the file next to the entry).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkgDir = new URL('../pkg/', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', pkgDir), 'utf8'));
const support = (name) => fileURLToPath(new URL(`./support/${name}`, import.meta.url));

/** Runs support/entry-check.mjs in a fresh Node with extra flags; returns its JSON line. */
function checkEntry(specifier, flags) {
  const out = execFileSync(process.execPath, [...flags, support('entry-check.mjs'), specifier], {
    cwd: fileURLToPath(new URL('.', import.meta.url)),
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1));
}

const expected = { acked: true, totals: [{ key: 'x', total: 2 }, { key: 'y', total: 3 }], code: 'EMPTY_KEY' };

test('package.json names every file, and every file exists', () => {
  assert.equal(pkg.name, 'shardtally-wasm');
  assert.equal(pkg.type, 'module');
  for (const file of pkg.files) assert.ok(existsSync(new URL(file, pkgDir)), `pkg/${file}`);
  const conditions = Object.keys(pkg.exports['.']);
  assert.deepEqual(conditions, ['types', 'workerd', 'node', 'default'], 'workerd is matched before node, types first');
});

test('Node resolves the synchronous entry', () => {
  assert.match(import.meta.resolve('shardtally-wasm'), /\/pkg\/index\.js$/);
  const seen = checkEntry('shardtally-wasm', []);
  assert.match(seen.resolved, /\/pkg\/index\.js$/);
  assert.deepEqual({ ...seen, resolved: undefined }, { ...expected, resolved: undefined });
});

test('the workerd condition imports the .wasm as a compiled module and initialises synchronously', () => {
  const seen = checkEntry('shardtally-wasm', ['--conditions=workerd', '--import', support('register-compiled-wasm.mjs')]);
  assert.match(seen.resolved, /\/pkg\/workerd\.js$/);
  assert.deepEqual({ ...seen, resolved: undefined }, { ...expected, resolved: undefined });
  const source = readFileSync(new URL('workerd.js', pkgDir), 'utf8');
  assert.match(source, /^import wasmModule from '\.\/shardtally_wasm_bg\.wasm';$/m);
  assert.match(source, /^initSync\(\{ module: wasmModule \}\);$/m);
});

test('the default (web) entry fetches the .wasm next to it', () => {
  const seen = checkEntry(new URL('web.js', pkgDir).href, ['--import', support('stub-fetch.mjs')]);
  assert.deepEqual({ ...seen, resolved: undefined }, { ...expected, resolved: undefined });
});

test('the declarations cover every export', async () => {
  const dts = readFileSync(new URL('shardtally_wasm.d.ts', pkgDir), 'utf8') + readFileSync(new URL('index.d.ts', pkgDir), 'utf8');
  const mod = await import('shardtally-wasm');
  for (const name of Object.keys(mod)) {
    assert.match(dts, new RegExp(`\\b${name}\\b`), `${name} is declared`);
  }
  for (const name of ['Shard', 'Global', 'Router', 'ShardtallyError', 'keyHash', 'jumpHash']) assert.ok(name in mod, name);
});
