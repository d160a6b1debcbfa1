//! cargo-fuzz target `gguf`: see ../targets/gguf.rs (shared with the stable replay test).
#![no_main]

#[path = "../targets/gguf.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::gguf(data));
