//! What a pair is run and judged with, resolved from the sweep config once per dtype: shared
//! by the runner, `driftbench run` and replay bundles.

use crate::config::SweepConfig;
use crate::noise_floor::FloorRule;
use crate::verdict::DtypeTolerance;
use crate::verdict::Envelope;
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvLayout;
use driftbench_core::kv::KvMode;

/// What a pair takes from the sweep's plan, resolved once per dtype: `sweep` and `run` both
/// build one and hand it to [`run_pair`].
#[derive(Debug, Clone, PartialEq)]
pub struct PairPlan {
    /// Block size of padded KV caches.
    pub block_size: usize,
    /// The dtype's tolerance (both envelopes).
    pub tolerance: DtypeTolerance,
    /// One unmeasured warm-up run per new shape.
    pub warmup: bool,
    /// Fixed bounds, noise floor, or both.
    pub rule: FloorRule,
    /// Measurements of each route (at least 1): the verdict judges the first, the others
    /// are timed and compared with it bitwise.
    pub repetitions: usize,
}

/// The f64 reference logits of a pair's (span, seed), or why there are none.
#[derive(Debug, Clone, Copy)]
pub enum FloorRef<'a> {
    /// The reference routes' logits (computed in f64, delivered as f32).
    Logits {
        /// What computed them, e.g. `flex f64`.
        label: &'a str,
        /// f64 prefill.
        prefill: &'a [f32],
        /// f64 decode, aligned KV cache.
        decode: &'a [f32],
    },
    /// Not measured, and why.
    Missing(&'a str),
}

impl PairPlan {
    /// The plan of `cfg`'s pairs in `dtype`.
    pub fn of(cfg: &SweepConfig, dtype: Dtype) -> PairPlan {
        PairPlan {
            block_size: cfg.block_size,
            tolerance: cfg.tolerance(dtype),
            warmup: cfg.warmup,
            rule: cfg.reference.rule,
            repetitions: cfg.repetitions,
        }
    }

    /// The decode route's KV layout for `kv`.
    pub fn layout(&self, kv: KvMode) -> KvLayout {
        kv.layout(self.block_size)
    }

    /// The envelope a pair of `kv` is judged by.
    pub fn envelope(&self, kv: KvMode) -> Envelope {
        if kv.is_aligned() {
            self.tolerance.equiv
        } else {
            self.tolerance.drift
        }
    }
}
