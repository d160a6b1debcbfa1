//! What a conformance run checks: the model, the dtypes with their tolerances, the prompt and
//! the padded KV layout's block size.

use driftbench_core::{Dtype, ModelSpec, SyntheticModel};

/// How far a dtype's decode route may drift from its prefill route: the bounds the
/// agreement check holds [`driftbench_core::metrics::compare_logits`]'s figures to.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Tolerance {
    /// Largest |prefill − decode| allowed over every logit (`max_abs_diff`).
    pub max_abs: f64,
    /// Smallest fraction of positions whose top-1 token must agree (`top1_agreement`), in
    /// `0..=1`.
    pub min_top1: f64,
}

impl Tolerance {
    /// A tolerance of `max_abs` and `min_top1`.
    pub fn new(max_abs: f64, min_top1: f64) -> Tolerance {
        Tolerance { max_abs, min_top1 }
    }
}

/// The settings of a conformance run. Start from [`Kit::synthetic`] (the kit's small
/// synthetic model) or [`Kit::with_model`] (yours, e.g. a GGUF file), then list the dtypes
/// to check with [`Kit::dtype`]. Fields may be set directly; new ones will come with
/// defaults, so a kit built this way keeps compiling.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Kit {
    /// The model every session loads.
    pub model: ModelSpec,
    /// The dtypes to open sessions in, each with the tolerance of its prefill/decode
    /// agreement. A dtype the backend answers `Unavailable` for is reported as skipped.
    pub dtypes: Vec<(Dtype, Tolerance)>,
    /// Prompt length, cut to the session's `max_span`.
    pub span: usize,
    /// Seed of the prompt ([`driftbench_core::rng::prompt_tokens`]).
    pub prompt_seed: u64,
    /// Block size of the padded KV layout (`kv_aligned = 0`); the default leaves the
    /// default prompt's cache with a masked tail.
    pub block: usize,
    /// Fail the agreement and unwritten-logit checks when no route ran at all (every dtype
    /// or route skipped). On by default, so a conformance test cannot pass because nothing
    /// ran; turn it off for a backend whose hardware may be absent where its tests run.
    pub require_runs: bool,
}

impl Kit {
    /// The kit on [`Kit::small_model`], no dtypes listed yet.
    pub fn synthetic() -> Kit {
        Kit::with_model(ModelSpec::Synthetic(Kit::small_model()))
    }

    /// The kit on `model`, no dtypes listed yet.
    pub fn with_model(model: ModelSpec) -> Kit {
        Kit {
            model,
            dtypes: Vec::new(),
            // 11 tokens through blocks of 8: the padded cache holds 16 slots, 5 of them
            // masked at the last step, so a mask that leaks shows.
            span: 11,
            prompt_seed: 0,
            block: 8,
            require_runs: true,
        }
    }

    /// The kit's synthetic model: two layers, grouped-query attention (4 heads over 2 KV
    /// heads of width 8), a vocabulary of 97 (not a power of two, so a stride that assumes
    /// one shows). Small enough for any backend's tests, in debug builds too.
    pub fn small_model() -> SyntheticModel {
        SyntheticModel {
            layers: 2,
            hidden: 32,
            heads: 4,
            kv_heads: 2,
            ffn: 64,
            vocab: 97,
            rope_base: 10000.0,
            norm_eps: 1e-5,
            weight_seed: 7,
        }
    }

    /// This kit with `dtype` checked at `tolerance` (listed again: the new tolerance).
    pub fn dtype(mut self, dtype: Dtype, tolerance: Tolerance) -> Kit {
        self.dtypes.retain(|(d, _)| *d != dtype);
        self.dtypes.push((dtype, tolerance));
        self
    }
}
