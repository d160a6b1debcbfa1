//! The report's seed spread: how much one cell's metrics and verdicts vary with the seed.

use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_sweep::verdict::Verdict;
use serde::{Deserialize, Serialize};

/// Minimum, mean and maximum over seeds; each propagates NaN.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Smallest.
    #[serde(with = "driftbench_core::float_serde")]
    pub min: f64,
    /// Mean.
    #[serde(with = "driftbench_core::float_serde")]
    pub mean: f64,
    /// Largest.
    #[serde(with = "driftbench_core::float_serde")]
    pub max: f64,
}

/// One seed's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedVerdict {
    /// Seed.
    pub seed: u64,
    /// Its pair's verdict.
    pub verdict: Verdict,
}

/// One (span, dtype, kv_aligned) of one backend over its seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedSpreadRow {
    /// Prompt length.
    pub span: usize,
    /// Dtype.
    pub dtype: Dtype,
    /// 1 aligned, 0 block-padded KV cache.
    pub kv_aligned: KvMode,
    /// Every seed's verdict, by seed.
    pub verdicts: Vec<SeedVerdict>,
    /// max_abs_diff over the seeds with metrics; `None` when none has.
    pub max_abs: Option<Spread>,
    /// p99_abs_diff over the same seeds.
    pub p99: Option<Spread>,
    /// kl_mean over the seeds that recorded it.
    pub kl_mean: Option<Spread>,
    /// top1_agreement over the seeds with metrics.
    pub top1: Option<Spread>,
    /// Seeds with metrics.
    pub samples: usize,
}

impl SeedSpreadRow {
    /// True when the seeds do not all get the same verdict.
    pub fn disagrees(&self) -> bool {
        self.verdicts
            .windows(2)
            .any(|w| w[0].verdict != w[1].verdict)
    }
}
