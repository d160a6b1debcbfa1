//! The one-input function of the cargo-fuzz target `config`, shared by `fuzz/fuzz_targets/config.rs`
//! and the stable replay test of the crate it exercises (`sweep/tests/`), both of which include this file
//! with `#[path]`. It must return normally on any input: errors are the expected outcome of
//! garbage; a panic (or an abort, or an allocation driven by an untrusted length) is a bug.

use driftbench_sweep::config::SweepConfig;
use std::path::Path;

/// The sweep config loader on arbitrary text (bytes decoded as lossy UTF-8).
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match SweepConfig::parse(&text, Path::new("fuzz.toml")) {
        Ok(config) => {
            let _ = format!("{config:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
