//! Weight matrices as the products want them: `[rows = out, cols = in]` row-major, stored in
//! the compute dtype, so a decode step streams each weight once at its stored width (2 bytes
//! a value in f16/bf16) and every output is one contiguous dot product.

use crate::elem::Elem;
use driftbench_core::Dtype;
use half::{bf16, f16};

/// The stored values.
pub enum Store<T> {
    /// Values of the activation type itself (f32 or f64).
    Full(Vec<T>),
    /// f16 bit patterns.
    F16(Vec<u16>),
    /// bf16 bit patterns.
    Bf16(Vec<u16>),
}

/// A weight matrix `[rows, cols]`, row-major.
pub struct Matrix<T> {
    /// Output features.
    pub rows: usize,
    /// Input features.
    pub cols: usize,
    /// Values.
    pub store: Store<T>,
}

impl<T: Elem> Matrix<T> {
    /// `w` (`[rows, cols]` row-major, f32) in `dtype`. Takes the buffer so f32 weights are
    /// kept without a copy.
    pub fn new(w: Vec<f32>, rows: usize, cols: usize, dtype: Dtype) -> Self {
        debug_assert_eq!(w.len(), rows * cols);
        let store = match dtype {
            Dtype::F16 => Store::F16(w.iter().map(|&v| f16::from_f32(v).to_bits()).collect()),
            Dtype::Bf16 => Store::Bf16(w.iter().map(|&v| bf16::from_f32(v).to_bits()).collect()),
            Dtype::F32 | Dtype::F64 => Store::Full(T::from_f32_vec(w)),
        };
        Matrix { rows, cols, store }
    }

    /// Several matrices of `cols` columns stacked row-wise into one (q/k/v, gate/up): one
    /// product instead of several, each output still its own dot product.
    pub fn stack(parts: Vec<Vec<f32>>, cols: usize, dtype: Dtype) -> Self {
        let mut all = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        for p in parts {
            all.extend_from_slice(&p);
        }
        let rows = all.len() / cols;
        Matrix::new(all, rows, cols, dtype)
    }

    /// Bytes the stored values take (what one pass over the matrix reads).
    pub fn bytes(&self) -> usize {
        match &self.store {
            Store::Full(v) => std::mem::size_of_val(v.as_slice()),
            Store::F16(v) | Store::Bf16(v) => v.len() * 2,
        }
    }

    /// Rows `r0..r1` in the activation type, into `out` (`(r1 - r0) * cols` values).
    pub fn rows_into(&self, r0: usize, r1: usize, out: &mut [T]) {
        let range = r0 * self.cols..r1 * self.cols;
        match &self.store {
            Store::Full(v) => out.copy_from_slice(&v[range]),
            Store::F16(v) => T::widen_f16(&v[range], out),
            Store::Bf16(v) => T::widen_bf16(&v[range], out),
        }
    }

    /// `y[i] = row(r0 + i) · x` for every `i` of `y`, f32 accumulation (f64 in f64).
    pub fn rows_dot(&self, r0: usize, x: &[T], y: &mut [T]) {
        let c = self.cols;
        let range = r0 * c..(r0 + y.len()) * c;
        match &self.store {
            Store::Full(w) => T::rows_full(&w[range], c, x, y),
            Store::F16(w) => T::rows_f16(&w[range], c, x, y),
            Store::Bf16(w) => T::rows_bf16(&w[range], c, x, y),
        }
    }
}
