//! The sweep report: built from the journal's records ([`Report::from_records`]), rendered
//! as `report.md` ([`render_markdown`]), serialized as `report.json` (the [`Report`] itself)
//! and summarized on the terminal ([`summary_table`]).
//!
//! `report.md` mirrors the hand-written reference report section by section (Global
//! Verdict, Counting Semantics, Observations, Comparison Results, Drift Characterization,
//! Performance Profiling) once per backend, then adds a cross-backend summary, the
//! environment and the configuration.

mod atomic;
pub mod csv;
mod date;
pub mod diff;
mod floor;
mod format;
mod from_records;
mod html;
mod latency;
mod markdown;
mod md;
mod md_cross;
mod md_floor;
mod md_latency;
mod md_spread;
mod model;
mod model_floor;
mod model_latency;
mod model_spread;
mod obs_floor;
mod obs_pairs;
mod observations;
mod plots;
mod spread;
mod stats;
mod svg;
mod table;
mod write;

pub use date::format_utc;
pub use html::render_html;
pub use markdown::render_markdown;
pub use md_latency::harness_line;
pub use model::{
    AgreementRow, BackendReport, Cell, ComparisonRow, CrossBackend, CrossPerfRow, DriftRow,
    ModelLoad, Observation, PerfRow, Report, RouteRatio, RunCounts, SweepInfo, VerdictCount,
    WarmupRow,
};
pub use model_floor::{FloorDtypeRow, FloorRow, ReferenceRow};
pub use model_latency::{DtypeResources, HarnessShare, LatencyRow, LatencyStats, Roofline};
pub use model_spread::{SeedSpreadRow, SeedVerdict, Spread};
pub use plots::{per_layer_plot, per_layer_plot_values, report_plots, Plot};
pub use svg::{bar_chart, line_plot, BarChart, LinePlot, Series, Unit, YScale};
pub use table::summary_table;
pub use write::write_reports;
