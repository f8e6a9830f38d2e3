// Copies the shared JavaScript API into a package, as a build step of both packages:
//
//   node bindings-js/scripts/copy.mjs cjs bindings-node      (CommonJS: Node 20 `require`)
//   node bindings-js/scripts/copy.mjs esm bindings-wasm/pkg  (an ES module)
//
// Writes <dir>/api.js (src/api.js with the export of `makeApi` in the module syntax asked
// for), <dir>/index.d.ts and <dir>/surface.d.ts (the one public typing and the typing
// generated from shardtally-api). The copies are build outputs, ignored by git. A file is
// only rewritten when its content changes.
import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'

const [format, dir] = process.argv.slice(2)
if (!['cjs', 'esm'].includes(format) || !dir) {
  console.error('usage: node copy.mjs <cjs|esm> <package dir>')
  process.exit(2)
}
const src = new URL('../src/', import.meta.url)
const read = (name) => readFileSync(new URL(name, src), 'utf8')
const header = '// Copied from bindings-js/src/api.js by bindings-js/scripts/copy.mjs: edit the source, not this copy.\n'
const api = read('api.js')
const files = {
  'api.js': format === 'cjs' ? `${header}'use strict'\n${api}\nmodule.exports = { makeApi }\n` : `${header}${api}\nexport { makeApi }\n`,
  'index.d.ts': read('index.d.ts'),
  'surface.d.ts': read('surface.d.ts'),
}
for (const [name, content] of Object.entries(files)) {
  const path = join(dir, name)
  if (!existsSync(path) || readFileSync(path, 'utf8') !== content) writeFileSync(path, content)
}
