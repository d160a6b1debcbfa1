//! cargo-fuzz target `config`: see ../targets/config.rs (shared with the stable replay test).
#![no_main]

#[path = "../targets/config.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::config(data));
