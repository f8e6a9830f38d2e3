// The one place the shim imports the engine: the shardtally WebAssembly package. Its
// `workerd` export condition instantiates the module synchronously from a CompiledWasm
// import, which is how wrangler (and the tests' bundler) load it.
export { Global, Router, Shard } from "shardtally-wasm";
