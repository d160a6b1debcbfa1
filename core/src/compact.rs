//! A run's logits in a few kilobytes, for comparing runs that never share a machine: per
//! position the top-k token ids and values and the log-sum-exp of the whole row. Logits are
//! large (100 MB per route at span 512 with a 49,152-token vocabulary); a journal keeps this
//! form and a digest of the exact bits instead.
//!
//! What follows from two compact forms, and how exactly ([`compare_compact`]):
//! - top-1 agreement is **exact**: each row's argmax is kept (first index of the largest
//!   value, as [`crate::metrics`] picks it) and rows holding NaN or Inf never agree, as there;
//! - the largest |a − b| over the token ids in both top-k lists is **exact over those
//!   entries** and a **lower bound** of the full `max_abs_diff`;
//! - KL is **approximate**: the exact KL of both distributions coarse-grained to the ids in
//!   both top-k lists plus one bin for the rest of the vocabulary; coarse-graining never
//!   increases KL, so it is a lower bound of the full KL (up to rounding). What it misses is
//!   the divergence inside the tail: for differences spread evenly over the vocabulary, a
//!   relative error of the order of the probability mass outside the top-k (about twice it
//!   in the tests: 10 % below the full KL where the top-8 miss 4.9 % of the mass).

use crate::logits::LogitsRef;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Top-k kept per position by the sweep.
pub const TOP_K: usize = 8;

/// A logits matrix reduced to its top-k per row and each row's log-sum-exp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompactLogits {
    /// Entries kept per row (the vocabulary's size where it is smaller).
    pub k: usize,
    /// Row width of the full matrix.
    pub vocab: usize,
    /// Per row, `k` token ids, largest value first (ties: lower id first); NaN values are
    /// never kept.
    pub ids: Vec<u32>,
    /// The values of `ids`, rounded to f32 (exact for f32 logits).
    #[serde(with = "f32_shortest")]
    pub values: Vec<f32>,
    /// Per row, ln Σ exp(logit) over the whole row; NaN when the row holds NaN or Inf.
    #[serde(with = "crate::float_vec64")]
    pub lse: Vec<f64>,
    /// Rows holding NaN or Inf (their top-1 never agrees, their KL is NaN).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nonfinite_rows: Vec<u32>,
}

/// What two compact forms of the same shape say about the full matrices ([module
/// docs](self) say which figures are exact).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CompactMetrics {
    /// Rows compared.
    pub positions: usize,
    /// Fraction of rows whose argmax agrees: exact.
    #[serde(with = "crate::float_serde")]
    pub top1_agreement: f64,
    /// Largest |a − b| over the ids in both top-k lists: a lower bound of `max_abs_diff`.
    #[serde(with = "crate::float_serde")]
    pub max_abs_topk: f64,
    /// Mean over rows of the coarse-grained KL(a ‖ b): a lower bound of `kl_mean`.
    #[serde(with = "crate::float_serde")]
    pub kl_mean_approx: f64,
    /// Largest coarse-grained KL over rows: a lower bound of `kl_max`.
    #[serde(with = "crate::float_serde")]
    pub kl_max_approx: f64,
    /// First row whose argmax differs.
    pub first_flip: Option<usize>,
}

/// The compact form of `logits` (`[positions][vocab]`), keeping `k` entries per row.
pub fn compact(logits: LogitsRef<'_>, vocab: usize, k: usize) -> CompactLogits {
    match logits {
        LogitsRef::F32(v) => compact_rows(v, vocab, k),
        LogitsRef::F64(v) => compact_rows(v, vocab, k),
    }
}

fn compact_rows<T: Copy + Into<f64>>(v: &[T], vocab: usize, k: usize) -> CompactLogits {
    let vocab = vocab.max(1);
    let k = k.min(vocab);
    let rows = v.len() / vocab;
    let mut out = CompactLogits {
        k,
        vocab,
        ids: Vec::with_capacity(rows * k),
        values: Vec::with_capacity(rows * k),
        lse: Vec::with_capacity(rows),
        nonfinite_rows: Vec::new(),
    };
    for (r, row) in v.chunks_exact(vocab).enumerate() {
        let (top, finite) = top_k(row, k);
        for i in 0..k {
            let (id, val) = top.get(i).copied().unwrap_or((u32::MAX, f64::NAN));
            out.ids.push(id);
            out.values.push(val as f32);
        }
        if !finite {
            out.nonfinite_rows.push(r as u32);
        }
        out.lse.push(if finite { lse(row) } else { f64::NAN });
    }
    out
}

/// The `k` largest non-NaN values of `row` with their ids, largest first, lower id first
/// among equals (so the first is the argmax [`crate::metrics`] takes), and whether every
/// value is finite (one pass over the row).
fn top_k<T: Copy + Into<f64>>(row: &[T], k: usize) -> (Vec<(u32, f64)>, bool) {
    let mut top: Vec<(u32, f64)> = Vec::with_capacity(k + 1);
    let mut finite = true;
    for (i, &x) in row.iter().enumerate() {
        let x: f64 = x.into();
        finite &= x.is_finite();
        if x.is_nan() || (top.len() == k && x <= top[k - 1].1) {
            continue;
        }
        // Strictly greater moves ahead: an equal value keeps the lower id in front.
        let at = top.partition_point(|&(_, v)| v >= x);
        top.insert(at, (i as u32, x));
        top.truncate(k);
    }
    (top, finite)
}

