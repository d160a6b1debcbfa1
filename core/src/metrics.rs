//! Prefill/decode comparison metrics, NaN-safe.

use serde::{Deserialize, Serialize};

/// Comparison of two logits matrices, widened to f32, over all positions and vocab entries.
/// The "prefill" side is the reference: in a pair it is the prefill route, in a cross-backend
/// comparison the reference backend, in a noise-floor comparison the f64 run.
///
/// Non-finite values are data: any NaN/Inf on either side is counted, and the distance
/// metrics become non-finite too, so they can never hide inside a max.
///
/// The fields after `vocab` were added in schema 1.1; journals written before them read back
/// with `None` / empty values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// Mean over positions of KL(softmax(prefill) ‖ softmax(decode)), in nats.
    #[serde(default, with = "crate::float_opt")]
    pub kl_mean: Option<f64>,
    /// 99th percentile (nearest rank) over positions of the same KL divergence.
    #[serde(default, with = "crate::float_opt")]
    pub kl_p99: Option<f64>,
    /// Largest per-position KL divergence.
    #[serde(default, with = "crate::float_opt")]
    pub kl_max: Option<f64>,
    /// Normalized mean squared error: Σ(prefill − decode)² / Σ prefill².
    #[serde(default, with = "crate::float_opt")]
    pub nmse: Option<f64>,
    /// The first position whose top-1 token differs, with the margins there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_flip: Option<Flip>,
    /// max |prefill − decode| of each position: the drift curve.
    #[serde(default, with = "crate::float_vec")]
    pub drift_curve: Vec<f32>,
}

/// The first top-1 disagreement of a comparison. A flip at a near-tie (both margins small
/// against the drift) is drift; a confident flip (a large margin on either side) is a bug.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flip {
    /// Position (0-based row).
    pub position: usize,
    /// Top-1 token on the prefill (reference) side.
    pub prefill_token: u32,
    /// Top-1 token on the decode side.
    pub decode_token: u32,
    /// prefill[prefill_token] − prefill[decode_token]: how sure the reference was (≥ 0).
    #[serde(with = "crate::float_serde")]
    pub prefill_margin: f64,
    /// decode[decode_token] − decode[prefill_token]: how sure the other side was (≥ 0).
    #[serde(with = "crate::float_serde")]
    pub decode_margin: f64,
}

impl Flip {
    /// The larger of the two margins: how confident the flip is.
    pub fn margin(&self) -> f64 {
        self.prefill_margin.max(self.decode_margin)
    }
}

impl Metrics {
    /// True when neither side holds a NaN or Inf.
    pub fn all_finite(&self) -> bool {
        self.nonfinite_prefill == 0 && self.nonfinite_decode == 0
    }

