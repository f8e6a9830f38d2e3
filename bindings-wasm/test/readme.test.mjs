// The README's Node example runs as written and prints what its comment says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readmeTests, topReadmeTests } from '../../bindings-js/test/readme.mjs';

test('the README usage example runs and gives the totals it shows', async () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const code = readme.match(/```js\n(import \{ Global, Router, Shard \} from 'shardtally-wasm';\n[\s\S]*?)```/)[1];
  const printed = [];
  globalThis.__readmeLog = (v) => printed.push(v);
  const source = code
    .replace("from 'shardtally-wasm'", `from ${JSON.stringify(import.meta.resolve('shardtally-wasm'))}`)
    .replaceAll('console.log(', 'globalThis.__readmeLog(');
  await import(`data:text/javascript,${encodeURIComponent(source)}`);
  assert.deepEqual(printed, [[{ key: 'a', total: 3 }, { key: 'b', total: 2 }, { key: 'c', total: 1 }]]);
});

// The machine examples, the same in the Node package's README (bindings-js/test/readme.mjs).
readmeTests('shardtally-wasm', import.meta.resolve('shardtally-wasm'));
topReadmeTests('shardtally-wasm', import.meta.resolve('shardtally-wasm'));
