//! The plugin ABI: the C header against the Rust layout, the JSON schemas against the serde types.
//!
//! One test binary for the crate (each file a module), so a change to one test relinks one
//! binary: `cargo test -p <crate> --test abi [FILTER]`.

mod c_header;
mod schemas;
