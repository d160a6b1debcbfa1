//! The two routes in f64, written for reading: no batching tricks, no threads, one loop per
//! formula. This is the place a new backend replaces with calls into its own stack.
//!
//! Model (the LLaMA-style decoder of driftbench, as in `driftbench_model::Llama`): embedding
//! lookup; per layer `x += Wo·attn(rope(Wq·n(x)), rope(Wk·n(x)), Wv·n(x))` and
//! `x += Wdown·(silu(Wgate·n(x)) ⊙ Wup·n(x))` with `n` the RMSNorm; then the final RMSNorm
//! and the output projection. RoPE rotates adjacent pairs by `pos · base^(−2i/head_dim)`,
//! the angle formed in f32 as the model defines it (and transformers computes it), its
//! cosine and sine in f64. Grouped-query attention: query head `h` reads kv head
//! `h / (heads / kv_heads)`.

use crate::weights::{Layer, Weights};
use driftbench_core::KvLayout;

/// `y = W·x` for a `[out, in]` row-major `W`.
fn linear(w: &[f64], x: &[f64]) -> Vec<f64> {
    w.chunks_exact(x.len())
        .map(|row| row.iter().zip(x).map(|(a, b)| a * b).sum())
        .collect()
}

fn rms_norm(x: &[f64], weight: &[f64], eps: f64) -> Vec<f64> {
    let ms = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
    let r = 1.0 / (ms + eps).sqrt();
    x.iter().zip(weight).map(|(v, g)| v * r * g).collect()
}

/// Rotate every head of `x` in place for position `pos`.
fn rope(x: &mut [f64], head_dim: usize, pos: usize, base: f64) {
    for head in x.chunks_exact_mut(head_dim) {
        for (i, pair) in head.chunks_exact_mut(2).enumerate() {
            let inv_freq = base.powf(-(2.0 * i as f64) / head_dim as f64);
            let angle = f64::from(pos as f32 * inv_freq as f32);
            let (s, c) = angle.sin_cos();
            let (x0, x1) = (pair[0], pair[1]);
            pair[0] = x0 * c - x1 * s;
            pair[1] = x0 * s + x1 * c;
        }
    }
}

/// Keys and values of one layer for every slot of a route's cache, `[kv_heads][slots]`.
struct LayerCache {
    keys: Vec<Vec<Vec<f64>>>,
    values: Vec<Vec<Vec<f64>>>,
}

impl LayerCache {
    fn new(kv_heads: usize, slots: usize, head_dim: usize) -> Self {
        let empty = vec![vec![vec![0.0; head_dim]; slots]; kv_heads];
        LayerCache {
            keys: empty.clone(),
            values: empty,
        }
    }
}

/// One position through one layer: `x` is its residual stream, its keys and values go to
/// slot `pos`, and it attends over slots `0..attended` of which only `0..=pos` hold keys
/// (the others, the padded layout's tail, are masked: weight exactly 0).
fn layer_step(
    w: &Weights,
    l: &Layer,
    cache: &mut LayerCache,
    x: &mut [f64],
    pos: usize,
    attended: usize,
) {
    let hd = w.head_dim;
    let group = w.heads / w.kv_heads;
    let n = rms_norm(x, &l.attn_norm, w.norm_eps);
    let mut q = linear(&l.wq, &n);
    let mut k = linear(&l.wk, &n);
    let v = linear(&l.wv, &n);
    rope(&mut q, hd, pos, w.rope_base);
    rope(&mut k, hd, pos, w.rope_base);
    for kv in 0..w.kv_heads {
        cache.keys[kv][pos].copy_from_slice(&k[kv * hd..(kv + 1) * hd]);
        cache.values[kv][pos].copy_from_slice(&v[kv * hd..(kv + 1) * hd]);
    }
    let scale = 1.0 / (hd as f64).sqrt();
    let mut ctx = vec![0.0; w.heads * hd];
    for h in 0..w.heads {
        let kv = h / group;
        let qh = &q[h * hd..(h + 1) * hd];
        let scores: Vec<f64> = (0..attended)
            .map(|j| {
                if j <= pos {
                    qh.iter()
                        .zip(&cache.keys[kv][j])
                        .map(|(a, b)| a * b)
                        .sum::<f64>()
                        * scale
                } else {
                    f64::NEG_INFINITY
                }
            })
            .collect();
        let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
        let sum: f64 = e.iter().sum();
        let out = &mut ctx[h * hd..(h + 1) * hd];
        for (j, ej) in e.iter().enumerate() {
            for (o, val) in out.iter_mut().zip(&cache.values[kv][j]) {
                *o += ej / sum * val;
            }
        }
    }
    for (xi, d) in x.iter_mut().zip(linear(&l.wo, &ctx)) {
        *xi += d;
    }
    let n = rms_norm(x, &l.ffn_norm, w.norm_eps);
    let gate = linear(&l.w_gate, &n);
    let up = linear(&l.w_up, &n);
    let act: Vec<f64> = gate
        .iter()
        .zip(&up)
        .map(|(g, u)| g / (1.0 + (-g).exp()) * u)
        .collect();
    for (xi, d) in x.iter_mut().zip(linear(&l.w_down, &act)) {
        *xi += d;
    }
}

