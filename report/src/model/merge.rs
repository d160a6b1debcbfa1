//! What a merged journal adds to the report: the journals it joins and, with several
//! machines, each backend's runs on one machine against the same runs on another.

use driftbench_core::compact::CompactMetrics;
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::route::Route;
use serde::{Deserialize, Serialize};

/// The merge's part of a report (`driftbench merge`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeView {
    /// Every source journal, in the merge's order.
    pub sources: Vec<SourceRow>,
    /// One line per backend instance whose plugin file differs between sources (by sha256).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugin_differences: Vec<String>,
    /// With several machines: the same runs across machines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub across: Option<AcrossMachines>,
}

/// One source journal of a merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRow {
    /// Machine label.
    pub machine: String,
    /// `2/4`, or `whole`.
    pub shard: String,
    /// Start, UTC.
    pub started_utc: String,
    /// Host name, where recorded.
    pub host: Option<String>,
    /// CPU model.
    pub cpu: String,
    /// GPUs with their driver, `; `-separated (empty: none listed).
    pub gpus: String,
    /// driftbench version (and commit).
    pub driftbench: String,
}

/// Every backend's runs on each machine against the same runs on the reference machine
/// (the first label). Which figures are exact: [`driftbench_core::compact`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcrossMachines {
    /// The machine every other is compared with.
    pub reference: String,
    /// Per backend, machine, dtype and route.
    pub summary: Vec<MachineSummary>,
    /// Every run that is not bitwise identical to its reference run.
    pub differing: Vec<MachineRun>,
    /// Runs of a machine without a counterpart (or without a fingerprint) on the reference.
    pub unmatched: usize,
}

/// The runs of one backend, dtype and route on `machine` against `reference`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineSummary {
    /// Plain backend instance name.
    pub backend: String,
    /// The machine compared.
    pub machine: String,
    /// The machine compared with.
    pub reference: String,
    /// Dtype.
    pub dtype: Dtype,
    /// Route.
    pub route: Route,
    /// Runs compared.
    pub runs: usize,
    /// Of those, bitwise identical logits (same sha256): exact.
    pub identical: usize,
    /// Lowest top-1 agreement: exact.
    #[serde(with = "driftbench_core::float_serde")]
    pub top1_min: f64,
    /// Largest |a − b| over the shared top-k: a lower bound of max_abs_diff.
    #[serde(with = "driftbench_core::float_serde")]
    pub max_abs_topk: f64,
    /// Largest mean coarse-grained KL: an approximation from below.
    #[serde(with = "driftbench_core::float_serde")]
    pub kl_mean_approx_max: f64,
}

/// One run on `machine` that differs from the same run on `reference`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineRun {
    /// Plain backend instance name.
    pub backend: String,
    /// The machine compared.
    pub machine: String,
    /// The machine compared with.
    pub reference: String,
    /// Dtype.
    pub dtype: Dtype,
    /// Span.
    pub span: usize,
    /// KV layout.
    pub kv_aligned: KvMode,
    /// Seed.
    pub seed: u64,
    /// Route.
    pub route: Route,
    /// What the compact forms say.
    pub metrics: CompactMetrics,
}
