//! Prefill/decode comparison metrics, NaN-safe.

mod p99;
mod row_stats;

use crate::logits::LogitsRef;
use rayon::prelude::*;
use row_stats::{row_stats, RowStats};
use serde::{Deserialize, Serialize};

/// A logit type [`compare`] reads: f32, or f64 for logits that crossed as f64. Every value
/// is widened to f64 (exactly) before anything is computed.
pub trait Logit: Copy + Send + Sync + 'static + sealed::Sealed {
    /// Zero, to pad a row's tail.
    const ZERO: Self;
    /// The value as f64.
    fn wide(self) -> f64;
    /// NaN or ±Inf.
    fn nonfinite(self) -> bool;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

impl Logit for f32 {
    const ZERO: f32 = 0.0;
    #[inline(always)]
    fn wide(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn nonfinite(self) -> bool {
        self.to_bits() & 0x7f80_0000 == 0x7f80_0000
    }
}

impl Logit for f64 {
    const ZERO: f64 = 0.0;
    #[inline(always)]
    fn wide(self) -> f64 {
        self
    }
    #[inline(always)]
    fn nonfinite(self) -> bool {
        self.to_bits() & 0x7ff0_0000_0000_0000 == 0x7ff0_0000_0000_0000
    }
}

/// Comparison of two logits matrices (f32 or f64, each value widened to f64), over all
/// positions and vocab entries.
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
/// - KL divergence is computed per row from log-sum-exp in f64; a row with a non-finite value
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
/// Cost: three vectorized passes over each row (max and sums, then the two sums of
/// exponentials, the divergence riding on the second), rows spread over every core, plus two
/// counting passes for the exact p99 (no copy of the diffs, no sort).
///
/// # Panics
///
/// If `vocab == 0`, if the two slices differ in length, or if the length is not a multiple
/// of `vocab`. These are programming errors: the host checks sizes before comparing.
pub fn compare(prefill: &[f32], decode: &[f32], vocab: usize) -> Metrics {
    compare_any(prefill, decode, vocab)
}

/// [`compare`] of two f64 matrices (an f64 pair whose logits crossed as f64): the same rules,
/// nothing rounded to f32 before the differences are taken. `p99_abs_diff` and the drift
/// curve are kept as f32 (relative precision 6e-8, whatever their magnitude); every other
/// metric is f64 throughout.
///
/// # Panics
///
/// As [`compare`].
pub fn compare_f64(prefill: &[f64], decode: &[f64], vocab: usize) -> Metrics {
    compare_any(prefill, decode, vocab)
}

/// [`compare`] of two matrices of either width (an f32 route against the f64 reference, two
/// backends whose logits crossed in different widths): the f32 side is widened exactly.
///
/// # Panics
///
/// As [`compare`].
pub fn compare_logits(prefill: LogitsRef<'_>, decode: LogitsRef<'_>, vocab: usize) -> Metrics {
    match (prefill, decode) {
        (LogitsRef::F32(a), LogitsRef::F32(b)) => compare_any(a, b, vocab),
        (LogitsRef::F64(a), LogitsRef::F64(b)) => compare_any(a, b, vocab),
        (LogitsRef::F64(a), LogitsRef::F32(b)) => compare_any(a, b, vocab),
        (LogitsRef::F32(a), LogitsRef::F64(b)) => compare_any(a, b, vocab),
    }
}

/// The body of [`compare`] for any pair of logit widths.
fn compare_any<A: Logit, B: Logit>(prefill: &[A], decode: &[B], vocab: usize) -> Metrics {
    check_shapes(prefill, decode, vocab);
    let n = prefill.len();
    let positions = n / vocab;
    let (rows, high) = row_pass(prefill, decode, vocab);
    let mut t = fold_rows(&rows, prefill, decode, vocab);
    let max_abs_diff = if t.any_nan { f64::NAN } else { t.max };
    let mean_abs_diff = mean_of_sum(t.sum, n, t.any_nan);
    let p99_abs_diff = p99_at_most(prefill, decode, &high, max_abs_diff);
    let top1_agreement = agreement(t.agree, positions);
    let nmse = nmse_of(t.any_nan, t.sq_diff, t.sq_ref);
    let (kl_mean, kl_p99, kl_max) = kl_summary(&mut t.kls);

    Metrics {
        max_abs_diff,
        p99_abs_diff,
        mean_abs_diff,
        top1_agreement,
        nonfinite_prefill: t.nonfinite_prefill,
        nonfinite_decode: t.nonfinite_decode,
        positions,
        vocab,
        kl_mean: Some(kl_mean),
        kl_p99: Some(kl_p99),
        kl_max: Some(kl_max),
        nmse: Some(nmse),
        first_flip: t.first_flip,
        drift_curve: t.curve,
    }
}

/// The panics of [`compare`]: a zero `vocab`, slices of different lengths, or a length that
/// is not a multiple of `vocab`.
fn check_shapes<A, B>(prefill: &[A], decode: &[B], vocab: usize) {
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
}

/// The parallel pass: the [`RowStats`] of every row, in row order, and the p99's
/// high-bucket counts over all diffs.
fn row_pass<A: Logit, B: Logit>(
    prefill: &[A],
    decode: &[B],
    vocab: usize,
) -> (Vec<RowStats>, Vec<u64>) {
    // Rows are independent; each gives the same bits whichever thread runs it, and the
    // rows are folded in order (`fold_rows`), so the result does not depend on the thread
    // count. The p99's first counting pass rides along (see `p99`); `reduce` keeps row order.
    // Tasks of at least ~64K logits: each carries a 256 KiB histogram, which would cost
    // more than a small comparison itself if every row were its own task.
    let rows_per_task = (MIN_TASK_LOGITS / vocab).max(1);
    prefill
        .par_chunks_exact(vocab)
        .zip(decode.par_chunks_exact(vocab))
        .with_min_len(rows_per_task)
        .fold(
            || (Vec::new(), vec![0u64; p99::HIGH_BUCKETS]),
            |(mut rows, mut high), (a, b)| {
                rows.push(row_stats(a, b));
                p99::count_high(a, b, &mut high);
                (rows, high)
            },
        )
        .reduce(
            || (Vec::new(), vec![0u64; p99::HIGH_BUCKETS]),
            |(mut rows, mut high), (more, counts)| {
                rows.extend(more);
                high.iter_mut().zip(&counts).for_each(|(h, c)| *h += c);
                (rows, high)
            },
        )
}

/// The rows of a comparison folded in row order: totals, per-row series, the first flip.
struct Totals {
    nonfinite_prefill: u64,
    nonfinite_decode: u64,
    /// Largest row max (NaN diffs aside: see `any_nan`).
    max: f64,
    any_nan: bool,
    sum: f64,
    sq_diff: f64,
    sq_ref: f64,
    /// Rows whose argmax agrees.
    agree: usize,
    /// Per-row KL divergences.
    kls: Vec<f64>,
    /// The drift curve.
    curve: Vec<f32>,
    first_flip: Option<Flip>,
}

/// Fold `rows` (the stats of `prefill` against `decode`, in row order) into [`Totals`],
/// sequentially so the sums never depend on the thread count.
fn fold_rows<A: Logit, B: Logit>(
    rows: &[RowStats],
    prefill: &[A],
    decode: &[B],
    vocab: usize,
) -> Totals {
    let mut t = Totals {
        nonfinite_prefill: 0,
        nonfinite_decode: 0,
        max: 0.0,
        any_nan: false,
        sum: 0.0,
        sq_diff: 0.0,
        sq_ref: 0.0,
        agree: 0,
        kls: Vec::with_capacity(rows.len()),
        curve: Vec::with_capacity(rows.len()),
        first_flip: None,
    };
    for (row, r) in rows.iter().enumerate() {
        t.nonfinite_prefill += r.nonfinite_a;
        t.nonfinite_decode += r.nonfinite_b;
        t.sum += r.sum;
        t.sq_diff += r.sq_diff;
        t.sq_ref += r.sq_ref;
        t.any_nan |= r.nan;
        if r.max > t.max {
            t.max = r.max;
        }
        t.curve.push(if r.nan { f32::NAN } else { r.max as f32 });
        t.kls.push(r.kl);
        if r.finite() && r.arg_a == r.arg_b {
            t.agree += 1;
        } else if t.first_flip.is_none() {
            let span = row * vocab..(row + 1) * vocab;
            t.first_flip = Some(flip_at(row, r, &prefill[span.clone()], &decode[span]));
        }
    }
    t
}

/// The [`Flip`] of row `row`, whose stats are `r` and logits `pa` (prefill) and `pb`
/// (decode); NaN margins when the row holds a non-finite value.
fn flip_at<A: Logit, B: Logit>(row: usize, r: &RowStats, pa: &[A], pb: &[B]) -> Flip {
    let margins = if r.finite() {
        (
            pa[r.arg_a].wide() - pa[r.arg_b].wide(),
            pb[r.arg_b].wide() - pb[r.arg_a].wide(),
        )
    } else {
        (f64::NAN, f64::NAN)
    };
    Flip {
        position: row,
        prefill_token: r.arg_a as u32,
        decode_token: r.arg_b as u32,
        prefill_margin: margins.0,
        decode_margin: margins.1,
    }
}

/// `mean_abs_diff` from the sum of the `n` diffs: 0 when empty, NaN when a diff is NaN.
fn mean_of_sum(sum: f64, n: usize, any_nan: bool) -> f64 {
    if n == 0 {
        0.0
    } else if any_nan {
        f64::NAN
    } else {
        // All diffs are >= 0, so the sum is +inf iff some diff is +inf.
        sum / n as f64
    }
}

/// `p99_abs_diff`: the nearest-rank p99 of all diffs (0 when empty), never above
/// `max_abs_diff`. `high` holds the counts of the first counting pass.
fn p99_at_most<A: Logit, B: Logit>(
    prefill: &[A],
    decode: &[B],
    high: &[u64],
    max_abs_diff: f64,
) -> f64 {
    let n = prefill.len();
    if n == 0 {
        return 0.0;
    }
    let p = f64::from(p99::diff_of_rank(prefill, decode, high, nearest_rank_99(n)));
    // Rounding a diff to f32 may land just above the f64 max (or overflow to inf);
    // the percentile can never exceed the max.
    if p > max_abs_diff {
        max_abs_diff
    } else {
        p
    }
}

/// `top1_agreement`: the fraction of agreeing rows, 1.0 (vacuous) when there are none.
fn agreement(agree: usize, positions: usize) -> f64 {
    if positions == 0 {
        1.0
    } else {
        agree as f64 / positions as f64
    }
}

/// `nmse` from Σ(prefill − decode)² and Σ prefill² (see [`compare`] for the special cases).
fn nmse_of(any_nan: bool, sq_diff: f64, sq_ref: f64) -> f64 {
    if any_nan || sq_diff.is_nan() {
        f64::NAN
    } else if sq_diff == 0.0 {
        0.0
    } else if sq_ref == 0.0 {
        f64::INFINITY
    } else {
        sq_diff / sq_ref
    }
}

/// Fewest logits one parallel task of [`compare`] takes.
const MIN_TASK_LOGITS: usize = 1 << 16;

/// 0-based index of the nearest-rank 99th percentile of `n` values: ceil(0.99 n) − 1,
/// exact in integers.
fn nearest_rank_99(n: usize) -> usize {
    n - n / 100 - 1
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
