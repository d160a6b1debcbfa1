//! The report's latency profile data: per-route latency and roofline figures, each
//! backend's loads, memory and peaks per dtype, and where the sweep's time went.

use driftbench_core::dtype::Dtype;
use driftbench_core::float_opt;
use driftbench_core::kv::KvMode;
use driftbench_core::profile::Peaks;
use driftbench_core::roofline::ModelCost;
use driftbench_core::route::Route;
use driftbench_sweep::records::{HarnessTimes, PeaksSource};
use serde::{Deserialize, Serialize};

/// Latency of a group of successful measured runs, with how many samples each figure has.
/// Percentiles are nearest rank; NaN ranks highest, so a NaN step surfaces in p99.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyStats {
    /// Runs aggregated (every repetition counts).
    pub runs: usize,
    /// Mean run wall time, seconds (for prefill: the time to first token, TTFT).
    #[serde(with = "driftbench_core::float_serde")]
    pub wall_mean_s: f64,
    /// 95th percentile run wall time, seconds.
    #[serde(with = "driftbench_core::float_serde")]
    pub wall_p95_s: f64,
    /// Median run wall time, seconds; absent from older reports.
    #[serde(default, with = "float_opt")]
    pub wall_median_s: Option<f64>,
    /// Median absolute deviation of the run wall times from their median, seconds
    /// (unscaled); absent from older reports.
    #[serde(default, with = "float_opt")]
    pub wall_mad_s: Option<f64>,
    /// Every run's wall time, seconds, in journal order: what `driftbench diff` tests a
    /// slowdown with (a rank test needs the runs, not their mean). Empty in older reports.
    #[serde(default, with = "driftbench_core::float_vec64")]
    pub wall_samples_s: Vec<f64>,
    /// Decode steps aggregated (every step of every run that reported them).
    pub steps: usize,
    /// Runs that reported their steps.
    pub step_runs: usize,
    /// Steps whose time is NaN or infinite (they rank highest in the percentiles, and make
    /// the tokens/s NaN or 0).
    #[serde(default)]
    pub step_nonfinite: usize,
    /// Median decode step, seconds.
    #[serde(default, with = "float_opt")]
    pub step_p50_s: Option<f64>,
    /// 90th percentile decode step, seconds.
    #[serde(default, with = "float_opt")]
    pub step_p90_s: Option<f64>,
    /// 95th percentile decode step, seconds.
    #[serde(default, with = "float_opt")]
    pub step_p95_s: Option<f64>,
    /// 99th percentile decode step, seconds.
    #[serde(default, with = "float_opt")]
    pub step_p99_s: Option<f64>,
    /// Decode tokens per second over the steps: steps / Σ step seconds.
    #[serde(default, with = "float_opt")]
    pub step_tokens_per_s: Option<f64>,
    /// Mean logits read-back, seconds.
    #[serde(default, with = "float_opt")]
    pub readback_mean_s: Option<f64>,
    /// Runs that reported their read-back.
    pub readback_runs: usize,
    /// Mean bytes read back (logits, widened to f32).
    #[serde(default, with = "float_opt")]
    pub readback_bytes_mean: Option<f64>,
    /// Largest peak resident memory of the running process after these runs, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    /// Achieved throughput against the device's peaks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roofline: Option<Roofline>,
}

/// What a group of runs achieved, from the model's FLOPs and bytes (see
/// [`driftbench_core::roofline`]) over the compute time: decode steps' Σ seconds, or the prefill wall
/// less its read-back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Roofline {
    /// Runs the figures cover.
    pub runs: usize,
    /// Achieved GFLOP/s.
    #[serde(with = "driftbench_core::float_serde")]
    pub gflops: f64,
    /// Achieved GB/s.
    #[serde(with = "driftbench_core::float_serde")]
    pub gbs: f64,
    /// `gflops` over the device's peak GEMM throughput in this dtype.
    #[serde(default, with = "float_opt")]
    pub gflops_of_peak: Option<f64>,
    /// `gbs` over the device's peak bandwidth in this dtype.
    #[serde(default, with = "float_opt")]
    pub gbs_of_peak: Option<f64>,
}

/// One row of a backend's latency profile: a (span, dtype, route, KV layout) group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyRow {
    /// Prompt length.
    pub span: usize,
    /// Dtype.
    pub dtype: Dtype,
    /// Route.
    pub route: Route,
    /// KV layout of the decode route; `None` for prefill (both pairs' prefills).
    pub kv_aligned: Option<KvMode>,
    /// The figures.
    #[serde(flatten)]
    pub stats: LatencyStats,
}

/// One backend's sessions in one dtype: model loads, peak memory, device peaks, model cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DtypeResources {
    /// Dtype.
    pub dtype: Dtype,
    /// Successful model loads.
    pub loads: usize,
    /// Mean load time, seconds.
    #[serde(default, with = "float_opt")]
    pub load_mean_s: Option<f64>,
    /// Largest peak resident memory reported after a run, bytes (the worker's in a worker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    /// Runs that reported it.
    pub peak_rss_runs: usize,
    /// Where the device's peaks came from (`None`: the journal does not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peaks_source: Option<PeaksSource>,
    /// The device's peaks in this dtype.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peaks: Option<Peaks>,
    /// Seconds the peak probes took, when measured.
    #[serde(default, with = "float_opt", skip_serializing_if = "Option::is_none")]
    pub peaks_probe_s: Option<f64>,
    /// Why there are no peaks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peaks_error: Option<String>,
    /// What the model costs to run in this dtype, as the session said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<ModelCost>,
}

/// Where the sweep's wall time went, summed over its invocations (a resumed sweep has
/// several). Report rendering happens after and is not in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HarnessShare {
    /// `sweep` invocations summed.
    pub invocations: usize,
    /// Runner wall time, seconds.
    #[serde(with = "driftbench_core::float_serde")]
    pub sweep_wall_s: f64,
    /// The harness's own work, seconds (sum of `parts`).
    #[serde(with = "driftbench_core::float_serde")]
    pub harness_s: f64,
    /// `harness_s / sweep_wall_s`.
    #[serde(with = "driftbench_core::float_serde")]
    pub harness_fraction: f64,
    /// Model loads.
    #[serde(with = "driftbench_core::float_serde")]
    pub loads_s: f64,
    /// Peak probes.
    #[serde(with = "driftbench_core::float_serde")]
    pub peaks_s: f64,
    /// Warm-up runs.
    #[serde(with = "driftbench_core::float_serde")]
    pub warmup_s: f64,
    /// Measured runs.
    #[serde(with = "driftbench_core::float_serde")]
    pub runs_s: f64,
    /// The f64 noise-floor reference.
    #[serde(with = "driftbench_core::float_serde")]
    pub reference_s: f64,
    /// What no part accounts for (progress display, prompt generation, buffer sizing...).
    #[serde(with = "driftbench_core::float_serde")]
    pub other_s: f64,
    /// The harness's work by part.
    pub parts: HarnessTimes,
    /// Largest peak memory (VmHWM) of the host process over the invocations, bytes.
    #[serde(default)]
    pub host_peak_rss_bytes: Option<u64>,
}
