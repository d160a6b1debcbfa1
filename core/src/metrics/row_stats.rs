//! One row of a comparison: everything `compare` needs from a `[vocab]` pair of rows, in a
//! few lane-wise passes the compiler vectorizes.
//!
//! Sums run in [`LANES`] partial sums added in a fixed order at the end, so a row gives the
//! same bits on every instruction set and thread count.

use super::Logit;
use crate::lane_exp::exp;

/// Lanes per step: a full AVX-512 register of f64; narrower sets split it.
const LANES: usize = 8;

/// The per-row facts that `compare` folds into [`super::Metrics`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowStats {
    pub nonfinite_a: u64,
    pub nonfinite_b: u64,
    /// Largest |a − b| of the row, ignoring NaN diffs (see `nan`).
    pub max: f64,
    /// Some |a − b| of the row is NaN.
    pub nan: bool,
    pub sum: f64,
    pub sq_diff: f64,
    pub sq_ref: f64,
    /// First index of the largest non-NaN value (0 when there is none above −inf).
    pub arg_a: usize,
    pub arg_b: usize,
    /// KL(softmax(a) ‖ softmax(b)); NaN when the row holds a non-finite value.
    pub kl: f64,
}

impl RowStats {
    /// No NaN or Inf on either side of the row.
    pub fn finite(&self) -> bool {
        self.nonfinite_a == 0 && self.nonfinite_b == 0
    }
}

fn add_lanes(l: [f64; LANES]) -> f64 {
    ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
}

fn max_lanes(l: [f64; LANES]) -> f64 {
    l.iter()
        .fold(f64::NEG_INFINITY, |m, &v| if v > m { v } else { m })
}

/// First index of the largest non-NaN value, scanning as a strict `>` from −inf would.
/// (`max` is one of the row's values widened, so the widened comparison is exact.)
fn argmax<T: Logit>(row: &[T], max: f64) -> usize {
    if max == f64::NEG_INFINITY {
        return 0;
    }
    row.iter().position(|&v| v.wide() == max).unwrap_or(0)
}

/// Statistics of one pair of equal-length rows (`a` is the reference side), compiled for
/// the widest vector unit this CPU has. The lane code has no FMA and a fixed order, so
/// every unit gives the same bits.
pub(crate) fn row_stats<A: Logit, B: Logit>(a: &[A], b: &[B]) -> RowStats {
    pulp::Arch::new().dispatch(RowJob { a, b })
}

/// [`row_stats_body`] as a job that pulp runs under the detected target features.
struct RowJob<'a, A, B> {
    a: &'a [A],
    b: &'a [B],
}

impl<A: Logit, B: Logit> pulp::WithSimd for RowJob<'_, A, B> {
    type Output = RowStats;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> RowStats {
        row_stats_body(self.a, self.b)
    }
}

#[inline(always)]
fn row_stats_body<A: Logit, B: Logit>(a: &[A], b: &[B]) -> RowStats {
    debug_assert_eq!(a.len(), b.len());
    let mut nf_a = [0u32; LANES];
    let mut nf_b = [0u32; LANES];
    let mut max_a = [f64::NEG_INFINITY; LANES];
    let mut max_b = [f64::NEG_INFINITY; LANES];
    let mut max_d = [0f64; LANES];
    let mut sum = [0f64; LANES];
    let mut sq_diff = [0f64; LANES];
    let mut sq_ref = [0f64; LANES];
    // The tail goes through the same lane code, padded with zeros on both sides: they add
    // nothing to the sums and diffs, and `live` keeps them out of the counts and maxima.
    let split = a.len() / LANES * LANES;
    let mut step = |ca: &[A], cb: &[B], live: usize| {
        for l in 0..LANES {
            let (xn, yn) = (ca[l], cb[l]);
            let on = l < live;
            nf_a[l] += u32::from(on & xn.nonfinite());
            nf_b[l] += u32::from(on & yn.nonfinite());
            let (x, y) = (xn.wide(), yn.wide());
            let d = (x - y).abs();
            if on && x > max_a[l] {
                max_a[l] = x;
            }
            if on && y > max_b[l] {
                max_b[l] = y;
            }
            if d > max_d[l] {
                max_d[l] = d;
            }
            sum[l] += d;
            sq_diff[l] += d * d;
            sq_ref[l] += x * x;
        }
    };
    for (ca, cb) in a[..split]
        .chunks_exact(LANES)
        .zip(b[..split].chunks_exact(LANES))
    {
        step(ca, cb, LANES);
    }
    if split < a.len() {
        let (mut ta, mut tb) = ([A::ZERO; LANES], [B::ZERO; LANES]);
        let live = a.len() - split;
        ta[..live].copy_from_slice(&a[split..]);
        tb[..live].copy_from_slice(&b[split..]);
        step(&ta, &tb, live);
    }
    let (ma, mb) = (max_lanes(max_a), max_lanes(max_b));
    let (nf_a, nf_b) = (
        nf_a.iter().map(|&n| u64::from(n)).sum::<u64>(),
        nf_b.iter().map(|&n| u64::from(n)).sum::<u64>(),
    );
    let sum = add_lanes(sum);
    RowStats {
        nonfinite_a: nf_a,
        nonfinite_b: nf_b,
        max: max_lanes(max_d).max(0.0),
        // Every diff is ≥ 0 or NaN, so the sum is NaN exactly when some diff is.
        nan: sum.is_nan(),
        sum,
        sq_diff: add_lanes(sq_diff),
        sq_ref: add_lanes(sq_ref),
        arg_a: argmax(a, ma),
        arg_b: argmax(b, mb),
        kl: if nf_a + nf_b == 0 {
            kl(a, b, ma, mb)
        } else {
            f64::NAN
        },
    }
}

