//! Small aggregates that never let a NaN disappear, and the rank test `diff` judges speed
//! with ([`mann_whitney`]).

use std::cmp::Ordering;

/// Arithmetic mean; NaN for an empty slice, and NaN/Inf propagate.
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().sum::<f64>() / v.len() as f64
}

/// Order where NaN ranks above everything (so a "largest" pick surfaces it).
pub fn cmp_nan_high(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.total_cmp(&b),
    }
}

/// Order where NaN ranks below everything (so a "smallest" pick surfaces it).
pub fn cmp_nan_low(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.total_cmp(&b),
    }
}

/// Largest value; NaN if any is NaN (f64::max would drop it).
pub fn max_nan(v: &[f64]) -> f64 {
    v.iter()
        .copied()
        .max_by(|a, b| cmp_nan_high(*a, *b))
        .unwrap_or(f64::NAN)
}

/// Smallest value; NaN if any is NaN.
pub fn min_nan(v: &[f64]) -> f64 {
    if v.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    v.iter()
        .copied()
        .min_by(|a, b| a.total_cmp(b))
        .unwrap_or(f64::NAN)
}

/// Percentile `p` (0..=100) by nearest rank: the value of rank `ceil(p/100 · n)` (1-based)
/// in ascending order; NaN ranks highest. NaN for an empty slice.
pub fn percentile_nearest_rank(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| cmp_nan_high(*a, *b));
    let rank = ((p / 100.0) * s.len() as f64).ceil() as usize;
    s[rank.clamp(1, s.len()) - 1]
}

/// Median: the middle value in ascending order, or the mean of the two middle values; NaN
/// for an empty slice or when any value is NaN (a median would otherwise step over it).
pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() || v.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Median absolute deviation: the median of |x − median(v)|, unscaled (in the values' unit;
/// 1.4826 × MAD estimates the standard deviation of normal data). A spread that one slow
/// run does not move, unlike the standard deviation. NaN for an empty slice or any NaN.
pub fn mad(v: &[f64]) -> f64 {
    let m = median(v);
    if m.is_nan() {
        return f64::NAN;
    }
    let dev: Vec<f64> = v.iter().map(|x| (x - m).abs()).collect();
    median(&dev)
}

/// The outcome of a Mann–Whitney U (Wilcoxon rank-sum) test of two samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U of the first sample: the pairs (a, b) with a > b, a tie counting ½. From 0 (every
    /// a below every b) to |a|·|b| (every a above every b).
    pub u: f64,
    /// Two-sided p-value: the chance of a U at least this far from |a|·|b|/2 when both
    /// samples come from one distribution.
    pub p: f64,
    /// The p-value is exact (no ties and both samples of at most [`MW_EXACT_MAX`]); else it
    /// is the normal approximation with tie and continuity corrections.
    pub exact: bool,
}

/// The largest sample size whose p-value [`mann_whitney`] computes exactly: U's counts
/// then stay within i128 (C(100, 50) ≈ 1e29) and take at most 50 · 2500 additions.
pub const MW_EXACT_MAX: usize = 50;

/// The Mann–Whitney U test of `a` against `b`; `None` when either is empty or holds a NaN.
/// Rank-based, so it asks "do a's values tend to be larger than b's?" without assuming a
/// distribution, and one outlier moves it by one rank only.
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    let (m, n) = (a.len(), b.len());
    if m == 0 || n == 0 || a.iter().chain(b).any(|x| x.is_nan()) {
        return None;
    }
    // Pooled values, sorted, tagged with their sample; ties get the mean of their ranks.
    let mut pooled: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, true))
        .chain(b.iter().map(|&x| (x, false)))
        .collect();
    pooled.sort_by(|x, y| x.0.total_cmp(&y.0));
    let total = m + n;
    let (mut rank_sum_a, mut tie_term, mut ties) = (0.0, 0.0, false);
    let mut i = 0;
    while i < total {
        let mut j = i + 1;
        // -0.0 and 0.0 are one value here, as `>` sees them.
        while j < total && pooled[j].0 == pooled[i].0 {
            j += 1;
        }
        let t = (j - i) as f64;
        // Ranks i+1 ..= j, whose mean is (i + 1 + j) / 2.
        let rank = (i + 1 + j) as f64 / 2.0;
        rank_sum_a += rank * pooled[i..j].iter().filter(|p| p.1).count() as f64;
        if j - i > 1 {
            ties = true;
            tie_term += t * t * t - t;
        }
        i = j;
    }
    let u = rank_sum_a - (m * (m + 1)) as f64 / 2.0;
    let exact = !ties && m <= MW_EXACT_MAX && n <= MW_EXACT_MAX;
    let p = if exact {
        exact_p(m, n, u as usize)
    } else {
        let (mf, nf, tf) = (m as f64, n as f64, total as f64);
        let var = mf * nf / 12.0 * ((tf + 1.0) - tie_term / (tf * (tf - 1.0)));
        if var <= 0.0 {
            1.0 // every value tied: nothing tells the samples apart
        } else {
            let z = ((u - mf * nf / 2.0).abs() - 0.5).max(0.0) / var.sqrt();
            erfc(z / std::f64::consts::SQRT_2).min(1.0)
        }
    };
    Some(MannWhitney { u, p, exact })
}

