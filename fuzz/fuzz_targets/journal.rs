//! cargo-fuzz target `journal`: see ../targets/journal.rs (shared with the stable replay test).
#![no_main]

#[path = "../targets/journal.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::journal(data));
