//! WebAssembly bindings of shardtally (placeholder).
