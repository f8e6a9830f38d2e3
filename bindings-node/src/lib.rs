//! Node.js bindings of shardtally (placeholder).
