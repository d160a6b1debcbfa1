//! The report's data: what `report.json` holds and what `report.md` renders.

pub mod floor;
pub mod latency;
pub mod merge;
pub mod spread;

use driftbench_core::dtype::Dtype;
use driftbench_core::float_opt;
use driftbench_core::kv::KvMode;
use driftbench_core::metrics::Metrics;
use driftbench_core::options::Counters;
use driftbench_core::route::Route;
use driftbench_sweep::records::{RepeatMismatch, SweepHeader};
use driftbench_sweep::verdict::GlobalVerdict;
use driftbench_sweep::verdict::Verdict;
use floor::{FloorDtypeRow, FloorRow, ReferenceRow};
use latency::{DtypeResources, HarnessShare, LatencyRow, LatencyStats};
use serde::{Deserialize, Serialize};
use spread::SeedSpreadRow;

/// A whole sweep's report; serialized as-is, it is `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`driftbench_sweep::records::SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// Name, date, mode and pair totals of the sweep.
    pub sweep: SweepInfo,
    /// Global verdict over every pair of every backend; `INCOMPLETE` (unless a pair failed)
    /// when [`Report::gaps`] is not empty.
    pub global: GlobalVerdict,
    /// Why the journal does not make a whole sweep: no header, no pair, planned pairs
    /// without a verdict. Empty for a finished sweep.
    #[serde(default)]
    pub gaps: Vec<String>,
    /// Optional backends (`--optional`, `sweep.optional_backends`) that classified no pair,
    /// each with why: listed, and ignored by the global verdict.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<String>,
    /// Pairs per verdict over every backend (every verdict, zeros included).
    pub counts: Vec<VerdictCount>,
    /// One report per backend, in order of first appearance in the journal.
    pub backends: Vec<BackendReport>,
    /// Backends side by side.
    pub cross: CrossBackend,
    /// The journal's sweep header as written (environment, configuration); `None` when the
    /// journal has none (a partial file).
    pub header: Option<SweepHeader>,
    /// Where the sweep's wall time went, the harness's share included; `None` when the
    /// journal has no summary (older, or cut short). Report rendering is not in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harness: Option<HarnessShare>,
    /// For a merged journal: its sources and, across machines, the same runs compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<merge::MergeView>,
}

impl Report {
    /// Global verdict of the sweep (the CLI's exit code follows it).
    pub fn global(&self) -> GlobalVerdict {
        self.global
    }

    /// The report of backend `name`, if it took part.
    pub fn backend(&self, name: &str) -> Option<&BackendReport> {
        self.backends.iter().find(|b| b.name == name)
    }
}

/// What the sweep was; "unknown" where the journal has no header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepInfo {
    /// Sweep name from the config.
    pub name: String,
    /// Start time as `YYYY-MM-DD HH:MM:SS UTC`.
    pub date_utc: String,
    /// Start time, seconds since the Unix epoch.
    pub started_unix: Option<u64>,
    /// What the grid varies, e.g. `Span Escalation + Dtype Sweep + Drift Characterization`.
    pub mode: String,
    /// Pairs in the grid, from the header.
    pub pairs_planned: Option<usize>,
    /// Pairs with a verdict in the journal (distinct keys).
    pub pairs_classified: usize,
}

/// Number of pairs with one verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictCount {
    /// The verdict.
    pub verdict: Verdict,
    /// Pairs with it.
    pub count: usize,
}

/// Run records of one backend, by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Every run record.
    pub total: usize,
    /// Runs that produced logits.
    pub ok: usize,
    /// Runs that failed, crashed or timed out.
    pub failed: usize,
    /// Runs not executed (backend, device or dtype unavailable).
    pub skipped: usize,
}