/// The logits row of a final residual stream.
fn logits(w: &Weights, x: &[f64]) -> Vec<f64> {
    linear(w.lm_head(), &rms_norm(x, &w.final_norm, w.norm_eps))
}

fn embed(w: &Weights, token: u32) -> Vec<f64> {
    let t = token as usize;
    w.embed[t * w.hidden..(t + 1) * w.hidden].to_vec()
}

/// Prefill route: every position layer by layer (the whole prompt passes layer 0 before
/// any of it reaches layer 1), causal attention. Logits `[tokens.len(), vocab]`.
pub fn prefill(w: &Weights, tokens: &[u32]) -> Vec<f64> {
    let t = tokens.len();
    let mut xs: Vec<Vec<f64>> = tokens.iter().map(|&tok| embed(w, tok)).collect();
    for l in &w.layers {
        let mut cache = LayerCache::new(w.kv_heads, t, w.head_dim);
        for (pos, x) in xs.iter_mut().enumerate() {
            layer_step(w, l, &mut cache, x, pos, pos + 1);
        }
    }
    xs.iter().flat_map(|x| logits(w, x)).collect()
}

/// Decode route: one token per step through a KV cache of `layout` (aligned: exactly the
/// cached keys; padded: the whole capacity, the tail masked). Logits of every step.
pub fn decode(w: &Weights, tokens: &[u32], layout: KvLayout) -> Vec<f64> {
    let span = tokens.len();
    let (slots, padded) = match layout {
        KvLayout::Aligned => (span, false),
        KvLayout::Padded { block } => (span.div_ceil(block) * block, true),
    };
    let mut caches: Vec<LayerCache> = (0..w.layers.len())
        .map(|_| LayerCache::new(w.kv_heads, slots, w.head_dim))
        .collect();
    let mut out = Vec::with_capacity(span * w.vocab);
    for (pos, &tok) in tokens.iter().enumerate() {
        let mut x = embed(w, tok);
        let attended = if padded { slots } else { pos + 1 };
        for (l, cache) in w.layers.iter().zip(&mut caches) {
            layer_step(w, l, cache, &mut x, pos, attended);
        }
        out.extend(logits(w, &x));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftbench_core::{ModelSpec, SyntheticModel};

    fn model() -> Weights {
        Weights::load(&ModelSpec::Synthetic(SyntheticModel {
            layers: 2,
            hidden: 32,
            heads: 4,
            kv_heads: 2,
            ffn: 48,
            vocab: 50,
            rope_base: 10000.0,
            norm_eps: 1e-5,
            weight_seed: 1,
        }))
        .unwrap()
    }

    /// In f64 both routes compute the same function: they agree to rounding, in both cache
    /// layouts. A new backend's routes should pass the same check in f64.
    #[test]
    fn routes_and_layouts_agree_in_f64() {
        let w = model();
        let tokens = [3, 17, 42, 0, 9, 9, 31];
        let p = prefill(&w, &tokens);
        assert_eq!(p.len(), tokens.len() * w.vocab);
        for layout in [KvLayout::Aligned, KvLayout::Padded { block: 4 }] {
            let d = decode(&w, &tokens, layout);
            let max = p
                .iter()
                .zip(&d)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(max < 1e-12, "{layout:?}: {max}");
        }
        assert!(p.iter().all(|v| v.is_finite()));
        // A different prompt gives different logits (the model is not constant).
        let q = prefill(&w, &[4, 17, 42, 0, 9, 9, 31]);
        assert!(p.iter().zip(&q).any(|(a, b)| a != b));
    }
}
