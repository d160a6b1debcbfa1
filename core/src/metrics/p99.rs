//! The nearest-rank percentile of all |a − b| diffs without storing them.
//!
//! A diff is kept as a non-negative f32 (sign bit clear, NaN included), and for those the
//! order of [`f32::total_cmp`] is the order of their bits as `u32`. So the element of rank k
//! is found exactly by two counting passes: the top 16 bits first (counted by `compare`
//! row by row while the row is in cache), then the low 16 bits of the diffs inside the
//! bucket that holds rank k, a pass on every core that reads the inputs again instead of a
//! 4-byte-per-logit copy of the diffs.

use super::Logit;
use rayon::prelude::*;

/// Logits per task: large enough that merging histograms costs little.
const CHUNK: usize = 1 << 20;

/// The diff of one element as `compare` ranks it.
#[inline(always)]
fn diff_bits<A: Logit, B: Logit>(a: A, b: B) -> u32 {
    let d = (a.wide() - b.wide()).abs();
    (d as f32).abs().to_bits()
}

fn histogram<A: Logit, B: Logit, F>(a: &[A], b: &[B], buckets: usize, bucket_of: F) -> Vec<u64>
where
    F: Fn(u32) -> Option<usize> + Sync,
{
    a.par_chunks(CHUNK)
        .zip(b.par_chunks(CHUNK))
        .fold(
            || vec![0u64; buckets],
            |mut h, (ca, cb)| {
                for (&x, &y) in ca.iter().zip(cb) {
                    if let Some(i) = bucket_of(diff_bits(x, y)) {
                        h[i] += 1;
                    }
                }
                h
            },
        )
        .reduce(
            || vec![0u64; buckets],
            |mut x, y| {
                x.iter_mut().zip(&y).for_each(|(s, v)| *s += v);
                x
            },
        )
}

/// The bucket holding the element of 0-based rank `k`, and `k`'s rank inside it.
fn locate(hist: &[u64], mut k: u64) -> (usize, u64) {
    for (i, &n) in hist.iter().enumerate() {
        if k < n {
            return (i, k);
        }
        k -= n;
    }
    unreachable!("rank beyond the counted elements")
}

/// Buckets of the first counting pass: the top 16 bits of a diff whose sign bit is clear.
pub(crate) const HIGH_BUCKETS: usize = 1 << 15;

/// Count the diffs of `a` against `b` by their top 16 bits into `high` (the first pass,
/// done by `compare` while each row is in cache).
pub(crate) fn count_high<A: Logit, B: Logit>(a: &[A], b: &[B], high: &mut [u64]) {
    for (&x, &y) in a.iter().zip(b) {
        high[(diff_bits(x, y) >> 16) as usize] += 1;
    }
}

/// The diff of 0-based rank `k` in ascending `total_cmp` order, over equal-length `a`, `b`,
/// given the first pass's counts `high` (see [`count_high`]).
pub(crate) fn diff_of_rank<A: Logit, B: Logit>(a: &[A], b: &[B], high: &[u64], k: usize) -> f32 {
    assert!(k < a.len(), "rank {k} of {} diffs", a.len());
    let (top, k) = locate(high, k as u64);
    let low = histogram(a, b, 1 << 16, |bits| {
        ((bits >> 16) as usize == top).then_some((bits & 0xffff) as usize)
    });
    let (bottom, _) = locate(&low, k);
    f32::from_bits(((top as u32) << 16) | bottom as u32)
}

#[cfg(test)]
mod tests {
    use super::diff_of_rank;

    #[test]
    fn every_rank_matches_a_full_sort() {
        let mut s = 7u64;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as f32 / (1u64 << 31) as f32
        };
        let mut a: Vec<f32> = (0..3000).map(|_| next() * 8.0 - 4.0).collect();
        let mut b: Vec<f32> = a.iter().map(|x| x + (next() - 0.5) * 0.1).collect();
        // Ties, an exact zero run, NaN and infinities all take part.
        b[..200].copy_from_slice(&a[..200]);
        a[300] = f32::NAN;
        b[301] = f32::INFINITY;
        a[302] = f32::NEG_INFINITY;
        b[302] = f32::NEG_INFINITY;
        let mut sorted: Vec<f32> = a
            .iter()
            .zip(&b)
            .map(|(&x, &y)| ((f64::from(x) - f64::from(y)).abs() as f32).abs())
            .collect();
        sorted.sort_by(|x, y| x.total_cmp(y));
        let mut high = vec![0u64; super::HIGH_BUCKETS];
        super::count_high(&a, &b, &mut high);
        for k in (0..a.len())
            .step_by(7)
            .chain([a.len() - 31, a.len() - 30, a.len() - 1])
        {
            let got = diff_of_rank(&a, &b, &high, k);
            assert_eq!(got.to_bits(), sorted[k].to_bits(), "rank {k}");
        }
    }
}