/// Exact two-sided p of U = `u` for samples of `m` and `n` without ties: twice the smaller
/// tail, from the counts of each U over the C(m+n, m) equally likely orders.
fn exact_p(m: usize, n: usize, u: usize) -> f64 {
    let counts = u_counts(m, n);
    let all: i128 = counts.iter().sum();
    // U is symmetric about m·n/2: the smaller tail is the lower tail of the nearer end.
    let near = u.min(m * n - u);
    let tail: i128 = counts[..=near].iter().sum();
    (2.0 * tail as f64 / all as f64).min(1.0)
}

/// How many orders of m a's and n b's give each U (0..=m·n): the coefficients of the
/// Gaussian binomial [m+n choose m](q) = Π_{i=1..m} (1 − q^(n+i)) / (1 − q^i), built one
/// factor at a time (each partial product is again a polynomial with integer coefficients;
/// truncating at degree m·n commutes with both steps).
fn u_counts(m: usize, n: usize) -> Vec<i128> {
    let deg = m * n;
    let mut c = vec![0i128; deg + 1];
    c[0] = 1;
    for i in 1..=m {
        let k = n + i;
        for d in (k..=deg).rev() {
            c[d] -= c[d - k];
        }
        // Dividing by (1 − q^i) is a running sum with stride i.
        for d in i..=deg {
            c[d] += c[d - i];
        }
    }
    c
}