/// Everything the report says about one backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendReport {
    /// Backend name.
    pub name: String,
    /// Global verdict over this backend's pairs.
    pub global: GlobalVerdict,
    /// Pairs per verdict (every verdict, zeros included).
    pub counts: Vec<VerdictCount>,
    /// Run records by status.
    pub runs: RunCounts,
    /// Distinct pairs with a verdict.
    pub pairs: usize,
    /// Findings generated from the data.
    pub observations: Vec<Observation>,
    /// One row per pair, sorted by (span, dtype, kv_aligned, seed).
    pub comparisons: Vec<ComparisonRow>,
    /// kv_aligned=0 pairs with metrics, aggregated per (span, dtype).
    pub drift: Vec<DriftRow>,
    /// Successful runs aggregated per (span, dtype, route).
    pub performance: Vec<PerfRow>,
    /// Decode over prefill mean wall time per (span, dtype).
    pub route_ratios: Vec<RouteRatio>,
    /// Model loads (one per session), apart from run wall time.
    pub model_loads: Vec<ModelLoad>,
    /// Unmeasured warm-up runs (compile, autotune, first allocation), one per shape.
    #[serde(default)]
    pub warmups: Vec<WarmupRow>,
    /// Each route against the f64 reference per (span, dtype, kv_aligned), over seeds.
    #[serde(default)]
    pub noise_floor: Vec<FloorRow>,
    /// The same per dtype: medians and maxima of each route's error against f64.
    #[serde(default)]
    pub floor_summary: Vec<FloorDtypeRow>,
    /// Metrics and verdicts over seeds per (span, dtype, kv_aligned).
    #[serde(default)]
    pub seed_spread: Vec<SeedSpreadRow>,
    /// Latency profile per (span, dtype, route, KV layout of decode): TTFT, decode step
    /// percentiles, read-back, memory, roofline.
    #[serde(default)]
    pub latency: Vec<LatencyRow>,
    /// Per dtype: model loads, peak memory, device peaks, model cost.
    #[serde(default)]
    pub resources: Vec<DtypeResources>,
    /// Whether the measured times are warm or cold, and the evidence.
    #[serde(default)]
    pub timing: Timing,
}

/// The evidence for calling a backend's measured times warm or cold: whether warm-ups ran,
/// and what the measured runs still compiled, where the backend counts it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// Warm-up runs journaled; 0: none ran, so each shape's first measured run was cold.
    pub warmups: usize,
    /// Measured runs whose counters count compilation work.
    pub counted: usize,
    /// Of those, the runs that compiled or tuned something.
    pub compiling: usize,
    /// Kernels compiled plus autotune keys tuned during measured runs.
    pub compiled: u64,
}

impl Timing {
    /// One sentence: warm, not fully warm, or cold, and why.
    pub fn sentence(&self) -> String {
        let counted = if self.counted == 0 {
            "; this backend reports no compile counters"
        } else {
            ""
        };
        match (self.warmups > 0, self.compiling) {
            (true, 0) => format!(
                "Warm: each shape ran once unmeasured first (the warm-up table){}.",
                if self.counted > 0 { "; the measured runs compiled nothing" } else { counted }
            ),
            (true, n) => format!(
                "Not fully warm: after the warm-ups, {n} measured run(s) still compiled or tuned {} kernel(s); their times include compilation.",
                self.compiled
            ),
            (false, 0) => format!(
                "Cold: no warm-up ran (`warmup = false`); each shape's first measured run includes first-call costs{counted}."
            ),
            (false, n) => format!(
                "Cold: no warm-up ran (`warmup = false`); {n} measured run(s) compiled or tuned {} kernel(s); their times include compilation.",
                self.compiled
            ),
        }
    }
}

impl BackendReport {
    /// Pairs with verdict `v`.
    pub fn count(&self, v: Verdict) -> usize {
        count_of(&self.counts, v)
    }
}

/// Count of `v` in `counts` (0 when absent).
pub(crate) fn count_of(counts: &[VerdictCount], v: Verdict) -> usize {
    counts
        .iter()
        .find(|c| c.verdict == v)
        .map_or(0, |c| c.count)
}

/// A short titled finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// Title, e.g. `kv_aligned=0 Produced Identical Logits (diff=0.0)`.
    pub title: String,
    /// Markdown body.
    pub body: String,
}

