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

/**
 * The top README's quick start for this package (`## Quick start (Node.js)` for `shardtally`,
 * `## Quick start (WebAssembly…)` for `shardtally-wasm`) runs as written against the package
 * and prints what its comments say.
 */
export function topReadmeTests(name, resolved) {
  const top = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const heading = name === 'shardtally' ? '## Quick start (Node.js)' : '## Quick start (WebAssembly'
  const text = top.split(heading)[1]?.split('\n## ')[0]
  const code = /```js\n([\s\S]*?)```/.exec(text ?? '')?.[1]
  test(`the top README's quick start for ${name} runs`, async () => {
    assert.ok(code, `a js block under "${heading}" in README.md`)
    const printed = []
    globalThis.__readmeLog = (...args) => printed.push(args)
    const source = code
      // The Node quick start is CommonJS: `require` the package as an import instead.
      .replace(/const \{ ([^}]+) \} = require\('shardtally'\)[^\n]*/, `import { $1 } from ${JSON.stringify(resolved)}`)
      .replace(`from '${name}'`, `from ${JSON.stringify(resolved)}`)
      .replaceAll('console.log(', 'globalThis.__readmeLog(')
    await import(`data:text/javascript,${encodeURIComponent(source)}`)
    // Every `console.log(x) // value…` line printed the value its comment shows.
    const expected = [...code.matchAll(/console\.log\([^\n]*\/\/ (\[[^\n]*?\])(?::|$)/gm)].map((m) => [new Function(`return ${m[1]}`)()])
    assert.ok(expected.length > 0, 'the quick start states what it prints')
    assert.deepStrictEqual(printed, expected)
  })
}
