// Copies the PostgreSQL migrations into pg/migrations, as a build step of this package
// (package.json `build`, `build:debug` and `prepack`; scripts/test.sh). Their one source is
// the Python package's (bindings-python/python/shardtally/pg/migrations, shipped there as
// package data): both packages apply the same files to the same schema. The copy is a build
// output, ignored by git; it is replaced as a whole, so a file the source drops goes too.
import { cpSync, existsSync, rmSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const source = fileURLToPath(new URL('../../bindings-python/python/shardtally/pg/migrations/', import.meta.url))
const target = fileURLToPath(new URL('../pg/migrations/', import.meta.url))
if (!existsSync(source)) {
  console.error(`the migrations' source is missing: ${source}`)
  process.exit(1)
}
rmSync(target, { recursive: true, force: true })
cpSync(source, target, { recursive: true, filter: (path) => statSync(path).isDirectory() || path.endsWith('.sql') })