/// One pair in the comparison table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRow {
    /// Prompt length.
    pub span: usize,
    /// Dtype.
    pub dtype: Dtype,
    /// 1 aligned, 0 block-padded KV cache.
    pub kv_aligned: KvMode,
    /// Seed.
    pub seed: u64,
    /// Verdict.
    pub verdict: Verdict,
    /// Why, for non-pass verdicts.
    pub reason: Option<String>,
    /// Metrics, when both runs produced logits.
    pub metrics: Option<Metrics>,
    /// Repetitions whose logits differ bitwise from the first's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeat_mismatch: Vec<RepeatMismatch>,
}

/// kv_aligned=0 drift of one (span, dtype). Maxima and means propagate NaN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftRow {
    /// Prompt length.
    pub span: usize,
    /// Dtype.
    pub dtype: Dtype,
    /// Largest max_abs_diff.
    #[serde(with = "driftbench_core::float_serde")]
    pub max_abs_max: f64,
    /// Mean max_abs_diff.
    #[serde(with = "driftbench_core::float_serde")]
    pub max_abs_mean: f64,
    /// Largest p99_abs_diff.
    #[serde(with = "driftbench_core::float_serde")]
    pub p99_max: f64,
    /// Mean p99_abs_diff.
    #[serde(with = "driftbench_core::float_serde")]
    pub p99_mean: f64,
    /// Lowest top1_agreement.
    #[serde(with = "driftbench_core::float_serde")]
    pub top1_min: f64,
    /// Mean top1_agreement.
    #[serde(with = "driftbench_core::float_serde")]
    pub top1_mean: f64,
    /// Largest per-position KL over the pairs that recorded it.
    #[serde(default, with = "float_opt")]
    pub kl_max: Option<f64>,
    /// Pairs aggregated.
    pub samples: usize,
}

/// Latency of one (span, dtype, route) over its successful runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerfRow {
    /// Prompt length.
    pub span: usize,
    /// Dtype.
    pub dtype: Dtype,
    /// Prefill or decode.
    pub route: Route,
    /// Mean wall time, seconds.
    #[serde(with = "driftbench_core::float_serde")]
    pub wall_mean_s: f64,
    /// 95th percentile wall time (nearest rank), seconds.
    #[serde(with = "driftbench_core::float_serde")]
    pub wall_p95_s: f64,
    /// Mean of wall time / span, seconds per token.
    #[serde(with = "driftbench_core::float_serde")]
    pub per_token_mean_s: f64,
    /// Mean of span / wall time.
    #[serde(with = "driftbench_core::float_serde")]
    pub tokens_per_s_mean: f64,
    /// Mean logits bytes, over runs that recorded it.
    #[serde(with = "float_opt")]
    pub logits_bytes_mean: Option<f64>,
    /// Runs aggregated.
    pub samples: usize,
    /// The latency profile of the same runs (decode over both KV layouts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<LatencyStats>,
}

/// Decode against prefill mean wall time for one (span, dtype).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteRatio {
    /// Prompt length.
    pub span: usize,
    /// Dtype.
    pub dtype: Dtype,
    /// Mean prefill wall time, seconds.
    #[serde(with = "driftbench_core::float_serde")]
    pub prefill_mean_s: f64,
    /// Mean decode wall time, seconds.
    #[serde(with = "driftbench_core::float_serde")]
    pub decode_mean_s: f64,
    /// decode / prefill.
    #[serde(with = "driftbench_core::float_serde")]
    pub ratio: f64,
}

/// One model load (session).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelLoad {
    /// Dtype.
    pub dtype: Dtype,
    /// Seconds the load took.
    #[serde(with = "float_opt")]
    pub load_s: Option<f64>,
    /// Device.
    pub device: Option<String>,
    /// Model description.
    pub model: Option<String>,
    /// Why the session could not be opened.
    pub error: Option<String>,
}

/// One warm-up run beside the measured runs of the same shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmupRow {
    /// Prompt length.
    pub span: usize,
    /// Dtype.
    pub dtype: Dtype,
    /// KV layout of the decode route.
    pub kv_aligned: KvMode,
    /// Route.
    pub route: Route,
    /// Seconds the warm-up took.
    #[serde(with = "float_opt")]
    pub wall_s: Option<f64>,
    /// Mean wall time of the measured runs of the same (span, dtype, kv_aligned, route).
    #[serde(with = "float_opt")]
    pub measured_mean_s: Option<f64>,
    /// Why the warm-up failed.
    pub error: Option<String>,
    /// The backend's counters of the warm-up (kernels compiled, autotune keys tuned...).
    #[serde(default, skip_serializing_if = "Counters::is_empty")]
    pub counters: Counters,
}

