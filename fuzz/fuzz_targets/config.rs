//! cargo-fuzz target `config`: see ../targets.rs (shared with the stable replay harness,
//! plugins/host/tests/fuzz_replay.rs).
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::config(data));
