//! The sweep: config, grid, journal, resume, replay bundles, verdicts, the runner with fake backends, and the config fuzz replay.
//!
//! One test binary for the crate (each file a module), so a change to one test relinks one
//! binary: `cargo test -p <crate> --test sweep [FILTER]`.

mod backend_tables;
mod config;
mod config_reference;
mod fuzz_replay;
mod grid;
mod journal;
mod replay;
mod replay_validation;
mod runner;
mod runner_profile;
mod verdict;
