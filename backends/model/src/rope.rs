//! Rotary position embedding, adjacent-pair layout.
//!
//! GGUF llama files store the Q and K projections with rows permuted (by llama.cpp's
//! converter) so that RoPE rotates adjacent pairs `(x[2i], x[2i+1])` by the angle
//! `pos · base^(−2i/head_dim)`. This is that layout; the model test against an independent
//! implementation (transformers, with its own half-split layout and unpermuted weights)
//! proves the pairing.

use burn_tensor::{backend::Backend, DType, Tensor, TensorData};

/// cos and sin tables for positions `start..start+len`, shape `[len, head_dim/2]`, in `dtype`.
pub fn tables<B: Backend>(
    start: usize,
    len: usize,
    head_dim: usize,
    base: f64,
    dtype: DType,
    device: &B::Device,
) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let half = head_dim / 2;
    let mut cos = Vec::with_capacity(len * half);
    let mut sin = Vec::with_capacity(len * half);
    for p in start..start + len {
        for i in 0..half {
            let inv_freq = base.powf(-(2.0 * i as f64) / head_dim as f64);
            // Angles in f32 as the reference computes them, then cos/sin.
            let angle = (p as f32) * (inv_freq as f32);
            cos.push(angle.cos());
            sin.push(angle.sin());
        }
    }
    let mk = |v: Vec<f32>| Tensor::from_data(TensorData::new(v, [len, half]), (device, dtype));
    (mk(cos), mk(sin))
}

/// Rotate `x` of shape `[n, len, head_dim]` with tables of shape `[len, head_dim/2]`.
pub fn apply<B: Backend>(x: Tensor<B, 3>, cos: &Tensor<B, 2>, sin: &Tensor<B, 2>) -> Tensor<B, 3> {
    let [n, len, hd] = x.dims();
    let half = hd / 2;
    let pairs = x.reshape([n, len, half, 2]);
    let x0 = pairs.clone().narrow(3, 0, 1).reshape([n, len, half]);
    let x1 = pairs.narrow(3, 1, 1).reshape([n, len, half]);
    let c = cos.clone().unsqueeze::<3>();
    let s = sin.clone().unsqueeze::<3>();
    let o0 = x0.clone() * c.clone() - x1.clone() * s.clone();
    let o1 = x0 * s + x1 * c;
    Tensor::cat(
        vec![o0.reshape([n, len, half, 1]), o1.reshape([n, len, half, 1])],
        3,
    )
    .reshape([n, len, hd])
}
