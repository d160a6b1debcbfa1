//! Dot products of a stored weight row with an f32 activation, and widening of stored rows
//! to f32. x86-64 with AVX2, FMA and F16C (checked at run time) gets 32-lane unrolled
//! kernels; everything else a portable loop with eight independent sums.

use half::slice::{HalfBitsSliceExt, HalfFloatSliceExt};

/// f16 bit patterns widened to f32 (SIMD where the CPU has F16C).
pub fn widen_f16(src: &[u16], dst: &mut [f32]) {
    src.reinterpret_cast::<half::f16>()
        .convert_to_f32_slice(dst);
}

/// bf16 bit patterns widened to f32.
pub fn widen_bf16(src: &[u16], dst: &mut [f32]) {
    src.reinterpret_cast::<half::bf16>()
        .convert_to_f32_slice(dst);
}

/// One row-product kernel per stored type: `y[i] = w[i] · x` for every `cols`-wide row of
/// `w`, f32 accumulation; the SIMD kernel where the CPU has it, else the portable one.
macro_rules! rows_entry {
    ($name:ident, $t:ty, $simd:ident, $widen:expr) => {
        /// `y[i] = row i of w · x`, rows `cols` wide.
        pub fn $name(w: &[$t], cols: usize, x: &[f32], y: &mut [f32]) {
            #[cfg(target_arch = "x86_64")]
            if simd::available() {
                // SAFETY: the CPU has the features the kernels are compiled for (checked).
                unsafe { simd::$simd(w, cols, x, y) };
                return;
            }
            portable::rows(w, cols, x, y, $widen)
        }
    };
}

rows_entry!(rows_f32, f32, rows_f32, |v: f32| v);
rows_entry!(rows_f16, u16, rows_f16, |v: u16| half::f16::from_bits(v)
    .to_f32());
rows_entry!(rows_bf16, u16, rows_bf16, |v: u16| half::bf16::from_bits(v)
    .to_f32());

/// Dot product of two f32 vectors (attention scores).
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if simd::available() {
        // SAFETY: features checked above.
        return unsafe { simd::dot_f32(a, b) };
    }
    portable::dot(a, b, |v: f32| v)
}

/// Kernels without SIMD intrinsics, for any element type `A` that adds and multiplies.
pub(crate) mod portable {
    use std::ops::{AddAssign, Mul};

    /// Every row of `w` (`cols` wide) dotted with `x`.
    pub fn rows<W: Copy, A>(w: &[W], cols: usize, x: &[A], y: &mut [A], f: impl Fn(W) -> A)
    where
        A: Copy + Default + AddAssign + Mul<Output = A>,
    {
        for (row, out) in w.chunks_exact(cols).zip(y.iter_mut()) {
            *out = dot(row, x, &f);
        }
    }

    /// Eight independent sums, so the loop is not one long dependency chain.
    pub fn dot<W: Copy, A>(w: &[W], x: &[A], f: impl Fn(W) -> A) -> A
    where
        A: Copy + Default + AddAssign + Mul<Output = A>,
    {
        let n = w.len().min(x.len());
        let mut acc = [A::default(); 8];
        let mut i = 0;
        while i + 8 <= n {
            for (j, a) in acc.iter_mut().enumerate() {
                *a += f(w[i + j]) * x[i + j];
            }
            i += 8;
        }
        let mut s = A::default();
        for a in acc {
            s += a;
        }
        while i < n {
            s += f(w[i]) * x[i];
            i += 1;
        }
        s
    }
}

