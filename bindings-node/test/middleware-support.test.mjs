// Helpers of the HTTP host tests (no tests here): a server on a loopback port and a
// keep-alive HTTP/1.1 client that sends many requests over a few connections.
import http from 'node:http'
import { once } from 'node:events'

/** Listens with `handler` (a request listener or an Express app) on 127.0.0.1, a free port. */
export async function serve(handler) {
  const server = http.createServer(handler)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: server.address().port,
    close: () =>
      new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()))
        server.closeAllConnections()
      }),
  }
}

/** GETs every path over `connections` keep-alive connections; the status codes by path index. `progress(done)` runs after each response. */
export async function getMany(port, paths, { connections = 8, progress } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections })
  const statuses = new Array(paths.length).fill(0)
  let next = 0
  let done = 0
  const get = (path) =>
    new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode))
        res.on('error', reject)
      })
      req.on('error', reject)
    })
  async function worker() {
    while (next < paths.length) {
      const i = next++
      statuses[i] = await get(paths[i])
      done++
      if (progress) progress(done)
    }
  }
  try {
    await Promise.all(Array.from({ length: connections }, worker))
  } finally {
    agent.destroy()
  }
  return statuses
}

/** Counts of each value. */
export function tally(values) {
  const out = {}
  for (const v of values) out[v] = (out[v] ?? 0) + 1
  return out
}

/** Raw counts per key over every raw day of a Buckets machine. */
export function rawTotals(buckets) {
  const out = {}
  for (const row of buckets.rows()) if (row.type === 'raw') out[row.key] = (out[row.key] ?? 0) + Number(row.count)
  return out
}

/**
 * Runs the first ```js block of the README section `heading` (a `## ` or `### ` line) as an
 * ES module inside the package (so `shardtally/...` resolves to it), after `edit`; rejects
 * when it fails.
 */
export async function runReadmeExample(heading, edit = (code) => code) {
  const { readFileSync, writeFileSync, rmSync } = await import('node:fs')
  const { execFile } = await import('node:child_process')
  const { promisify } = await import('node:util')
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const start = readme.indexOf(`\n${heading}\n`)
  if (start < 0) throw new Error(`no section ${heading} in README.md`)
  const block = /```js\n([\s\S]*?)```/.exec(readme.slice(start))
  const file = new URL(`../.readme-example-${process.pid}.mjs`, import.meta.url)
  writeFileSync(file, edit(block[1]))
  try {
    await promisify(execFile)(process.execPath, [file.pathname], { env: process.env })
  } finally {
    rmSync(file, { force: true })
  }
}
