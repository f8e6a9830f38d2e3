// The gateway host's one import of the engine: the shardtally WebAssembly package (its
// `workerd` export condition instantiates the module from a CompiledWasm import).
export { Gateway } from "shardtally-wasm";
