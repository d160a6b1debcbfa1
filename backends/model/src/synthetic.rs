//! Seeded synthetic weights: a tiny LLaMA that runs everywhere, lavapipe included.
//!
//! One SplitMix64 stream seeded with `weight_seed` fills the tensors in this order: embedding,
//! then per layer attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_up, w_down, then final_norm.
//! Matrices are uniform in ±1/√in (activations stay O(1) through the stack), norms are
//! 1 ± 0.1, the embedding is uniform in ±1. Output projection tied to the embedding.

use crate::{HostLayer, HostWeights, LlamaArch, ModelError};
use driftbench_core::rng::SplitMix64;
use driftbench_core::SyntheticModel;

/// Context length of synthetic models.
pub const SYNTHETIC_CONTEXT: usize = 4096;

fn fill(rng: &mut SplitMix64, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.uniform(lo, hi)).collect()
}

fn matrix(rng: &mut SplitMix64, out: usize, inp: usize) -> Vec<f32> {
    let b = 1.0 / (inp as f32).sqrt();
    fill(rng, out * inp, -b, b)
}

/// Build the weights of `m`.
pub fn build(m: &SyntheticModel) -> Result<HostWeights, ModelError> {
    if !m.hidden.is_multiple_of(m.heads.max(1)) {
        return Err(ModelError::Arch(format!(
            "hidden {} is not a multiple of heads {}",
            m.hidden, m.heads
        )));
    }
    let arch = LlamaArch {
        layers: m.layers,
        hidden: m.hidden,
        heads: m.heads,
        kv_heads: m.kv_heads,
        head_dim: m.hidden / m.heads.max(1),
        ffn: m.ffn,
        vocab: m.vocab,
        rope_base: m.rope_base,
        norm_eps: m.norm_eps,
        context: SYNTHETIC_CONTEXT,
    };
    arch.validate()?;
    let (h, q, kv, f) = (
        arch.hidden,
        arch.heads * arch.head_dim,
        arch.kv_heads * arch.head_dim,
        arch.ffn,
    );
    let mut rng = SplitMix64::new(m.weight_seed);
    let embed = fill(&mut rng, arch.vocab * h, -1.0, 1.0);
    let layers = (0..arch.layers)
        .map(|_| HostLayer {
            attn_norm: fill(&mut rng, h, 0.9, 1.1),
            wq: matrix(&mut rng, q, h),
            wk: matrix(&mut rng, kv, h),
            wv: matrix(&mut rng, kv, h),
            wo: matrix(&mut rng, h, q),
            ffn_norm: fill(&mut rng, h, 0.9, 1.1),
            w_gate: matrix(&mut rng, f, h),
            w_up: matrix(&mut rng, f, h),
            w_down: matrix(&mut rng, h, f),
        })
        .collect();
    let final_norm = fill(&mut rng, h, 0.9, 1.1);
    let description = format!(
        "synthetic llama: {} layers, hidden {}, {} heads / {} kv, ffn {}, vocab {}, {} params, weight_seed {}",
        arch.layers, arch.hidden, arch.heads, arch.kv_heads, arch.ffn, arch.vocab, arch.params(true), m.weight_seed
    );
    let w = HostWeights {
        arch,
        embed,
        layers,
        final_norm,
        output: None,
        description,
    };
    w.check_shapes()?;
    Ok(w)
}
