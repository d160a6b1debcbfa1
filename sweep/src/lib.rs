//! driftbench's sweep: a TOML config ([`config`]), with its prompts ([`prompt`]: seeded random
//! ids, or windows of a text or a token file), expanded into a grid of cells ([`grid`]),
//! run on every backend by the [`runner`] (sessions, warm-ups, runs, the f64 noise floor,
//! cross-backend comparisons), each pair judged ([`verdict`], [`noise_floor`]) and every
//! record ([`records`]) appended to the journal ([`journal`]) as soon as it exists. A journal
//! can be continued ([`resume`]), and a failed pair replayed from its bundle ([`replay`]).
//!
//! This crate renders nothing: `driftbench-report` reads the records.

#![forbid(unsafe_code)]

pub mod audit;
pub mod config;
pub mod coverage;
pub mod default_backend;
pub mod digest;
pub mod grid;
pub mod identity;
pub mod input_file;
pub mod job;
pub mod journal;
pub mod machine_label;
pub mod merge;
pub mod noise_floor;
pub mod peaks_cache;
pub mod plan;
pub mod prompt;
pub mod records;
pub mod replay;
pub mod resume;
pub mod runner;
pub mod shard;
pub mod shard_id;
pub mod verdict;
