//! cargo-fuzz target `bundle`: see ../targets/bundle.rs (shared with the stable replay test).
#![no_main]

#[path = "../targets/bundle.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::bundle(data));
