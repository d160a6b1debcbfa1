//! A logits matrix in the width it crossed from the backend in: f32, or f64 for an f64
//! session that hands its logits over as f64 (ABI v1.4, [`crate::Session::prefill_f64`]).
//!
//! The host keeps f64 pairs in f64 end to end (buffers, comparison, reference files, replay
//! bundles), so an f64 pair is judged at f64 precision; every other dtype stays f32.

use crate::unwritten::{self, Unwritten};

/// An owned, row-major `[positions][vocab]` logits matrix.
#[derive(Debug, Clone, PartialEq)]
pub enum Logits {
    /// f32 values (every dtype but f64, and f64 handed over as f32).
    F32(Vec<f32>),
    /// f64 values.
    F64(Vec<f64>),
}

/// A borrowed [`Logits`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LogitsRef<'a> {
    /// f32 values.
    F32(&'a [f32]),
    /// f64 values.
    F64(&'a [f64]),
}

impl Default for Logits {
    fn default() -> Self {
        Logits::F32(Vec::new())
    }
}

impl Logits {
    /// An empty matrix of the width `wide` picks (f64 when true).
    pub fn empty(wide: bool) -> Logits {
        if wide {
            Logits::F64(Vec::new())
        } else {
            Logits::F32(Vec::new())
        }
    }

    /// Values held.
    pub fn len(&self) -> usize {
        self.as_ref().len()
    }

    /// No values held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values are f64.
    pub fn is_f64(&self) -> bool {
        matches!(self, Logits::F64(_))
    }

    /// The values as f64 (f32 ones widened exactly).
    pub fn into_f64(self) -> Vec<f64> {
        match self {
            Logits::F32(v) => v.into_iter().map(f64::from).collect(),
            Logits::F64(v) => v,
        }
    }

    /// Borrow it.
    pub fn as_ref(&self) -> LogitsRef<'_> {
        match self {
            Logits::F32(v) => LogitsRef::F32(v),
            Logits::F64(v) => LogitsRef::F64(v),
        }
    }

    /// Make it `n` zeros of the width `wide` picks, or say why the memory is not there (an
    /// error, not an abort).
    pub fn resize(&mut self, n: usize, wide: bool) -> Result<(), String> {
        if self.is_f64() != wide {
            *self = Logits::empty(wide);
        }
        let bytes = n.saturating_mul(if wide { 8 } else { 4 });
        let fail = |e: std::collections::TryReserveError| {
            format!("cannot allocate {n} logits ({bytes} bytes): {e}")
        };
        match self {
            Logits::F32(v) => {
                v.clear();
                v.try_reserve_exact(n).map_err(fail)?;
                v.resize(n, 0.0);
            }
            Logits::F64(v) => {
                v.clear();
                v.try_reserve_exact(n).map_err(fail)?;
                v.resize(n, 0.0);
            }
        }
        Ok(())
    }

    /// Fill every value with the unwritten-logit sentinel of its width.
    pub fn fill_unwritten(&mut self) {
        match self {
            Logits::F32(v) => unwritten::fill(v),
            Logits::F64(v) => unwritten::fill64(v),
        }
    }

    /// The sentinel values left, if any.
    pub fn find_unwritten(&self) -> Option<Unwritten> {
        match self {
            Logits::F32(v) => unwritten::find(v),
            Logits::F64(v) => unwritten::find64(v),
        }
    }
}

impl<'a> LogitsRef<'a> {
    /// Values held.
    pub fn len(&self) -> usize {
        match self {
            LogitsRef::F32(v) => v.len(),
            LogitsRef::F64(v) => v.len(),
        }
    }

    /// No values held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values are f64.
    pub fn is_f64(&self) -> bool {
        matches!(self, LogitsRef::F64(_))
    }

    /// Bytes of one value: 4 or 8.
    pub fn value_bytes(&self) -> usize {
        if self.is_f64() {
            8
        } else {
            4
        }
    }

    /// Value `i`, widened to f64.
    pub fn get(&self, i: usize) -> f64 {
        match self {
            LogitsRef::F32(v) => f64::from(v[i]),
            LogitsRef::F64(v) => v[i],
        }
    }

    /// An owned copy.
    pub fn to_owned(&self) -> Logits {
        match self {
            LogitsRef::F32(v) => Logits::F32(v.to_vec()),
            LogitsRef::F64(v) => Logits::F64(v.to_vec()),
        }
    }

    /// The largest |value| among the finite ones (0 when there is none).
    pub fn max_abs_finite(&self) -> f64 {
        let fold = |m: f64, x: f64| if x.is_finite() { m.max(x.abs()) } else { m };
        match self {
            LogitsRef::F32(v) => v.iter().map(|&x| f64::from(x)).fold(0.0, fold),
            LogitsRef::F64(v) => v.iter().copied().fold(0.0, fold),
        }
    }

