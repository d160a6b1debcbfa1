//! cargo-fuzz target `protocol`: see ../targets/protocol.rs (shared with the stable replay test).
#![no_main]

#[path = "../targets/protocol.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::protocol(data));
