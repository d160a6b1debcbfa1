//! Weight products: `y = x · Wᵀ` for one row (decode) and for many rows (prefill), f32
//! accumulation, result rounded to the compute dtype by the caller.

use crate::elem::Elem;
use crate::matrix::{Matrix, Store};
use rayon::prelude::*;

/// Values of f32 scratch one converted chunk of a 16-bit weight takes (1 MiB): the chunk
/// stays in cache while the GEMM reuses it for every prompt row.
const CHUNK_VALUES: usize = 1 << 18;

/// Rows one task widens.
const WIDEN_ROWS: usize = 64;

/// Work (multiply-adds) below which a GEMM runs on the calling thread.
const PARALLEL_WORK: usize = 1 << 21;

/// One-row product `y[r] = W[r] · x`, the rows split across the thread pool: decode is bound
/// by how fast the weights stream from memory, and one core cannot pull them alone.
pub fn gemv<T: Elem>(m: &Matrix<T>, x: &[T], y: &mut [T]) {
    debug_assert_eq!(y.len(), m.rows);
    debug_assert_eq!(x.len(), m.cols);
    let threads = rayon::current_num_threads().max(1);
    // A few tasks per thread for balance, none smaller than 16 rows.
    let per_task = m.rows.div_ceil(threads * 4).max(16);
    y.par_chunks_mut(per_task)
        .enumerate()
        .for_each(|(i, ys)| m.rows_dot(i * per_task, x, ys));
}

/// Many-row product: `y[i, r] = x[i] · W[r]` for `t` rows of `x` (`[t, cols]`), writing `y`
/// (`[t, rows]`). f32 weights go to the GEMM as they are; 16-bit weights are widened chunk by
/// chunk into a small scratch, so no f32 copy of the model is kept.
pub fn matmul<T: Elem>(m: &Matrix<T>, x: &[T], t: usize, y: &mut [T]) {
    debug_assert_eq!(x.len(), t * m.cols);
    debug_assert_eq!(y.len(), t * m.rows);
    if t == 1 {
        return gemv(m, x, y);
    }
    match &m.store {
        Store::Full(w) => gemm_block(t, m.rows, m.cols, x, w, y, 0, m.rows),
        // bf16 pairs straight into f32 lanes where the CPU can (AVX512-BF16).
        Store::Bf16(w) if T::matmul_bf16(w, m.rows, m.cols, x, t, y) => {}
        Store::F16(_) | Store::Bf16(_) => {
            let per_chunk = (CHUNK_VALUES / m.cols).max(64).min(m.rows);
            let mut scratch = vec![T::ZERO; per_chunk * m.cols];
            let mut r0 = 0;
            while r0 < m.rows {
                let r1 = (r0 + per_chunk).min(m.rows);
                let w = &mut scratch[..(r1 - r0) * m.cols];
                // Widening is memory-bound: split it across the pool like the GEMM.
                w.par_chunks_mut(WIDEN_ROWS * m.cols)
                    .enumerate()
                    .for_each(|(i, c)| {
                        let a = r0 + i * WIDEN_ROWS;
                        m.rows_into(a, a + c.len() / m.cols, c)
                    });
                gemm_block(t, r1 - r0, m.cols, x, w, y, r0, m.rows);
                r0 = r1;
            }
        }
    }
}

/// `y[i, col0 + r] = x[i] · w[r]` for a block of `n` weight rows, `y` rows `y_stride` wide.
#[allow(clippy::too_many_arguments)]
fn gemm_block<T: Elem>(
    t: usize,
    n: usize,
    k: usize,
    x: &[T],
    w: &[T],
    y: &mut [T],
    col0: usize,
    y_stride: usize,
) {
    assert!(x.len() >= t * k && w.len() >= n * k);
    assert!(col0 + n <= y_stride && y.len() >= t * y_stride);
    let par = if t * n * k >= PARALLEL_WORK {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the asserts above keep every element the strides reach inside the slices:
    // dst (i, j) at i·y_stride + col0 + j, lhs (i, c) at i·k + c, rhs (c, j) at j·k + c.
    unsafe {
        product(
            t,
            n,
            k,
            y.as_mut_ptr().add(col0),
            y_stride,
            x.as_ptr(),
            k,
            w.as_ptr(),
            k,
            1,
            par,
        );
    }
}

/// `c[i, j] = a[i] · b[j]` (rows of `a` against rows of `b`, both `k` wide, rows `a_rs` and
/// `b_rs` apart): attention scores, one head at a time, on the calling thread.
#[allow(clippy::too_many_arguments)]
pub fn a_bt<T: Elem>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    a_rs: usize,
    b: &[T],
    b_rs: usize,
    c: &mut [T],
) {
    assert!(m == 0 || a.len() >= (m - 1) * a_rs + k);
    assert!(n == 0 || b.len() >= (n - 1) * b_rs + k);
    assert!(c.len() >= m * n);
    // SAFETY: bounds asserted above; dst (i, j) at i·n + j.
    unsafe {
        product(
            m,
            n,
            k,
            c.as_mut_ptr(),
            n,
            a.as_ptr(),
            a_rs,
            b.as_ptr(),
            b_rs,
            1,
            gemm::Parallelism::None,
        );
    }
}

