// The package itself: its files, its export conditions, and each entry loading the module
// the way its runtime does (Node reads the file; workerd imports a compiled module; a
// browser fetches the file next to the entry).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

test('the public typing declares exactly the exports', async () => {
  const dts = readFileSync(new URL('index.d.ts', pkgDir), 'utf8');
  const declared = [...dts.matchAll(/^export declare (?:class|function|const) (\w+)/gm)].map((m) => m[1]).sort();
  const mod = await import('shardtally-wasm');
  assert.deepEqual(Object.keys(mod).sort(), declared);
  assert.deepEqual(declared, [
    'Buckets', 'Gateway', 'Global', 'GlobalBuilder', 'Membership', 'Outbox', 'Router', 'Shard', 'ShardBuilder', 'ShardtallyError',
    'defaultRoute', 'jumpHash', 'keyHash', 'knuthHash', 'ownerMod', 'ownerRange', 'requestKey', 'shardRange',
  ]);
});

test('npm pack installs into an empty project and works there', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardtally-wasm-pack-'));
  const quiet = { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false', npm_config_loglevel: 'error' };
  try {
    const [info] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: fileURLToPath(pkgDir), encoding: 'utf8', env: quiet }));
    const files = info.files.map((f) => f.path).sort();
    assert.deepEqual(files, [...pkg.files, 'package.json'].sort(), 'exactly the listed files');
    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--offline', '--no-package-lock', join(dir, info.filename)], { cwd: app, env: quiet });
    writeFileSync(join(app, 'check.mjs'), readFileSync(support('entry-check.mjs')));
    const out = execFileSync(process.execPath, [join(app, 'check.mjs'), 'shardtally-wasm'], { cwd: app, encoding: 'utf8' });
    const seen = JSON.parse(out.trim().split('\n').at(-1));
    assert.match(seen.resolved, /node_modules\/shardtally-wasm\/index\.js$/);
    assert.deepEqual({ ...seen, resolved: undefined }, { ...expected, resolved: undefined });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
