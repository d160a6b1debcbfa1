//! Peak speeds of this CPU through the backend's own kernels, with the shapes and rules of
//! `driftbench_model::peaks` (so the figures compare across backends): a prefill-shaped
//! GEMM and a one-row product over a 256 MiB weight stored in the session's dtype (the
//! shape of a decode step, reading the weight at its stored width).

use crate::elem::Elem;
use crate::matrix::Matrix;
use crate::products::{gemv, matmul};
use driftbench_core::{Dtype, Peaks};
use driftbench_model::peaks::{BANDWIDTH_BYTES, BANDWIDTH_ROWS, GEMM_SHAPE, REPS};
use std::time::Instant;

/// Best of `REPS` timed runs after one untimed run.
fn best_of(mut f: impl FnMut()) -> f64 {
    f();
    (0..REPS)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Bytes of one stored weight in `dtype`.
fn stored_bytes(dtype: Dtype) -> usize {
    match dtype {
        Dtype::F16 | Dtype::Bf16 => 2,
        Dtype::F32 => 4,
        Dtype::F64 => 8,
    }
}

/// Measure the peaks for a session in `dtype` whose activations are `T`.
pub fn measure<T: Elem>(dtype: Dtype) -> Peaks {
    let [m, k, n] = GEMM_SHAPE;
    let w = Matrix::<T>::new(vec![0.01; n * k], n, k, dtype);
    let x = vec![T::from_f64(0.01); m * k];
    let mut y = vec![T::ZERO; m * n];
    let gemm_s = best_of(|| matmul(&w, &x, m, &mut y));
    drop((w, x, y));

    let elem = stored_bytes(dtype);
    let rows = BANDWIDTH_BYTES / (elem * BANDWIDTH_ROWS);
    let w = Matrix::<T>::new(
        vec![0.01; rows * BANDWIDTH_ROWS],
        rows,
        BANDWIDTH_ROWS,
        dtype,
    );
    let x = vec![T::from_f64(0.01); BANDWIDTH_ROWS];
    let mut y = vec![T::ZERO; rows];
    let bw_s = best_of(|| gemv(&w, &x, &mut y));
    let product = if std::mem::size_of::<T>() == 8 {
        "f64"
    } else if dtype == Dtype::Bf16 && crate::bf16_gemm::available() {
        // The probe's matmul took the same route as the model's: bf16 dot products.
        "bf16 (AVX512-BF16 dot products, f32 sums)"
    } else {
        "f32"
    };
    Peaks {
        dtype,
        product_dtype: product.to_string(),
        gemm_gflops: 2.0 * (m * k * n) as f64 / gemm_s / 1e9,
        gemm_shape: GEMM_SHAPE,
        bandwidth_gbs: w.bytes() as f64 / bw_s / 1e9,
        bandwidth_method: format!(
            "one-row product over a {rows}×{BANDWIDTH_ROWS} weight, {} MiB of {dtype} as stored",
            BANDWIDTH_BYTES >> 20
        ),
        reps: REPS,
    }
}
