//! Arbitrary bytes through every decoder: errors, never panics; decoded values round-trip.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| shardtally::testing::fuzz::snapshot_decode(data));