/// Σ exp(row − max) over lanes.
#[inline(always)]
fn sum_exp<T: Logit>(row: &[T], max: f64) -> f64 {
    let mut acc = [0f64; LANES];
    let split = row.len() / LANES * LANES;
    for c in row[..split].chunks_exact(LANES) {
        for l in 0..LANES {
            acc[l] += exp(c[l].wide() - max);
        }
    }
    for (l, &v) in row[split..].iter().enumerate() {
        acc[l] += exp(v.wide() - max);
    }
    add_lanes(acc)
}

/// KL(softmax(a) ‖ softmax(b)) of an all-finite row, in f64:
/// Σ p_i (a_i − b_i) − (lse(a) − lse(b)), with p = softmax(a), the difference of the two
/// log-sum-exps taken as (max_a − max_b) + ln(S_a / S_b) so the maxima cancel exactly.
/// Rounding below zero is clamped to 0.
#[inline(always)]
fn kl<A: Logit, B: Logit>(a: &[A], b: &[B], max_a: f64, max_b: f64) -> f64 {
    let s_b = sum_exp(b, max_b);
    let mut s_a = [0f64; LANES];
    let mut dot = [0f64; LANES];
    let split = a.len() / LANES * LANES;
    for (ca, cb) in a[..split]
        .chunks_exact(LANES)
        .zip(b[..split].chunks_exact(LANES))
    {
        for l in 0..LANES {
            let x = ca[l].wide();
            let e = exp(x - max_a);
            s_a[l] += e;
            dot[l] += e * (x - cb[l].wide());
        }
    }
    for (l, (&x, &y)) in a[split..].iter().zip(&b[split..]).enumerate() {
        let x = x.wide();
        let e = exp(x - max_a);
        s_a[l] += e;
        dot[l] += e * (x - y.wide());
    }
    let (s_a, dot) = (add_lanes(s_a), add_lanes(dot));
    let kl = dot / s_a - ((max_a - max_b) + (s_a / s_b).ln());
    kl.max(0.0)
}

#[cfg(test)]
mod tests {
    use super::{row_stats, row_stats_body};

    /// The dispatched kernel (AVX-512 or AVX2 where present) and the baseline build of the
    /// same lane code give identical bits, tails of every length included.
    #[test]
    fn every_vector_unit_gives_the_same_bits() {
        let mut s = 11u64;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as f32 / (1u64 << 31) as f32
        };
        for len in [1, 7, 8, 9, 63, 1000, 4099] {
            let a: Vec<f32> = (0..len).map(|_| next() * 30.0 - 15.0).collect();
            let b: Vec<f32> = a.iter().map(|x| x + (next() - 0.5) * 0.3).collect();
            let (fast, base) = (row_stats(&a, &b), row_stats_body(&a, &b));
            let bits =
                |r: &super::RowStats| [r.max, r.sum, r.sq_diff, r.sq_ref, r.kl].map(f64::to_bits);
            assert_eq!(bits(&fast), bits(&base), "len {len}");
            assert_eq!((fast.arg_a, fast.arg_b), (base.arg_a, base.arg_b));
            // One token: both softmaxes are 1, no divergence.
            assert!(
                fast.kl.is_finite() && (fast.kl > 0.0) == (len > 1),
                "len {len}"
            );
        }
    }
}
