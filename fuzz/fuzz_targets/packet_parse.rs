#![no_main]
#[path = "../../tests/fuzz_bodies/mod.rs"]
#[allow(unused)] // each target uses one body
mod bodies;
libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::packet_parse(data));
