//! The sweep report: built from the journal's records ([`Report::from_records`]), rendered
//! as `report.md` ([`render_markdown`]), serialized as `report.json` (the [`Report`] itself)
//! and summarized on the terminal ([`summary_table`]).
//!
//! `report.md` mirrors the hand-written reference report section by section (Global
//! Verdict, Counting Semantics, Observations, Comparison Results, Drift Characterization,
//! Performance Profiling) once per backend, then adds a cross-backend summary, the
//! environment and the configuration.

mod date;
mod format;
mod from_records;
mod markdown;
mod model;
mod observations;
mod stats;
mod table;
mod write;

pub use date::format_utc;
pub use markdown::render_markdown;
pub use model::{
    BackendReport, Cell, ComparisonRow, CrossBackend, CrossPerfRow, DriftRow, ModelLoad,
    Observation, PerfRow, Report, RouteRatio, RunCounts, SweepInfo, VerdictCount,
};
pub use table::summary_table;
pub use write::write_reports;
