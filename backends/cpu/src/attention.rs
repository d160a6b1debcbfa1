//! Grouped-query attention for both routes. Heads `kv·g .. kv·g + g` read kv head `kv`
//! straight from its buffer: no expanded copy of keys or values.
//!
//! Scores are rounded to the compute dtype, scaled (rounded), softmaxed in f32 and rounded,
//! then multiplied with the values (f32 accumulation, rounded): the op order of
//! `driftbench_model::Llama`.

use crate::elem::Elem;
use crate::products::{a_b, a_bt};
use driftbench_core::Dtype;
use rayon::prelude::*;

/// Query rows per prefill attention task.
const PREFILL_BLOCK: usize = 64;

/// Shapes and numerics shared by both routes.
#[derive(Debug, Clone, Copy)]
pub struct Heads {
    /// Query heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Values per head.
    pub head_dim: usize,
    /// Compute dtype.
    pub dtype: Dtype,
}

impl Heads {
    fn group(&self) -> usize {
        self.heads / self.kv_heads
    }

    /// `1/√head_dim` as the compute dtype holds it.
    fn scale<T: Elem>(&self) -> T {
        let mut s = [T::from_f64(1.0 / (self.head_dim as f64).sqrt())];
        T::round_to(self.dtype, &mut s);
        s[0]
    }

    /// Rounded scores of one row → rounded probabilities, in place. Slots past `live` are
    /// masked (−inf before the softmax).
    fn probs<T: Elem>(&self, row: &mut [T], live: usize) {
        let scale = self.scale::<T>();
        let (kept, masked) = row.split_at_mut(live.min(row.len()));
        T::round_to(self.dtype, kept);
        kept.iter_mut().for_each(|s| *s *= scale);
        T::round_to(self.dtype, kept);
        // The masked tail's weight is exactly 0 (exp(−inf)); only the live part needs the
        // softmax.
        masked.fill(T::ZERO);
        softmax(kept);
        T::round_to(self.dtype, kept);
    }

    /// Prefill: `qkv` is `[t, (heads + 2·kv_heads)·head_dim]` (q, then k, then v, RoPE
    /// applied); writes the context `[t, heads·head_dim]` into `ctx`. Causal: row `i`
    /// attends over keys `0..=i`, so a block of rows ending at `i1` scores keys `0..i1` only
    /// (half the products of a full square). Blocks of every head run in parallel.
    pub fn prefill<T: Elem>(&self, qkv: &[T], t: usize, ctx: &mut [T]) {
        let hd = self.head_dim;
        let width = (self.heads + 2 * self.kv_heads) * hd;
        let (k_at, v_at) = (self.heads * hd, (self.heads + self.kv_heads) * hd);
        let blocks = t.div_ceil(PREFILL_BLOCK);
        let outs: Vec<Vec<T>> = (0..self.heads * blocks)
            .into_par_iter()
            .map(|task| {
                let (h, b) = (task / blocks, task % blocks);
                let (i0, i1) = (b * PREFILL_BLOCK, ((b + 1) * PREFILL_BLOCK).min(t));
                let rows = i1 - i0;
                let kv = h / self.group();
                let mut scores = vec![T::ZERO; rows * i1];
                a_bt(
                    rows,
                    i1,
                    hd,
                    &qkv[i0 * width + h * hd..],
                    width,
                    &qkv[k_at + kv * hd..],
                    width,
                    &mut scores,
                );
                for (r, row) in scores.chunks_exact_mut(i1).enumerate() {
                    self.probs(row, i0 + r + 1);
                }
                let mut out = vec![T::ZERO; rows * hd];
                a_b(
                    rows,
                    i1,
                    hd,
                    &scores,
                    &qkv[v_at + kv * hd..],
                    width,
                    &mut out,
                );
                T::round_to(self.dtype, &mut out);
                out
            })
            .collect();
        let q_width = self.heads * hd;
        for (task, out) in outs.iter().enumerate() {
            let (h, b) = (task / blocks, task % blocks);
            for (r, o) in out.chunks_exact(hd).enumerate() {
                let i = b * PREFILL_BLOCK + r;
                ctx[i * q_width + h * hd..i * q_width + (h + 1) * hd].copy_from_slice(o);
            }
        }
    }

    /// One decode step: `q` is `[heads·head_dim]`; `keys`/`values` are one layer's cache,
    /// `[kv_heads, capacity, head_dim]`; the step attends over the first `attended` slots
    /// of which the first `live` hold keys (the rest, the padded layout's tail, masked).
    #[allow(clippy::too_many_arguments)]
    pub fn decode<T: Elem>(
        &self,
        q: &[T],
        keys: &[T],
        values: &[T],
        capacity: usize,
        attended: usize,
        live: usize,
        ctx: &mut [T],
    ) {
        let hd = self.head_dim;
        let step = |(h, out): (usize, &mut [T])| {
            let kv = h / self.group();
            let base = kv * capacity * hd;
            let qh = &q[h * hd..(h + 1) * hd];
            let mut scores: Vec<T> = (0..attended)
                .map(|j| T::dot(qh, &keys[base + j * hd..base + (j + 1) * hd]))
                .collect();
            self.probs(&mut scores, live);
            let mut acc = vec![T::ZERO; hd];
            for (j, p) in scores.iter().enumerate() {
                let v = &values[base + j * hd..base + (j + 1) * hd];
                for (a, x) in acc.iter_mut().zip(v) {
                    *a += *p * *x;
                }
            }
            T::round_to(self.dtype, &mut acc);
            out.copy_from_slice(&acc);
        };
        // Short caches are cheaper on one thread than handed around.
        if attended >= 128 {
            ctx.par_chunks_mut(hd).enumerate().for_each(step);
        } else {
            ctx.chunks_mut(hd).enumerate().for_each(step);
        }
    }
}

/// Softmax in place (f32 for the 16-bit dtypes, whose values are held in f32). A NaN
/// score makes the whole row NaN, as the reference softmax does. The sum runs in 8 partial
/// sums (fixed order), as vectorized softmax kernels do.
fn softmax<T: Elem>(row: &mut [T]) {
    if let Some(&nan) = row.iter().find(|v| v.is_nan()) {
        row.fill(nan);
        return;
    }
    let max = row
        .iter()
        .copied()
        .fold(T::NEG_INF, |a, b| if b > a { b } else { a });
    row.iter_mut().for_each(|s| *s = *s - max);
    T::exp_in_place(row);
    let mut lanes = [T::ZERO; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l += v;
        }
    }
    for (l, &v) in lanes.iter_mut().zip(chunks.remainder()) {
        *l += v;
    }
    let sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
        + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    row.iter_mut().for_each(|s| *s = *s / sum);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_keeps_nan() {
        let mut r = vec![1.0f32, 2.0, f32::NEG_INFINITY];
        softmax(&mut r);
        assert!((r.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(r[2], 0.0);
        let mut n = vec![1.0f32, f32::NAN];
        softmax(&mut n);
        assert!(n.iter().all(|v| v.is_nan()));
    }
}
