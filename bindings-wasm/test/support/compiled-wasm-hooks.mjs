// Node module hooks that load `*.wasm` imports the way workerd's CompiledWasm module rule
// does: the default export is a compiled `WebAssembly.Module`.
export async function load(url, context, nextLoad) {
  if (url.endsWith('.wasm')) {
    return {
      format: 'module',
      shortCircuit: true,
      source: `import { readFileSync } from 'node:fs';
export default new WebAssembly.Module(readFileSync(new URL(${JSON.stringify(url)})));`,
    };
  }
  return nextLoad(url, context);
}
