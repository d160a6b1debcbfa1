//! The ops between trace points in plain f64, from the f32 host weights: slow and obvious,
//! to say what each point must hold independently of the backend's kernels.

use driftbench_model::{HostLayer, LlamaArch};

/// `w · x` for a row-major `[rows, x.len()]` matrix.
pub fn matvec(w: &[f32], x: &[f64]) -> Vec<f64> {
    w.chunks_exact(x.len())
        .map(|row| row.iter().zip(x).map(|(&a, b)| f64::from(a) * b).sum())
        .collect()
}

/// RMSNorm of `x` times the weight `w`.
pub fn rms_norm(x: &[f64], w: &[f32], eps: f64) -> Vec<f64> {
    let ms = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
    let r = 1.0 / (ms + eps).sqrt();
    x.iter()
        .zip(w)
        .map(|(v, &g)| v * r * f64::from(g))
        .collect()
}

/// `a + b`.
pub fn add(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// The MLP block on residual state `x`: `x + down(silu(gate·n) · up·n)`, `n` its norm.
pub fn mlp_block(l: &HostLayer, eps: f64, x: &[f64]) -> Vec<f64> {
    let n = rms_norm(x, &l.ffn_norm, eps);
    let (gate, up) = (matvec(&l.w_gate, &n), matvec(&l.w_up, &n));
    let act: Vec<f64> = gate
        .iter()
        .zip(&up)
        .map(|(g, u)| g / (1.0 + (-g).exp()) * u)
        .collect();
    add(x, &matvec(&l.w_down, &act))
}

/// The attention block on the first position's residual state `x`: with one token in the
/// cache every head's softmax is 1, so each head's context is its kv head's value (and RoPE
/// at position 0 is the identity): `x + wo · values`.
pub fn attn_block_first(a: &LlamaArch, l: &HostLayer, x: &[f64]) -> Vec<f64> {
    let v = matvec(&l.wv, &rms_norm(x, &l.attn_norm, a.norm_eps));
    let hd = a.head_dim;
    let ctx: Vec<f64> = (0..a.heads)
        .flat_map(|h| {
            let kv = h / a.group();
            v[kv * hd..(kv + 1) * hd].to_vec()
        })
        .collect();
    add(x, &matvec(&l.wo, &ctx))
}

/// `got` (a trace row) is `want` to within `rel` of `want`'s largest magnitude.
pub fn assert_close(got: &[f32], want: &[f64], rel: f64, what: &str) {
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
    let err = got
        .iter()
        .zip(want)
        .map(|(&g, w)| (f64::from(g) - w).abs())
        .fold(0f64, f64::max);
    assert!(
        err <= rel * scale,
        "{what}: max |trace − reference| {err:e} > {rel:e} × {scale:e}"
    );
}
