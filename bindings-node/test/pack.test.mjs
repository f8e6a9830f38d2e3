// `npm pack` produces a tarball that installs into an empty project and works there with
// the prebuilt linux-x64 addon inside it: no build step, no network.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const quiet = { npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false', npm_config_loglevel: 'error' }

const migrationsSource = join(pkgDir, '..', 'bindings-python', 'python', 'shardtally', 'pg', 'migrations')

/** The `.sql` files below `dir`, as paths relative to it. */
function sqlFiles(dir) {
  const out = readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.sql'))
  assert.ok(out.includes('bootstrap.sql') && out.length > 1, `migrations in ${dir}`)
  return out
}

function run(cmd, args, cwd) {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...quiet } })
}

test('npm pack installs into an empty project and loads with require and import', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardtally-pack-'))
  try {
    const [info] = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', dir], pkgDir))
    const files = info.files.map((f) => f.path).sort()
    assert.ok(files.includes('shardtally.linux-x64-gnu.node'), `the addon is in the tarball: ${files}`)
    for (const f of ['index.js', 'index.mjs', 'index.d.ts', 'surface.d.ts', 'api.js', 'binding.js', 'package.json', 'README.md']) {
      assert.ok(files.includes(f), `${f} is in the tarball`)
    }
    assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/') || f === 'Cargo.toml' || f === 'binding.d.ts'), 'no sources or internal typings in the tarball')
    // The PostgreSQL migrations, copied from the Python package by prepack (git ignores the copy).
    for (const f of sqlFiles(migrationsSource)) assert.ok(files.includes(`pg/migrations/${f}`), `pg/migrations/${f} is in the tarball`)

    const app = join(dir, 'app')
    run('mkdir', ['-p', app], dir)
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }))
    run(npm, ['install', '--offline', '--no-package-lock', join(dir, info.filename)], app)
    assert.ok(existsSync(join(app, 'node_modules/shardtally/shardtally.linux-x64-gnu.node')))

    const cjs = run(process.execPath, ['-e', SMOKE_CJS], app)
    assert.equal(cjs.trim(), 'ok')
    const esm = run(process.execPath, ['--input-type=module', '-e', SMOKE_ESM], app)
    assert.equal(esm.trim(), 'ok')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

// Kept small: the full behaviour is covered by the other test files against the same files.
const SMOKE_BODY = `
  const shard = new st.Shard({ shard: 0, incarnation: 1, flushAfterRequests: 2 })
  const global = new st.Global({ persistAfterWrites: 1 })
  shard.increment('x', 1, 1)
  shard.increment('x', 2, 1)
  const batch = shard.pollOutput()
  shard.handleAck(global.handleBatch(batch.bytes, 1), 1)
  if (global.total('x') !== 3) throw new Error('total')
  if (global.pollOutput().type !== 'publish') throw new Error('publish')
  try { shard.increment('', 1, 1); throw new Error('no error') } catch (e) {
    if (!(e instanceof st.ShardtallyError) || e.code !== 'EMPTY_KEY') throw e
  }
  if (typeof st.keyHash('x') !== 'bigint') throw new Error('keyHash')
  console.log('ok')
`
const SMOKE_CJS = `const st = require('shardtally');${SMOKE_BODY}`
const SMOKE_ESM = `import * as st from 'shardtally';${SMOKE_BODY}`
