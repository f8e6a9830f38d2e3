// The "More machines" section of both package READMEs (between `<!-- machines` and
// `<!-- /machines -->`): the same text in bindings-node/README.md and
// bindings-wasm/README.md but for the package name, and every ```js example in it runs
// against the package (bindings-node/test/readme.test.mjs, bindings-wasm/test/readme.test.mjs).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'

const readme = (pkg) => readFileSync(new URL(`../../${pkg}/README.md`, import.meta.url), 'utf8')

/** The machines section of a README, with its package name replaced by `PACKAGE`. */
function section(text, name) {
  const m = /<!-- machines[^\n]*\n([\s\S]*?)<!-- \/machines -->/.exec(text)
  assert.ok(m, 'a <!-- machines --> section')
  return m[1].replaceAll(`from '${name}'`, "from 'PACKAGE'")
}

/** `name`: the package's name in its README; `resolved`: what its import resolves to. */
export function readmeTests(name, resolved) {
  const own = section(readme(name === 'shardtally' ? 'bindings-node' : 'bindings-wasm'), name)

  test('both READMEs have the same machines section', () => {
    assert.equal(section(readme('bindings-node'), 'shardtally'), section(readme('bindings-wasm'), 'shardtally-wasm'))
  })

  const examples = [...own.matchAll(/^### (.+)\n[\s\S]*?```js\n([\s\S]*?)```/gm)]
  test('the machines section has an example per machine', () => {
    assert.deepEqual(
      examples.map((m) => m[1]),
      ['Gateway', 'Membership', 'Buckets', 'Outbox', 'Change journal and reset notices', 'Partition helpers', 'Request keys'],
    )
  })
  for (const [, title, code] of examples) {
    test(`README example: ${title}`, async () => {
      const printed = new Map()
      globalThis.__readmeLog = (line, ...args) => printed.set(line, [...(printed.get(line) ?? []), args])
      const lines = code.split('\n')
      const source = lines
        .map((l, i) => l.replaceAll("from 'PACKAGE'", `from ${JSON.stringify(resolved)}`).replaceAll('console.log(', `globalThis.__readmeLog(${i}, `))
        .join('\n')
      await import(`data:text/javascript,${encodeURIComponent(`import { Buffer } from 'node:buffer'\n${source}`)}`)
      // A `console.log(…) // a, b` line printed once prints exactly the values of its comment
      // (comments that are not JavaScript values, like placeholders, are prose).
      let checked = 0
      lines.forEach((l, i) => {
        const comment = /console\.log\(.*\/\/ (.*)$/.exec(l)?.[1]
        let expected
        try {
          expected = new Function(`return [${comment}]`)()
        } catch {
          return
        }
        if (comment === undefined || printed.get(i)?.length !== 1) return
        assert.deepStrictEqual(printed.get(i)[0], expected, `line ${i + 1}: ${l.trim()}`)
        checked++
      })
      assert.ok(checked > 0, 'the example prints values its comments state')
    })
  }
}
