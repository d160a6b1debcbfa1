//! The report's noise-floor data: each route against the f64 reference, per cell and per
//! dtype, and the f64 reference runs themselves.

use driftbench_core::dtype::Dtype;
use driftbench_core::float_opt;
use driftbench_core::kv::KvMode;
use serde::{Deserialize, Serialize};

/// One (span, dtype, kv_aligned) of one backend against the f64 reference, aggregated over
/// the seeds whose pair has a floor. Maxima propagate NaN; `None`: no seed has a floor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloorRow {
    /// Prompt length.
    pub span: usize,
    /// Dtype.
    pub dtype: Dtype,
    /// 1 aligned, 0 block-padded KV cache (the f64 decode always uses the aligned cache).
    pub kv_aligned: KvMode,
    /// Largest max_abs_diff of the prefill route against the f64 prefill.
    #[serde(with = "float_opt")]
    pub prefill_err: Option<f64>,
    /// Largest max_abs_diff of the decode route against the f64 decode.
    #[serde(with = "float_opt")]
    pub decode_err: Option<f64>,
    /// `decode_err / prefill_err`: above 1 decode is the less accurate route.
    #[serde(with = "float_opt")]
    pub route_ratio: Option<f64>,
    /// Largest prefill/decode max_abs_diff of the pairs (the drift itself).
    #[serde(with = "float_opt")]
    pub drift: Option<f64>,
    /// Largest drift as a multiple of its own pair's floor (the smaller route error).
    #[serde(with = "float_opt")]
    pub multiple: Option<f64>,
    /// Largest per-position KL of the prefill route against the f64 prefill.
    #[serde(with = "float_opt")]
    pub prefill_kl_max: Option<f64>,
    /// Largest per-position KL of the decode route against the f64 decode.
    #[serde(with = "float_opt")]
    pub decode_kl_max: Option<f64>,
    /// Pairs with a floor.
    pub samples: usize,
    /// Pairs with metrics but no floor.
    pub missing: usize,
    /// Why the floor is missing, when `missing > 0`.
    pub why_missing: Option<String>,
}

/// One dtype of one backend against the f64 reference, over every span, KV layout and seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloorDtypeRow {
    /// Dtype.
    pub dtype: Dtype,
    /// Median (nearest rank) of the prefill route's max_abs_diff against f64.
    #[serde(with = "driftbench_core::float_serde")]
    pub prefill_median: f64,
    /// Largest of the same.
    #[serde(with = "driftbench_core::float_serde")]
    pub prefill_max: f64,
    /// Median of the decode route's max_abs_diff against f64.
    #[serde(with = "driftbench_core::float_serde")]
    pub decode_median: f64,
    /// Largest of the same.
    #[serde(with = "driftbench_core::float_serde")]
    pub decode_max: f64,
    /// Largest drift as a multiple of its pair's floor.
    #[serde(with = "float_opt")]
    pub multiple_max: Option<f64>,
    /// Pairs with a floor.
    pub samples: usize,
}

/// The f64 reference runs of one (span, seed): prefill against decode, both in f64.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceRow {
    /// Backend that ran them.
    pub backend: String,
    /// Prompt length.
    pub span: usize,
    /// Prompt seed.
    pub seed: u64,
    /// f64 prefill against f64 decode, max_abs_diff.
    #[serde(with = "float_opt")]
    pub max_abs: Option<f64>,
    /// f64 prefill against f64 decode, largest per-position KL.
    #[serde(with = "float_opt")]
    pub kl_max: Option<f64>,
    /// f64 prefill wall time, seconds.
    #[serde(with = "float_opt")]
    pub prefill_wall_s: Option<f64>,
    /// f64 decode wall time, seconds.
    #[serde(with = "float_opt")]
    pub decode_wall_s: Option<f64>,
    /// f64 model load, seconds (on the first run after a load).
    #[serde(with = "float_opt")]
    pub load_s: Option<f64>,
    /// Why the reference could not be computed.
    pub error: Option<String>,
    /// Peak memory of the process that ran the f64 session, bytes.
    #[serde(default)]
    pub peak_rss_bytes: Option<u64>,
}
