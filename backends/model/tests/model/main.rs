//! The burn model: synthetic routes, traces, profiles, and SmolLM2 against transformers.
//!
//! One test binary for the crate (each file a module), so a change to one test relinks one
//! binary: `cargo test -p <crate> --test model [FILTER]`.

mod profile;
mod smollm2_reference;
mod synthetic_routes;
mod trace;
