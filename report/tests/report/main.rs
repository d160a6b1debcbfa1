//! The report: built from hand-made records and from the golden journal, rendered to every format, diffed.
//!
//! One test binary for the crate (each file a module), so a change to one test relinks one
//! binary: `cargo test -p <crate> --test report [FILTER]`.

mod csv_injection;
mod diff;
mod fuzz_replay;
mod golden;
mod html_injection;
mod linear_render;
mod link_safety;
mod report;
mod report_aggregation;
mod report_floor;
mod report_latency;
mod report_plots;
