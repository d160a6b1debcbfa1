//! The plugin contract: logits comparison, option reader, prompt generator.
//!
//! One test binary for the crate (each file a module), so a change to one test relinks one
//! binary: `cargo test -p <crate> --test contract [FILTER]`.

mod metrics;
mod options;
mod rng;