    /// Positions whose top-1 token differs.
    pub fn flips(&self) -> usize {
        let agree = (self.top1_agreement * self.positions as f64).round();
        self.positions.saturating_sub(agree as usize)
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
/// - KL divergence is computed per row from log-softmax in f64; a row with a non-finite value
///   has a NaN divergence, so `kl_mean` and `kl_max` are NaN too and `kl_p99` ranks it
///   highest. Rounding below zero is clamped to 0 (KL is never negative).
/// - `nmse` is NaN when any diff is NaN, `+inf` when the reference is all zeros and the
///   other side is not, 0 when both are all zeros.
/// - `first_flip` is the first row counted as disagreeing; its margins are NaN when the row
///   holds a non-finite value.
/// - `drift_curve[p]` is the largest diff of row `p`, NaN when any diff of the row is NaN.
///
/// Empty inputs (zero positions) give zero diffs and a `top1_agreement` of 1.0 (vacuous).
///
/// Cost: three passes over each row (max, sum of exponentials, divergence) plus one
/// `select_nth_unstable` over the diffs (no sort).
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
    let mut sq_diff = 0f64;
    let mut sq_ref = 0f64;
    let mut agree = 0usize;
    let mut kls = Vec::with_capacity(positions);
    let mut curve = Vec::with_capacity(positions);
    let mut first_flip = None;

    for (row, ((pa, pb), out)) in prefill
        .chunks_exact(vocab)
        .zip(decode.chunks_exact(vocab))
        .zip(diffs.chunks_exact_mut(vocab))
        .enumerate()
    {
        let mut row_nonfinite = 0u64;
        let (mut arg_a, mut best_a) = (0usize, f32::NEG_INFINITY);
        let (mut arg_b, mut best_b) = (0usize, f32::NEG_INFINITY);
        let mut row_sum = 0f64;
        let mut row_max = 0f64;
        let mut row_nan = false;
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
            if d > row_max {
                row_max = d;
            }
            row_nan |= d.is_nan();
            row_sum += d;
            sq_diff += d * d;
            sq_ref += f64::from(a) * f64::from(a);
            // `abs` after the cast keeps the sign bit clear (NaN included), so
            // `total_cmp` orders NaN above +inf.
            *o = (d as f32).abs();
        }
        sum += row_sum;
        any_nan |= row_nan;
        if row_max > max {
            max = row_max;
        }
        curve.push(if row_nan { f32::NAN } else { row_max as f32 });
        if row_nonfinite == 0 {
            kls.push(kl_row(pa, pb, best_a, best_b));
        } else {
            kls.push(f64::NAN);
        }
        if row_nonfinite == 0 && arg_a == arg_b {
            agree += 1;
        } else if first_flip.is_none() {
            let margins = if row_nonfinite == 0 {
                (
                    f64::from(pa[arg_a]) - f64::from(pa[arg_b]),
                    f64::from(pb[arg_b]) - f64::from(pb[arg_a]),
                )
            } else {
                (f64::NAN, f64::NAN)
            };
            first_flip = Some(Flip {
                position: row,
                prefill_token: arg_a as u32,
                decode_token: arg_b as u32,
                prefill_margin: margins.0,
                decode_margin: margins.1,
            });
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
        let k = nearest_rank_99(n);
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
    let nmse = if any_nan || sq_diff.is_nan() {
        f64::NAN
    } else if sq_diff == 0.0 {
        0.0
    } else if sq_ref == 0.0 {
        f64::INFINITY
    } else {
        sq_diff / sq_ref
    };
    let (kl_mean, kl_p99, kl_max) = kl_summary(&mut kls);

    Metrics {
        max_abs_diff,
        p99_abs_diff,
        mean_abs_diff,
        top1_agreement,
        nonfinite_prefill,
        nonfinite_decode,
        positions,
        vocab,
        kl_mean: Some(kl_mean),
        kl_p99: Some(kl_p99),
        kl_max: Some(kl_max),
        nmse: Some(nmse),
        first_flip,
        drift_curve: curve,
    }
}

/// 0-based index of the nearest-rank 99th percentile of `n` values: ceil(0.99 n) − 1,
/// exact in integers.
fn nearest_rank_99(n: usize) -> usize {
    n - n / 100 - 1
}

/// KL(softmax(a) ‖ softmax(b)) of one all-finite row, from log-softmax in f64; `max_a` and
/// `max_b` are the rows' maxima (subtracted before exponentiating, so nothing overflows).
fn kl_row(a: &[f32], b: &[f32], max_a: f32, max_b: f32) -> f64 {
    let lse = |row: &[f32], m: f32| {
        let m = f64::from(m);
        m + row
            .iter()
            .map(|&x| (f64::from(x) - m).exp())
            .sum::<f64>()
            .ln()
    };
    let (la, lb) = (lse(a, max_a), lse(b, max_b));
    let kl: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| {
            let lpa = f64::from(x) - la;
            let lpb = f64::from(y) - lb;
            lpa.exp() * (lpa - lpb)
        })
        .sum();
    kl.max(0.0)
}

/// Mean, nearest-rank p99 and max of per-row divergences; NaN propagates to mean and max.
fn kl_summary(kls: &mut [f64]) -> (f64, f64, f64) {
    if kls.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let any_nan = kls.iter().any(|k| k.is_nan());
    let mean = if any_nan {
        f64::NAN
    } else {
        kls.iter().sum::<f64>() / kls.len() as f64
    };
    let k = nearest_rank_99(kls.len());
    let (_, p99, _) = kls.select_nth_unstable_by(k, |x, y| x.total_cmp(y));
    let p99 = *p99;
    let max = if any_nan {
        f64::NAN
    } else {
        kls.iter().copied().fold(0.0, f64::max)
    };
    (mean, p99, max)
}
