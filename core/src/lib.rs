//! shardtally (work in progress)
pub mod partition;
mod rng;