/// `c[i, d] = Σ_j p[i, j] · v[j, d]` (`p` is `[m, n]`, `v` rows `v_rs` apart and `k` wide,
/// `c` is `[m, k]`): attention context, one head at a time, on the calling thread.
#[allow(clippy::too_many_arguments)]
pub fn a_b<T: Elem>(m: usize, n: usize, k: usize, p: &[T], v: &[T], v_rs: usize, c: &mut [T]) {
    assert!(p.len() >= m * n);
    assert!(n == 0 || v.len() >= (n - 1) * v_rs + k);
    assert!(c.len() >= m * k);
    // SAFETY: bounds asserted above.
    unsafe {
        product(
            m,
            k,
            n,
            c.as_mut_ptr(),
            k,
            p.as_ptr(),
            n,
            v.as_ptr(),
            1,
            v_rs,
            gemm::Parallelism::None,
        );
    }
}

/// `dst[i·dst_rs + j] = Σ_c lhs[i·lhs_rs + c] · rhs[c·rhs_rs + j·rhs_cs]` for an `m × n`
/// result over `k` terms: the one call into the GEMM crate every product here makes.
///
/// # Safety
/// Every element those strides reach must lie inside the buffers behind the pointers.
#[allow(clippy::too_many_arguments)]
unsafe fn product<T: Elem>(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    dst_rs: usize,
    lhs: *const T,
    lhs_rs: usize,
    rhs: *const T,
    rhs_cs: usize,
    rhs_rs: usize,
    par: gemm::Parallelism,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs as isize,
            false,
            lhs,
            1,
            lhs_rs as isize,
            rhs,
            rhs_cs as isize,
            rhs_rs as isize,
            T::ZERO,
            T::ONE,
            false,
            false,
            false,
            par,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftbench_core::Dtype;

    fn naive(w: &[f32], rows: usize, cols: usize, x: &[f32], t: usize) -> Vec<f64> {
        let mut y = vec![0f64; t * rows];
        for i in 0..t {
            for r in 0..rows {
                y[i * rows + r] = (0..cols)
                    .map(|c| w[r * cols + c] as f64 * x[i * cols + c] as f64)
                    .sum();
            }
        }
        y
    }

    /// GEMM (f32 direct and 16-bit chunked) and GEMV agree with an f64 reference, including
    /// a matrix with more rows than one chunk holds.
    #[test]
    fn products_match_reference() {
        let (rows, cols) = (700, 600);
        for dtype in [Dtype::F32, Dtype::F16, Dtype::Bf16] {
            let w: Vec<f32> = (0..rows * cols)
                .map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 1024.0)
                .collect();
            let m = Matrix::<f32>::new(w, rows, cols, dtype);
            let mut wide = vec![0f32; rows * cols];
            m.rows_into(0, rows, &mut wide);
            for t in [1usize, 5] {
                let x: Vec<f32> = (0..t * cols)
                    .map(|i| ((i * 31 % 17) as f32 - 8.0) / 16.0)
                    .collect();
                let mut y = vec![0f32; t * rows];
                matmul(&m, &x, t, &mut y);
                let want = naive(&wide, rows, cols, &x, t);
                for (got, exp) in y.iter().zip(&want) {
                    assert!(
                        (*got as f64 - exp).abs() <= 1e-4 * (1.0 + exp.abs()),
                        "{dtype} t {t}: {got} vs {exp}"
                    );
                }
            }
        }
    }
}
