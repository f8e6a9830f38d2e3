// Copies the shared JavaScript API into a package, as a build step of both packages:
//
//   node bindings-js/scripts/copy.mjs cjs bindings-node ./binding.js   (CommonJS: Node 20 `require`)
//   node bindings-js/scripts/copy.mjs esm bindings-wasm/pkg            (an ES module)
//
// Writes <dir>/api.js: src/api.js followed by the package's exports, one per name of the
// object `makeApi` returns (the one list of the public names, read here by calling it over a
// stand-in native half):
// - cjs: the API over the native module named on the command line (the napi-rs addon's
//   loader), one `exports.<name> =` each, so that Node's ES module loader sees named exports;
//   the entry is `module.exports = require('./api.js')`;
// - esm: `export let <name>` bindings and a default export `load(native)` that sets them;
//   each entry loads the wasm module its own way, calls `load`, and re-exports the names with
//   `export * from './api.js'` (which leaves the default export out).
// Also writes <dir>/index.d.ts and <dir>/surface.d.ts (the one public typing and the typing
// generated from shardtally-api). The copies are build outputs, ignored by git. A file is
// only rewritten when its content changes.
import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'

const [format, dir, native] = process.argv.slice(2)
if (!dir || !((format === 'cjs' && native) || (format === 'esm' && !native))) {
  console.error('usage: node copy.mjs cjs <package dir> <native module> | node copy.mjs esm <package dir>')
  process.exit(2)
}
const src = new URL('../src/', import.meta.url)
const read = (name) => readFileSync(new URL(name, src), 'utf8')
const header = '// Copied from bindings-js/src/api.js by bindings-js/scripts/copy.mjs: edit the source, not this copy.\n'
const api = read('api.js')

/** The public names: the keys of what `makeApi` returns, over a native half that does nothing. */
function publicNames() {
  const idle = new Proxy(function () {}, { get: () => idle, apply: () => idle, construct: () => idle })
  const makeApi = new Function(`${api}\nreturn makeApi`)()
  return Object.keys(makeApi(idle))
}
const names = publicNames()

const cjs = () =>
  [
    `${header}'use strict'`,
    api,
    `// The public API over the native half, one assignment per name (Node's ES module loader reads them as named exports).`,
    `const api = makeApi(require('${native}'))`,
    ...names.map((n) => `exports.${n} = api.${n}`),
    '',
  ].join('\n')

const esm = () =>
  [
    header + api,
    `// The public API: set by \`load(native)\`, which an entry calls once it has loaded the native half.`,
    `export let ${names.join(', ')}`,
    '',
    `/** Builds the API over \`native\` (initialised) into this module's exports. */`,
    `export default function load(native) {`,
    `  ;({ ${names.join(', ')} } = makeApi(native))`,
    `}`,
    '',
  ].join('\n')

const files = {
  'api.js': format === 'cjs' ? cjs() : esm(),
  'index.d.ts': read('index.d.ts'),
  'surface.d.ts': read('surface.d.ts'),
}
for (const [name, content] of Object.entries(files)) {
  const path = join(dir, name)
  if (!existsSync(path) || readFileSync(path, 'utf8') !== content) writeFileSync(path, content)
}
