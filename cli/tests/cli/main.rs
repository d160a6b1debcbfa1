//! The `driftbench` binary end to end, plugins loaded from the built cdylibs, and the repository's own checks (architecture, book links, CLI reference).
//!
//! One test binary for the crate (each file a module), so a change to one test relinks one
//! binary: `cargo test -p <crate> --test cli [FILTER]`.

mod architecture;
mod book_links;
mod c_plugin;
mod cli_reference;
mod cluster_recipes;
mod common;
mod compare_logits;
mod defaults_prose;
mod derived_verdicts;
mod diff_context;
mod diff_inputs;
mod errors;
mod f64_transport;
mod gpu_backends;
mod hostile;
mod hostile_files;
mod html_report;
mod isolation;
mod latency_profile;
mod llamacpp_plugin;
mod merge;
mod one_writer;
mod options;
mod plugins_listing;
mod prompt_sources;
mod replay_diff;
mod replay_inputs;
mod report_cmd;
mod required_backends;
mod resume;
mod run_output;
mod shards;
mod slurm;
mod speed_significance;
mod sweep;
mod template_plugin;
mod termination;
mod trace;
