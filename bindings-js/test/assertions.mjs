// Assertions shared by the JS test modules that both packages run.
import assert from 'node:assert/strict'

/** Bytes as lowercase hex, to compare snapshots. */
export const hex = (bytes) => Buffer.from(bytes).toString('hex')

/**
 * `fn` throws a ShardtallyError with `code` and `props`; when `machine` is given, its
 * snapshot bytes are unchanged. Returns the error.
 */
export function rejects(api, machine, fn, code, props = {}) {
  const before = machine ? hex(machine.snapshot()) : null
  let error
  try {
    fn()
  } catch (e) {
    error = e
  }
  assert.ok(error instanceof api.ShardtallyError, `expected ${code}, got ${error}`)
  assert.equal(error.code, code, error.message)
  assert.equal(error.name, 'ShardtallyError')
  for (const [k, v] of Object.entries(props)) assert.deepStrictEqual(error[k], v, `${code}.${k}`)
  if (machine) assert.equal(hex(machine.snapshot()), before, `${code}: state unchanged`)
  return error
}

/** `fn` throws a ShardtallyError with `code` (and `props`). Returns the error. */
export const throwsCode = (api, fn, code, props = {}) => rejects(api, null, fn, code, props)