#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;

    /// AVX2 + FMA + F16C present (std caches the detection).
    pub fn available() -> bool {
        is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c")
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load_f32(p: *const f32) -> __m256 {
        _mm256_loadu_ps(p)
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load_f16(p: *const u16) -> __m256 {
        _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i))
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load_bf16(p: *const u16) -> __m256 {
        let w = _mm256_cvtepu16_epi32(_mm_loadu_si128(p as *const __m128i));
        _mm256_castsi256_ps(_mm256_slli_epi32(w, 16))
    }

    fn scalar_f32(v: f32) -> f32 {
        v
    }
    fn scalar_f16(v: u16) -> f32 {
        half::f16::from_bits(v).to_f32()
    }
    fn scalar_bf16(v: u16) -> f32 {
        half::bf16::from_bits(v).to_f32()
    }

    /// One dot kernel per stored type: four 8-lane FMA sums over 32 values a turn, then
    /// 8 at a time, then the scalar tail.
    macro_rules! dot_kernel {
        ($dot:ident, $rows:ident, $t:ty, $load:ident, $scalar:ident) => {
            /// Dot product; `w` and `x` are read up to the shorter length.
            ///
            /// # Safety
            /// The CPU must have AVX2, FMA and F16C.
            #[inline]
            #[target_feature(enable = "avx2,fma,f16c")]
            pub unsafe fn $dot(w: &[$t], x: &[f32]) -> f32 {
                let n = w.len().min(x.len());
                let (wp, xp) = (w.as_ptr(), x.as_ptr());
                let mut a0 = _mm256_setzero_ps();
                let mut a1 = _mm256_setzero_ps();
                let mut a2 = _mm256_setzero_ps();
                let mut a3 = _mm256_setzero_ps();
                let mut i = 0;
                // SAFETY (all loads): i + 32 <= n (or i + 8 <= n) keeps every lane in bounds.
                while i + 32 <= n {
                    a0 = _mm256_fmadd_ps($load(wp.add(i)), _mm256_loadu_ps(xp.add(i)), a0);
                    a1 = _mm256_fmadd_ps($load(wp.add(i + 8)), _mm256_loadu_ps(xp.add(i + 8)), a1);
                    a2 =
                        _mm256_fmadd_ps($load(wp.add(i + 16)), _mm256_loadu_ps(xp.add(i + 16)), a2);
                    a3 =
                        _mm256_fmadd_ps($load(wp.add(i + 24)), _mm256_loadu_ps(xp.add(i + 24)), a3);
                    i += 32;
                }
                while i + 8 <= n {
                    a0 = _mm256_fmadd_ps($load(wp.add(i)), _mm256_loadu_ps(xp.add(i)), a0);
                    i += 8;
                }
                let mut s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
                while i < n {
                    s += $scalar(w[i]) * x[i];
                    i += 1;
                }
                s
            }

            /// Every row of `w` (`cols` wide) dotted with `x`.
            ///
            /// # Safety
            /// The CPU must have AVX2, FMA and F16C.
            #[target_feature(enable = "avx2,fma,f16c")]
            pub unsafe fn $rows(w: &[$t], cols: usize, x: &[f32], y: &mut [f32]) {
                for (row, out) in w.chunks_exact(cols).zip(y.iter_mut()) {
                    *out = $dot(row, x);
                }
            }
        };
    }

    dot_kernel!(dot_f32, rows_f32, f32, load_f32, scalar_f32);
    dot_kernel!(dot_f16, rows_f16, u16, load_f16, scalar_f16);
    dot_kernel!(dot_bf16, rows_bf16, u16, load_bf16, scalar_bf16);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SIMD kernels (where the CPU has them) agree with an f64 sum for every stored type
    /// and for lengths that exercise the 32-, 8- and 1-wide parts.
    #[test]
    fn row_products_match_f64_sums() {
        for cols in [1usize, 7, 8, 31, 32, 45, 576] {
            let rows = 3;
            let w: Vec<f32> = (0..rows * cols)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 64.0)
                .collect();
            let x: Vec<f32> = (0..cols)
                .map(|i| ((i * 13 % 29) as f32 - 14.0) / 8.0)
                .collect();
            let w16: Vec<u16> = w
                .iter()
                .map(|&v| half::f16::from_f32(v).to_bits())
                .collect();
            let wb: Vec<u16> = w
                .iter()
                .map(|&v| half::bf16::from_f32(v).to_bits())
                .collect();
            let mut wide16 = vec![0f32; w.len()];
            widen_f16(&w16, &mut wide16);
            let mut wideb = vec![0f32; w.len()];
            widen_bf16(&wb, &mut wideb);
            let mut y = [vec![0f32; rows], vec![0f32; rows], vec![0f32; rows]];
            rows_f32(&w, cols, &x, &mut y[0]);
            rows_f16(&w16, cols, &x, &mut y[1]);
            rows_bf16(&wb, cols, &x, &mut y[2]);
            for (k, wide) in [&w, &wide16, &wideb].into_iter().enumerate() {
                for r in 0..rows {
                    let exact: f64 = (0..cols)
                        .map(|c| wide[r * cols + c] as f64 * x[c] as f64)
                        .sum();
                    let tol = 1e-5 * (1.0 + exact.abs()) * cols as f64;
                    assert!(
                        (y[k][r] as f64 - exact).abs() <= tol,
                        "kind {k} cols {cols} row {r}: {} vs {exact}",
                        y[k][r]
                    );
                }
            }
        }
        let a = [1.0f32, f32::NAN, 2.0];
        assert!(
            dot_f32(&a, &[1.0, 1.0, 1.0]).is_nan(),
            "NaN must survive a dot"
        );
    }
}