/// The complementary error function for x ≥ 0 (erfc(x) = 2/√π ∫ₓ^∞ e^(−t²) dt), by
/// Abramowitz and Stegun's rational approximation 7.1.26, absolute error below 1.5e-7:
/// ample for a p-value compared with 0.05.
fn erfc(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    poly * (-x * x).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_surfaces_in_max_and_min() {
        assert!(max_nan(&[1.0, f64::NAN, 3.0]).is_nan());
        assert!(min_nan(&[1.0, f64::NAN, 3.0]).is_nan());
        assert_eq!(max_nan(&[1.0, 3.0, 2.0]), 3.0);
        assert_eq!(min_nan(&[1.0, 3.0, 2.0]), 1.0);
    }

    #[test]
    fn p95_is_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        // ceil(0.95 * 20) = 19
        assert_eq!(percentile_nearest_rank(&v, 95.0), 19.0);
        // ceil(0.95 * 6) = 6: the max
        assert_eq!(
            percentile_nearest_rank(&[5.0, 1.0, 4.0, 2.0, 6.0, 3.0], 95.0),
            6.0
        );
        assert_eq!(percentile_nearest_rank(&[7.0], 95.0), 7.0);
    }
    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
        assert!(median(&[]).is_nan());
        assert!(median(&[1.0, f64::NAN, 3.0]).is_nan());
    }

    #[test]
    fn mad_by_hand() {
        // Median 3; deviations 2, 1, 0, 1, 97 → sorted 0, 1, 1, 2, 97: MAD 1 (the outlier
        // moves it by one rank, where it makes the standard deviation about 43).
        assert_eq!(mad(&[1.0, 2.0, 3.0, 4.0, 100.0]), 1.0);
        // Median 2.5; deviations 1.5, 0.5, 0.5, 1.5: MAD 1.
        assert_eq!(mad(&[1.0, 2.0, 3.0, 4.0]), 1.0);
        assert_eq!(mad(&[5.0, 5.0, 5.0]), 0.0);
        assert!(mad(&[]).is_nan());
        assert!(mad(&[1.0, f64::NAN]).is_nan());
    }

    #[test]
    fn u_counts_are_the_gaussian_binomial() {
        // 2 and 2: the 6 orders give U = 0, 1, 2, 2, 3, 4.
        assert_eq!(u_counts(2, 2), vec![1, 1, 2, 1, 1]);
        // 5 and 5: partitions of U into at most 5 parts of at most 5; 252 = C(10, 5).
        let c = u_counts(5, 5);
        assert_eq!(&c[..7], &[1, 1, 2, 3, 5, 7, 9]);
        assert_eq!(c.iter().sum::<i128>(), 252);
        assert_eq!(c, c.iter().rev().copied().collect::<Vec<_>>(), "symmetric");
        assert_eq!(
            u_counts(50, 50).iter().sum::<i128>(),
            100_891_344_545_564_193_334_812_497_256
        );
    }

    #[test]
    fn mann_whitney_exact_by_hand() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [6.0, 7.0, 8.0, 9.0, 10.0];
        // Every a below every b: U = 0, p = 2 · 1/252.
        let t = mann_whitney(&a, &b).unwrap();
        assert_eq!((t.u, t.exact), (0.0, true));
        assert!((t.p - 2.0 / 252.0).abs() < 1e-15, "{}", t.p);
        // The other way round: U = 25, the same p.
        let t = mann_whitney(&b, &a).unwrap();
        assert_eq!(t.u, 25.0);
        assert!((t.p - 2.0 / 252.0).abs() < 1e-15);
        // One a above two b's: U = 2; P(U ≤ 2) = (1 + 1 + 2) / 252.
        let t = mann_whitney(&[1.0, 2.0, 3.0, 4.0, 7.5], &b).unwrap();
        assert_eq!(t.u, 2.0);
        assert!((t.p - 8.0 / 252.0).abs() < 1e-15, "{}", t.p);
        // Interleaved, each a just below its b: U = 10 of 25.
        let t = mann_whitney(&[1.0, 3.0, 5.0, 7.0, 9.0], &[2.0, 4.0, 6.0, 8.0, 10.0]).unwrap();
        assert_eq!(t.u, 10.0);
        // P(U ≤ 10) = (1+1+2+3+5+7+9+11+14+16+18) / 252 = 87/252.
        assert!((t.p - 2.0 * 87.0 / 252.0).abs() < 1e-15, "{}", t.p);
        let t = mann_whitney(&[1.0, 2.0], &[1.5]).unwrap();
        // U = 1 of 2, the middle: both tails hold 2 of the 3 orders.
        assert_eq!((t.u, t.p), (1.0, 1.0));
    }

    #[test]
    fn mann_whitney_normal_with_ties_by_hand() {
        // Pooled 1 2 3 3 4 4 5 5 6 7: ranks 1 2 3.5 3.5 5.5 5.5 7.5 7.5 9 10. R_a = 19.5,
        // U = 19.5 − 15 = 4.5; three ties of 2: Σ(t³ − t) = 18; σ² = 25/12 · (11 − 18/90)
        // = 22.5; z = (|4.5 − 12.5| − 0.5) / √22.5 = 1.58114; p = erfc(z/√2) = 0.113846.
        let t = mann_whitney(&[1.0, 2.0, 3.0, 4.0, 5.0], &[3.0, 4.0, 5.0, 6.0, 7.0]).unwrap();
        assert_eq!((t.u, t.exact), (4.5, false));
        assert!((t.p - 0.113_846_298).abs() < 1e-6, "{}", t.p);
        // Every value tied: p = 1.
        let t = mann_whitney(&[2.0; 5], &[2.0; 5]).unwrap();
        assert_eq!((t.u, t.p), (12.5, 1.0));
    }

    #[test]
    fn mann_whitney_normal_for_large_samples() {
        // 60 and 60, separated: U = 0, μ = 1800, σ² = 3600 · 121 / 12 = 36300;
        // z = 1799.5 / 190.526 = 9.4449: p ≈ 3.6e-21, far below 0.05.
        let a: Vec<f64> = (0..60).map(f64::from).collect();
        let b: Vec<f64> = (100..160).map(f64::from).collect();
        let t = mann_whitney(&a, &b).unwrap();
        assert_eq!((t.u, t.exact), (0.0, false));
        assert!(t.p < 1e-15, "{}", t.p);
        // Interleaved: U = 1770 of 3600, z = (30 − 0.5)/190.5 = 0.1548: p = 0.877.
        let a: Vec<f64> = (0..60).map(|i| f64::from(2 * i)).collect();
        let b: Vec<f64> = (0..60).map(|i| f64::from(2 * i + 1)).collect();
        let t = mann_whitney(&a, &b).unwrap();
        assert_eq!(t.u, 1770.0);
        assert!((t.p - 0.876_97).abs() < 1e-4, "{}", t.p);
    }

    #[test]
    fn erfc_matches_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 2e-7);
        // The two-sided p of z = 1.959964 is 0.05.
        assert!((erfc(1.959_963_985 / std::f64::consts::SQRT_2) - 0.05).abs() < 2e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 2e-7);
    }

    #[test]
    fn mann_whitney_refuses_empty_and_nan() {
        assert!(mann_whitney(&[], &[1.0]).is_none());
        assert!(mann_whitney(&[1.0], &[]).is_none());
        assert!(mann_whitney(&[1.0, f64::NAN], &[1.0]).is_none());
    }
}