/// ln Σ exp(x) of a finite row, shifted by its max.
fn lse<T: Copy + Into<f64>>(row: &[T]) -> f64 {
    let max = row
        .iter()
        .map(|&x| x.into())
        .fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = row.iter().map(|&x| (x.into() - max).exp()).sum();
    max + sum.ln()
}

/// Compare compact forms `a` (reference side) and `b` of the same shape; `None` when the
/// shapes differ.
pub fn compare_compact(a: &CompactLogits, b: &CompactLogits) -> Option<CompactMetrics> {
    if a.k != b.k || a.vocab != b.vocab || a.lse.len() != b.lse.len() || a.k == 0 {
        return None;
    }
    let rows = a.lse.len();
    let (mut agree, mut max_abs, mut kl_sum, mut kl_max) = (0usize, 0f64, 0f64, 0f64);
    let mut first_flip = None;
    for r in 0..rows {
        let ra = Row::of(a, r);
        let rb = Row::of(b, r);
        let nonfinite = ra.nonfinite || rb.nonfinite;
        if !nonfinite && ra.ids[0] == rb.ids[0] {
            agree += 1;
        } else if first_flip.is_none() {
            first_flip = Some(r);
        }
        for (i, id) in ra.ids.iter().enumerate() {
            if let Some(j) = rb.ids.iter().position(|x| x == id) {
                let d = (f64::from(ra.values[i]) - f64::from(rb.values[j])).abs();
                max_abs = if d.is_nan() || max_abs.is_nan() {
                    f64::NAN
                } else {
                    max_abs.max(d)
                };
            }
        }
        let kl = coarse_kl(&ra, &rb);
        kl_sum += kl;
        kl_max = if kl.is_nan() || kl_max.is_nan() {
            f64::NAN
        } else {
            kl_max.max(kl)
        };
    }
    Some(CompactMetrics {
        positions: rows,
        top1_agreement: if rows == 0 {
            1.0
        } else {
            agree as f64 / rows as f64
        },
        max_abs_topk: max_abs,
        kl_mean_approx: if rows == 0 { 0.0 } else { kl_sum / rows as f64 },
        kl_max_approx: kl_max,
        first_flip,
    })
}

/// One row of a compact form.
struct Row<'a> {
    ids: &'a [u32],
    values: &'a [f32],
    lse: f64,
    nonfinite: bool,
}

impl<'a> Row<'a> {
    fn of(c: &'a CompactLogits, r: usize) -> Row<'a> {
        let span = r * c.k..(r + 1) * c.k;
        Row {
            ids: &c.ids[span.clone()],
            values: &c.values[span],
            lse: c.lse[r],
            nonfinite: c.nonfinite_rows.binary_search(&(r as u32)).is_ok(),
        }
    }
}

/// KL(a ‖ b) over the bins {each id in both top-k lists} ∪ {the rest of the vocabulary}.
fn coarse_kl(a: &Row<'_>, b: &Row<'_>) -> f64 {
    if a.nonfinite || b.nonfinite || !a.lse.is_finite() || !b.lse.is_finite() {
        return f64::NAN;
    }
    let (mut kl, mut pa_in, mut pb_in) = (0f64, 0f64, 0f64);
    for (i, id) in a.ids.iter().enumerate() {
        let Some(j) = b.ids.iter().position(|x| x == id) else {
            continue;
        };
        let la = f64::from(a.values[i]) - a.lse;
        let lb = f64::from(b.values[j]) - b.lse;
        let p = la.exp();
        kl += p * (la - lb);
        pa_in += p;
        pb_in += lb.exp();
    }
    let (pa_rest, pb_rest) = ((1.0 - pa_in).max(0.0), (1.0 - pb_in).max(0.0));
    if pa_rest > 0.0 {
        kl += pa_rest * (pa_rest / pb_rest.max(f64::MIN_POSITIVE)).ln();
    }
    kl.max(0.0)
}

/// f32 lists written in their shortest form (NaN and ±Inf as strings), read back exactly.
mod f32_shortest {
    use super::*;

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum F {
        N(f32),
        S(String),
    }

    pub fn serialize<S: Serializer>(v: &[f32], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|&x| {
            if x.is_finite() {
                F::N(x)
            } else if x.is_nan() {
                F::S("NaN".into())
            } else if x > 0.0 {
                F::S("inf".into())
            } else {
                F::S("-inf".into())
            }
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        Vec::<F>::deserialize(d)?
            .into_iter()
            .map(|f| match f {
                F::N(x) => Ok(x),
                F::S(s) => match s.as_str() {
                    "NaN" => Ok(f32::NAN),
                    "inf" => Ok(f32::INFINITY),
                    "-inf" => Ok(f32::NEG_INFINITY),
                    other => Err(serde::de::Error::custom(format!(
                        "expected a number, \"NaN\", \"inf\" or \"-inf\", found \"{other}\""
                    ))),
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
