// Runs a Worker locally in workerd (Miniflare) the way wrangler deploys it: bundled by
// esbuild with the `workerd` export condition, `.wasm` imports kept as CompiledWasm
// modules. Used by the tests, the load script and the example's demo.
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { readFile } from "node:fs/promises";
import path from "node:path";

/** Newest compatibility date the bundled workerd accepts. */
export const COMPATIBILITY_DATE = "2026-05-03";

/**
 * Bundles `entry` into one ES module. Every imported `.wasm` file becomes a separate
 * CompiledWasm module next to the bundle, as wrangler does.
 * @param {string} entry absolute path of the Worker's entry module
 * @param {{alias?: Record<string, string>}} [options] esbuild aliases (package -> path)
 * @returns {Promise<Array<{type: string, path: string, contents: Uint8Array | string}>>}
 */
export async function bundleWorker(entry, { alias = {} } = {}) {
  const root = path.join(path.dirname(entry), ".bundle");
  const wasm = new Map();
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*", "node:*"],
    write: false,
    outfile: path.join(root, "worker.js"),
    logLevel: "silent",
    alias,
    plugins: [
      {
        name: "compiled-wasm",
        setup(b) {
          b.onResolve({ filter: /\.wasm$/ }, (args) => {
            const abs = path.resolve(args.resolveDir, args.path);
            const name = path.basename(abs);
            wasm.set(name, abs);
            return { path: `./${name}`, external: true };
          });
        },
      },
    ],
  });
  const modules = [{ type: "ESModule", path: path.join(root, "worker.js"), contents: result.outputFiles[0].text }];
  for (const [name, abs] of wasm) {
    modules.push({ type: "CompiledWasm", path: path.join(root, name), contents: await readFile(abs) });
  }
  return modules;
}

/**
 * Starts one workerd instance running the bundled `entry`.
 * @param {object} options
 * @param {string} options.entry absolute path of the Worker entry module
 * @param {Record<string, string>} options.durableObjects binding name -> exported class name
 * @param {string[]} [options.kvNamespaces] KV binding names
 * @param {string} [options.persist] directory for Durable Object (and KV) persistence
 * @param {Record<string, unknown>} [options.bindings] plain variables
 * @param {Record<string, string>} [options.alias] esbuild aliases (package -> path)
 * @param {object} [options.log] a Miniflare `Log` (default: warnings and errors)
 */
export async function startWorker({ entry, durableObjects, kvNamespaces = [], persist, bindings = {}, alias, log }) {
  const modules = await bundleWorker(entry, { alias });
  const mf = new Miniflare({
    compatibilityDate: COMPATIBILITY_DATE,
    // A fixed placeholder `request.cf`: Miniflare would otherwise download a real one.
    cf: false,
    modulesRoot: path.dirname(modules[0].path),
    modules,
    durableObjects,
    kvNamespaces,
    bindings,
    ...(log ? { log } : {}),
    ...(persist ? { durableObjectsPersist: path.join(persist, "do"), kvPersist: path.join(persist, "kv") } : {}),
  });
  try {
    await mf.ready;
  } catch (error) {
    // A runtime that failed to start still holds its sockets: release them.
    await mf.dispose().catch(() => {});
    throw error;
  }
  return {
    mf,
    /**
     * Sends one request to the Worker and reads the answer. A string body is sent as is,
     * anything else as JSON.
     */
    async request(method, pathname, body) {
      const init = { method };
      if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
      const res = await mf.dispatchFetch(`http://counter.test${pathname}`, init);
      const text = await res.text();
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, json, text };
    },
    dispose: () => mf.dispose(),
  };
}

