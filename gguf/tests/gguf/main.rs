//! The GGUF reader, writer and dequantizers, the real model file, and the GGUF fuzz replay.
//!
//! One test binary for the crate (each file a module), so a change to one test relinks one
//! binary: `cargo test -p <crate> --test gguf [FILTER]`.

mod common;
mod dequant;
mod fuzz_replay;
mod read;
mod real_model;
#[cfg(feature = "tokenizer")]
mod tokenizer;
