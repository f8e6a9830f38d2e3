// ns per increment of the Node package against a JS `Map` doing the same work in the same
// process, at 1, 100, 10 000 and 1 000 000 keys: the cases of bindings-js/bench/cases.mjs
// (per-call increments by key and by id, `incrementIds` batches, `increments({...})` per
// entry, and the end-to-end loop with batches delivered to a Global).
//
//   node bench/bench.mjs                   # full run (build the addon in release first:
//                                          #   npx napi build --platform --release ...,
//                                          #   as scripts/bench.sh does)
//   node bench/bench.mjs --smoke           # 1 and 100 keys, a few thousand increments
//   node bench/bench.mjs --sizes 100 --json rows.json
//
// Rows are `{ op, lang: "node", keys, ns, baseline_ns, ratio }` (scripts/bench.sh merges them
// with the other languages'). Native memory is not visible to Node; the Rust, Python and
// WebAssembly benches report bytes per counter.
import { Shard, Global } from '../index.js'
import { run } from '../../bindings-js/bench/cases.mjs'

await run({ Shard, Global }, 'node', process.argv.slice(2))
