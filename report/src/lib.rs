//! driftbench's report, in stages along the data flow: the journal's records are aggregated
//! ([`aggregate`], with the generated observations of `observe`) into a [`Report`] ([`model`]),
//! which is rendered ([`render`]: `report.md`, `report.html`, CSV tables, SVG plots, the
//! terminal's summary table) and written atomically ([`write`]); [`diff`] compares two
//! `report.json` files.
//!
//! `report.md` mirrors the hand-written reference report section by section (Global
//! Verdict, Counting Semantics, Observations, Comparison Results, Drift Characterization,
//! Performance Profiling) once per backend, then adds a cross-backend summary, the
//! environment and the configuration.
//!
//! The report reads records and never runs anything: it depends on the sweep crate's record,
//! verdict and noise-floor types only.

#![forbid(unsafe_code)]

pub mod aggregate;
pub mod diff;
pub mod format;
pub mod model;
mod observe;
pub mod render;
mod stats;
pub mod write;

pub use aggregate::format_utc;
pub use model::floor::{FloorDtypeRow, FloorRow, ReferenceRow};
pub use model::latency::{DtypeResources, HarnessShare, LatencyRow, LatencyStats, Roofline};
pub use model::spread::{SeedSpreadRow, SeedVerdict, Spread};
pub use model::{
    AgreementRow, BackendReport, Cell, ComparisonRow, CrossBackend, CrossPerfRow, DriftRow,
    ModelLoad, Observation, PerfRow, Report, RouteRatio, RunCounts, SweepInfo, Timing,
    VerdictCount, WarmupRow,
};
pub use render::html::render_html;
pub use render::markdown::latency::harness_line;
pub use render::markdown::render_markdown;
pub use render::plots::{per_layer_plot, per_layer_plot_values, report_plots, Plot};
pub use render::svg::{bar_chart, line_plot, BarChart, LinePlot, Series, Unit, YScale};
pub use render::table::summary_table;
pub use write::write_reports;
