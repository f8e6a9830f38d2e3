//! Random operation sequences against the simulation: conservation must hold.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| shardtally::testing::fuzz::sim_ops(data));
