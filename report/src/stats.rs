//! Small aggregates that never let a NaN disappear.

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
}