    /// The values as little-endian bytes (4 or 8 each).
    pub fn le_bytes(&self) -> Vec<u8> {
        match self {
            LogitsRef::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            LogitsRef::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    /// Values whose bits differ from `other`'s (NaN equals NaN of the same bits; values of
    /// the other width compare widened to f64), and the largest |a − b| among them, NaN when
    /// a NaN stands against another value or the lengths differ; `None` when both are
    /// bitwise equal.
    pub fn bitwise_mismatch(&self, other: LogitsRef<'_>) -> Option<(u64, f64)> {
        let (n, max) = match (*self, other) {
            (LogitsRef::F32(a), LogitsRef::F32(b)) => mismatch(
                a,
                b,
                |x, y| x.to_bits() == y.to_bits(),
                f64::from,
                f64::from,
            ),
            (LogitsRef::F64(a), LogitsRef::F64(b)) => {
                mismatch(a, b, |x, y| x.to_bits() == y.to_bits(), |x| x, |y| y)
            }
            (LogitsRef::F32(a), LogitsRef::F64(b)) => mismatch(
                a,
                b,
                |x, y| f64::from(x).to_bits() == y.to_bits(),
                f64::from,
                |y| y,
            ),
            (LogitsRef::F64(a), LogitsRef::F32(b)) => mismatch(
                a,
                b,
                |x, y| x.to_bits() == f64::from(y).to_bits(),
                |x| x,
                f64::from,
            ),
        };
        let extra = self.len().abs_diff(other.len()) as u64;
        (n + extra > 0).then_some((n + extra, if extra > 0 { f64::NAN } else { max }))
    }
}

/// Values of `a` and `b` (over their common length) that `same` says differ, and the largest
/// |a − b| among them (NaN once a NaN stands against another value).
fn mismatch<A: Copy, B: Copy>(
    a: &[A],
    b: &[B],
    same: impl Fn(A, B) -> bool,
    wide_a: impl Fn(A) -> f64,
    wide_b: impl Fn(B) -> f64,
) -> (u64, f64) {
    let mut n = 0u64;
    let mut max = 0f64;
    for (&x, &y) in a.iter().zip(b) {
        if !same(x, y) {
            n += 1;
            let d = (wide_a(x) - wide_b(y)).abs();
            if d.is_nan() || max.is_nan() {
                max = f64::NAN;
            } else if d > max {
                max = d;
            }
        }
    }
    (n, max)
}

impl<'a> From<&'a [f32]> for LogitsRef<'a> {
    fn from(v: &'a [f32]) -> Self {
        LogitsRef::F32(v)
    }
}

impl<'a> From<&'a [f64]> for LogitsRef<'a> {
    fn from(v: &'a [f64]) -> Self {
        LogitsRef::F64(v)
    }
}

/// One unit in the last place of an f32 at magnitude `x` (the spacing of f32 values just
/// above |x|); the smallest subnormal spacing for |x| below the normal range, NaN for a
/// non-finite `x`.
pub fn f32_ulp(x: f64) -> f64 {
    if !x.is_finite() {
        return f64::NAN;
    }
    let x = x.abs();
    if x < f64::from(f32::MIN_POSITIVE) {
        return f64::from(f32::from_bits(1));
    }
    // The exponent of x rounded to f32 (a value just below 2^k that rounds up takes the
    // larger spacing); beyond f32's range, the spacing of its largest binade.
    let biased = (((x as f32).to_bits() >> 23) & 0xff).min(254) as i32;
    2f64.powi(biased - 127 - 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulps_bitwise_mismatch_and_resizing() {
        assert_eq!(f32_ulp(1.0), f64::from(f32::EPSILON));
        assert_eq!(f32_ulp(16.0), 2f64.powi(-19));
        assert_eq!(f32_ulp(-31.9), 2f64.powi(-19));
        assert_eq!(f32_ulp(32.0), 2f64.powi(-18));
        assert_eq!(f32_ulp(0.0), f64::from(f32::from_bits(1)));
        assert!(f32_ulp(f64::NAN).is_nan());
        let a = [1.0f64, 2.0, f64::NAN];
        let b = [1.0f64, 2.0 + 1e-12, f64::NAN];
        let (n, max) = LogitsRef::F64(&a)
            .bitwise_mismatch(LogitsRef::F64(&b))
            .unwrap();
        assert_eq!(n, 1);
        assert!((max - 1e-12).abs() < 1e-15, "{max}");
        assert_eq!(
            LogitsRef::F64(&a).bitwise_mismatch(LogitsRef::F64(&a)),
            None
        );
        let mut l = Logits::default();
        l.resize(3, true).unwrap();
        assert!(l.is_f64() && l.len() == 3);
        l.fill_unwritten();
        assert_eq!(l.find_unwritten().map(|u| u.count), Some(3));
        l.resize(2, false).unwrap();
        assert!(!l.is_f64() && l.len() == 2 && l.find_unwritten().is_none());
        assert_eq!(LogitsRef::F64(&[-3.0, f64::INFINITY]).max_abs_finite(), 3.0);
        assert_eq!(LogitsRef::F64(&[1.5]).le_bytes(), 1.5f64.to_le_bytes());
    }
}
