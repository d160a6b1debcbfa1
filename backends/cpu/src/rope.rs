//! Rotary position embedding, adjacent pairs (the layout GGUF llama files expect; see
//! `driftbench_model::rope`, whose tables and op order this follows).

use crate::elem::Elem;
use driftbench_core::Dtype;

/// cos and sin of positions `0..len`, `[len, head_dim / 2]` each, in the compute dtype.
pub struct Tables<T> {
    cos: Vec<T>,
    sin: Vec<T>,
    half: usize,
    dtype: Dtype,
}

impl<T: Elem> Tables<T> {
    /// Tables for `len` positions.
    pub fn new(len: usize, head_dim: usize, base: f64, dtype: Dtype) -> Self {
        let half = head_dim / 2;
        let mut cos = Vec::with_capacity(len * half);
        let mut sin = Vec::with_capacity(len * half);
        for p in 0..len {
            for i in 0..half {
                let inv_freq = base.powf(-(2.0 * i as f64) / head_dim as f64);
                // The angle in f32, as the reference computes it.
                let angle = (p as f32) * (inv_freq as f32);
                cos.push(T::from_f64(angle.cos() as f64));
                sin.push(T::from_f64(angle.sin() as f64));
            }
        }
        T::round_to(dtype, &mut cos);
        T::round_to(dtype, &mut sin);
        Tables {
            cos,
            sin,
            half,
            dtype,
        }
    }

    /// Rotate every head of `x` (a whole number of `head_dim`-wide heads, one position)
    /// at position `pos`, each op rounded to the dtype as a tensor op in that dtype would
    /// be: `x0·c − x1·s` and `x0·s + x1·c`, products and results rounded.
    pub fn apply(&self, x: &mut [T], pos: usize, scratch: &mut Vec<T>) {
        let half = self.half;
        let c = &self.cos[pos * half..(pos + 1) * half];
        let s = &self.sin[pos * half..(pos + 1) * half];
        let n = x.len() / 2;
        scratch.resize(4 * n, T::ZERO);
        let (x0c, rest) = scratch.split_at_mut(n);
        let (x1s, rest) = rest.split_at_mut(n);
        let (x0s, x1c) = rest.split_at_mut(n);
        for (k, pair) in x.chunks_exact(2).enumerate() {
            let i = k % half;
            x0c[k] = pair[0] * c[i];
            x1s[k] = pair[1] * s[i];
            x0s[k] = pair[0] * s[i];
            x1c[k] = pair[1] * c[i];
        }
        T::round_to(self.dtype, scratch);
        let (x0c, rest) = scratch.split_at(n);
        let (x1s, rest) = rest.split_at(n);
        let (x0s, x1c) = rest.split_at(n);
        for (k, pair) in x.chunks_exact_mut(2).enumerate() {
            pair[0] = x0c[k] - x1s[k];
            pair[1] = x0s[k] + x1c[k];
        }
        T::round_to(self.dtype, x);
    }
}
