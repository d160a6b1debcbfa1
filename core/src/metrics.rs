//! Prefill/decode comparison metrics, NaN-safe.
//! (Helper-owned: implementation of `compare` and tests.)

use serde::{Deserialize, Serialize};

/// Comparison of one pair's logits, widened to f32, over all positions and vocab entries.
///
/// Non-finite values are data: any NaN/Inf on either side is counted, and the distance
/// metrics become non-finite too, so they can never hide inside a max.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Largest |prefill − decode|.
    #[serde(with = "crate::float_serde")]
    pub max_abs_diff: f64,
    /// 99th percentile of |prefill − decode|.
    #[serde(with = "crate::float_serde")]
    pub p99_abs_diff: f64,
    /// Mean |prefill − decode|.
    #[serde(with = "crate::float_serde")]
    pub mean_abs_diff: f64,
    /// Fraction of positions whose argmax agrees (a row with a non-finite value never agrees).
    #[serde(with = "crate::float_serde")]
    pub top1_agreement: f64,
    /// Number of NaN/Inf values in the prefill logits.
    pub nonfinite_prefill: u64,
    /// Number of NaN/Inf values in the decode logits.
    pub nonfinite_decode: u64,
    /// Rows compared (positions).
    pub positions: usize,
    /// Row width.
    pub vocab: usize,
}

impl Metrics {
    /// True when neither side holds a NaN or Inf.
    pub fn all_finite(&self) -> bool {
        self.nonfinite_prefill == 0 && self.nonfinite_decode == 0
    }
}

/// Compare two row-major logits matrices `[positions, vocab]`: `prefill` against `decode`.
///
/// All accumulation is in f64; each |a − b| is computed in f64 from the widened inputs.
///
/// # NaN and Inf rules
///
/// Non-finite values never disappear:
/// - `nonfinite_prefill` / `nonfinite_decode` count the NaN and ±Inf values of each side.
/// - The diff of one element is `|a − b|`: NaN if either side is NaN, NaN for `inf − inf`
///   of the same sign, `+inf` for an infinity against a finite value (or against the
///   opposite infinity).
/// - `max_abs_diff` is NaN if any diff is NaN, else `+inf` if any diff is infinite, else the
///   largest diff. `mean_abs_diff` follows the same rule (NaN beats `+inf`).
/// - `p99_abs_diff` is the nearest-rank 99th percentile of all diffs (the element of rank
///   `ceil(0.99 × n)` in ascending order, 1-based), ordered with [`f32::total_cmp`], so
///   NaN ranks above `+inf`: it is NaN as soon as more than 1 % of the diffs are NaN. The
///   diffs are kept as f32 for this selection (half the memory); the result is clamped to
///   `max_abs_diff` so rounding to f32 can never push it above the max.
/// - `top1_agreement` is the fraction of rows whose argmax is the same on both sides; ties
///   go to the lowest index, and a row holding any non-finite value on either side counts
///   as disagreeing.
///
/// Empty inputs (zero positions) give zero diffs and a `top1_agreement` of 1.0 (vacuous).
///
/// Cost: one pass over both inputs plus one `select_nth_unstable` over the diffs (no sort).
///
/// # Panics
///
/// If `vocab == 0`, if the two slices differ in length, or if the length is not a multiple
/// of `vocab`. These are programming errors: the host checks sizes before comparing.
pub fn compare(prefill: &[f32], decode: &[f32], vocab: usize) -> Metrics {
    assert!(vocab >= 1, "metrics::compare: vocab must be >= 1 (got 0)");
    assert_eq!(
        prefill.len(),
        decode.len(),
        "metrics::compare: prefill has {} logits but decode has {}",
        prefill.len(),
        decode.len()
    );
    assert!(
        prefill.len().is_multiple_of(vocab),
        "metrics::compare: {} logits is not a multiple of vocab {}",
        prefill.len(),
        vocab
    );
    let n = prefill.len();
    let positions = n / vocab;

    let mut diffs = vec![0f32; n];
    let mut nonfinite_prefill = 0u64;
    let mut nonfinite_decode = 0u64;
    let mut max = 0f64;
    let mut any_nan = false;
    let mut sum = 0f64;
    let mut agree = 0usize;

    for ((pa, pb), out) in prefill
        .chunks_exact(vocab)
        .zip(decode.chunks_exact(vocab))
        .zip(diffs.chunks_exact_mut(vocab))
    {
        let mut row_nonfinite = 0u64;
        let (mut arg_a, mut best_a) = (0usize, f32::NEG_INFINITY);
        let (mut arg_b, mut best_b) = (0usize, f32::NEG_INFINITY);
        let mut row_sum = 0f64;
        for (j, ((&a, &b), o)) in pa.iter().zip(pb).zip(out.iter_mut()).enumerate() {
            let nf_a = !a.is_finite() as u64;
            let nf_b = !b.is_finite() as u64;
            nonfinite_prefill += nf_a;
            nonfinite_decode += nf_b;
            row_nonfinite += nf_a + nf_b;
            // Strict `>`: ties keep the lowest index. Only meaningful on all-finite rows.
            if a > best_a {
                best_a = a;
                arg_a = j;
            }
            if b > best_b {
                best_b = b;
                arg_b = j;
            }
            let d = (f64::from(a) - f64::from(b)).abs();
            // `>` is false for NaN, so NaN is tracked separately and never lost.
            if d > max {
                max = d;
            }
            any_nan |= d.is_nan();
            row_sum += d;
            // `abs` after the cast keeps the sign bit clear (NaN included), so
            // `total_cmp` orders NaN above +inf.
            *o = (d as f32).abs();
        }
        sum += row_sum;
        if row_nonfinite == 0 && arg_a == arg_b {
            agree += 1;
        }
    }

    let max_abs_diff = if any_nan { f64::NAN } else { max };
    let mean_abs_diff = if n == 0 {
        0.0
    } else if any_nan {
        f64::NAN
    } else {
        // All diffs are >= 0, so the sum is +inf iff some diff is +inf.
        sum / n as f64
    };
    let p99_abs_diff = if n == 0 {
        0.0
    } else {
        // Nearest rank: ceil(0.99 n) = n - floor(n / 100), exact in integers.
        let k = n - n / 100 - 1;
        let (_, nth, _) = diffs.select_nth_unstable_by(k, |x, y| x.total_cmp(y));
        let p = f64::from(*nth);
        // Rounding a diff to f32 may land just above the f64 max (or overflow to inf);
        // the percentile can never exceed the max.
        if p > max_abs_diff {
            max_abs_diff
        } else {
            p
        }
    };
    let top1_agreement = if positions == 0 {
        1.0
    } else {
        agree as f64 / positions as f64
    };

    Metrics {
        max_abs_diff,
        p99_abs_diff,
        mean_abs_diff,
        top1_agreement,
        nonfinite_prefill,
        nonfinite_decode,
        positions,
        vocab,
    }
}
