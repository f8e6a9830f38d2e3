// The middleware benchmark still runs (tiny sizes); it checks its own counts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'

test('the middleware bench runs and reports every case', { timeout: 120_000 }, () => {
  const out = execFileSync(process.execPath, [new URL('../bench/middleware.mjs', import.meta.url).pathname, '--smoke'], { encoding: 'utf8' })
  for (const line of ['without the middleware', 'with the middleware', '2000 delivered, 0 dropped', 'rows written']) assert.ok(out.includes(line), out)
})
