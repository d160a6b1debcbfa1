//! The element types activations are held in: f32 for the f32, f16 and bf16 dtypes (16-bit
//! values held exactly in f32, see [`crate::round`]) and f64 for the f64 reference dtype.
//! Each type brings its own dot-product kernels.

use driftbench_core::Dtype;
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub};

/// An activation element type.
pub trait Elem:
    Copy
    + Default
    + Send
    + Sync
    + 'static
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + AddAssign
    + MulAssign
    + Neg<Output = Self>
    + std::iter::Sum
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// −∞.
    const NEG_INF: Self;
    /// From f64 (rounded).
    fn from_f64(v: f64) -> Self;
    /// As f32 (rounded): the logits cross the ABI as f32.
    fn to_f32(self) -> f32;
    /// eˣ.
    fn exp(self) -> Self;
    /// `x ← eˣ` over a slice (vectorized for f32).
    fn exp_in_place(xs: &mut [Self]);
    /// √x.
    fn sqrt(self) -> Self;
    /// NaN test.
    fn is_nan(self) -> bool;
    /// f32 host weights in this type (f32 keeps the buffer).
    fn from_f32_vec(v: Vec<f32>) -> Vec<Self>;
    /// Round every value to `dtype` (f16/bf16 values held in f32; a no-op otherwise).
    fn round_to(dtype: Dtype, xs: &mut [Self]);
    /// Dot product.
    fn dot(a: &[Self], b: &[Self]) -> Self;
    /// `y[i] = row i of w · x` for rows `cols` wide, weights of this type.
    fn rows_full(w: &[Self], cols: usize, x: &[Self], y: &mut [Self]);
    /// The same with f16 weights (bit patterns).
    fn rows_f16(w: &[u16], cols: usize, x: &[Self], y: &mut [Self]);
    /// The same with bf16 weights (bit patterns).
    fn rows_bf16(w: &[u16], cols: usize, x: &[Self], y: &mut [Self]);
    /// f16 bit patterns widened into this type.
    fn widen_f16(src: &[u16], out: &mut [Self]);
    /// bf16 bit patterns widened into this type.
    fn widen_bf16(src: &[u16], out: &mut [Self]);
    /// Many-row product with bf16 weights on a bf16 dot-product unit, `y = x · wᵀ` for `t`
    /// rows; false (nothing written) where this type or CPU has none.
    fn matmul_bf16(w: &[u16], n: usize, k: usize, x: &[Self], t: usize, y: &mut [Self]) -> bool;
}

impl Elem for f32 {
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
    const NEG_INF: f32 = f32::NEG_INFINITY;
    fn from_f64(v: f64) -> f32 {
        v as f32
    }
    fn to_f32(self) -> f32 {
        self
    }
    fn exp(self) -> f32 {
        f32::exp(self)
    }
    fn exp_in_place(xs: &mut [f32]) {
        crate::exp_f32::exp_in_place(xs)
    }
    fn sqrt(self) -> f32 {
        f32::sqrt(self)
    }
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
    fn from_f32_vec(v: Vec<f32>) -> Vec<f32> {
        v
    }
    fn round_to(dtype: Dtype, xs: &mut [f32]) {
        crate::round::round(dtype, xs)
    }
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        crate::dot::dot_f32(a, b)
    }
    fn rows_full(w: &[f32], cols: usize, x: &[f32], y: &mut [f32]) {
        crate::dot::rows_f32(w, cols, x, y)
    }
    fn rows_f16(w: &[u16], cols: usize, x: &[f32], y: &mut [f32]) {
        crate::dot::rows_f16(w, cols, x, y)
    }
    fn rows_bf16(w: &[u16], cols: usize, x: &[f32], y: &mut [f32]) {
        crate::dot::rows_bf16(w, cols, x, y)
    }
    fn widen_f16(src: &[u16], out: &mut [f32]) {
        crate::dot::widen_f16(src, out)
    }
    fn widen_bf16(src: &[u16], out: &mut [f32]) {
        crate::dot::widen_bf16(src, out)
    }
    fn matmul_bf16(w: &[u16], n: usize, k: usize, x: &[f32], t: usize, y: &mut [f32]) -> bool {
        let run = crate::bf16_gemm::available();
        if run {
            crate::bf16_gemm::matmul(w, n, k, x, t, y);
        }
        run
    }
}

impl Elem for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    const NEG_INF: f64 = f64::NEG_INFINITY;
    fn from_f64(v: f64) -> f64 {
        v
    }
    fn to_f32(self) -> f32 {
        self as f32
    }
    fn exp(self) -> f64 {
        f64::exp(self)
    }
    fn exp_in_place(xs: &mut [f64]) {
        xs.iter_mut().for_each(|x| *x = x.exp());
    }
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
    fn from_f32_vec(v: Vec<f32>) -> Vec<f64> {
        v.into_iter().map(f64::from).collect()
    }
    fn round_to(_: Dtype, _: &mut [f64]) {}
    fn dot(a: &[f64], b: &[f64]) -> f64 {
        crate::dot::portable::dot(a, b, |v: f64| v)
    }
    fn rows_full(w: &[f64], cols: usize, x: &[f64], y: &mut [f64]) {
        crate::dot::portable::rows(w, cols, x, y, |v: f64| v)
    }
    fn rows_f16(w: &[u16], cols: usize, x: &[f64], y: &mut [f64]) {
        crate::dot::portable::rows(w, cols, x, y, |v: u16| half::f16::from_bits(v).to_f64())
    }
    fn rows_bf16(w: &[u16], cols: usize, x: &[f64], y: &mut [f64]) {
        crate::dot::portable::rows(w, cols, x, y, |v: u16| half::bf16::from_bits(v).to_f64())
    }
    fn widen_f16(src: &[u16], out: &mut [f64]) {
        src.iter()
            .zip(out)
            .for_each(|(b, o)| *o = half::f16::from_bits(*b).to_f64());
    }
    fn widen_bf16(src: &[u16], out: &mut [f64]) {
        src.iter()
            .zip(out)
            .for_each(|(b, o)| *o = half::bf16::from_bits(*b).to_f64());
    }
    fn matmul_bf16(_: &[u16], _: usize, _: usize, _: &[f64], _: usize, _: &mut [f64]) -> bool {
        // The f64 reference widens exactly instead.
        false
    }
}
