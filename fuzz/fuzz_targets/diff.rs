//! cargo-fuzz target `diff`: see ../targets/diff.rs (shared with the stable replay test).
#![no_main]

#[path = "../targets/diff.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::diff(data));
