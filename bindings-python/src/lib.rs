//! Python bindings of shardtally (placeholder).