/// Backends side by side.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CrossBackend {
    /// Backend names, the column order of every row.
    pub backends: Vec<String>,
    /// Mean wall time per (span, dtype, route), one column per backend.
    pub performance: Vec<CrossPerfRow>,
    /// How closely two backends' logits agree for the same run, per dtype and route.
    #[serde(default)]
    pub agreement: Vec<AgreementRow>,
    /// The f64 reference runs of the noise floor, one per (span, seed).
    #[serde(default)]
    pub references: Vec<ReferenceRow>,
}

/// Two backends' logits of the same runs (same span, dtype, seed, route and KV layout)
/// compared, aggregated over spans and seeds. Maxima propagate NaN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreementRow {
    /// The compared backend.
    pub backend: String,
    /// The backend it is compared against (earlier in the sweep's order).
    pub reference: String,
    /// Dtype.
    pub dtype: Dtype,
    /// Route.
    pub route: Route,
    /// KV layout of the decode route; `None` for prefill (aggregated over both).
    pub kv_aligned: Option<KvMode>,
    /// Largest max_abs_diff.
    #[serde(with = "driftbench_core::float_serde")]
    pub max_abs_max: f64,
    /// Span of the largest max_abs_diff.
    pub worst_span: usize,
    /// Largest p99_abs_diff.
    #[serde(with = "driftbench_core::float_serde")]
    pub p99_max: f64,
    /// Mean mean_abs_diff.
    #[serde(with = "driftbench_core::float_serde")]
    pub mean_abs_mean: f64,
    /// Lowest top1_agreement.
    #[serde(with = "driftbench_core::float_serde")]
    pub top1_min: f64,
    /// Largest per-position KL over the runs that recorded it.
    #[serde(default, with = "float_opt")]
    pub kl_max: Option<f64>,
    /// Largest NMSE over the runs that recorded it.
    #[serde(default, with = "float_opt")]
    pub nmse_max: Option<f64>,
    /// NaN/Inf values over all compared runs, reference + backend.
    pub nonfinite: u64,
    /// Runs compared.
    pub samples: usize,
}

/// Mean wall time of one (span, dtype, route) on every backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossPerfRow {
    /// Prompt length.
    pub span: usize,
    /// Dtype.
    pub dtype: Dtype,
    /// Prefill or decode.
    pub route: Route,
    /// Mean wall time per backend (`None`: no successful run there).
    pub mean_wall_s: Vec<Cell>,
}

/// One backend's cell of a [`CrossPerfRow`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Mean wall time, seconds.
    #[serde(with = "float_opt")]
    pub mean_s: Option<f64>,
    /// This backend's mean over the first backend's.
    #[serde(with = "float_opt")]
    pub ratio_to_first: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::Timing;

    #[test]
    fn timing_says_warm_or_cold_from_warm_ups_and_compile_counters() {
        let t = |warmups, counted, compiling, compiled| Timing {
            warmups,
            counted,
            compiling,
            compiled,
        };
        let s = t(6, 24, 0, 0).sentence();
        assert!(
            s.starts_with("Warm:") && s.contains("compiled nothing"),
            "{s}"
        );
        let s = t(6, 0, 0, 0).sentence();
        assert!(
            s.starts_with("Warm:") && s.contains("no compile counters"),
            "{s}"
        );
        let s = t(6, 24, 2, 17).sentence();
        assert!(
            s.starts_with("Not fully warm:") && s.contains("17 kernel"),
            "{s}"
        );
        let s = t(0, 24, 3, 40).sentence();
        assert!(s.starts_with("Cold:") && s.contains("40 kernel"), "{s}");
        let s = t(0, 0, 0, 0).sentence();
        assert!(s.starts_with("Cold: no warm-up ran"), "{s}");
    }
}
