//! Peak speeds of a burn device, measured with two short probes in the dtype a session's
//! products run in:
//! - GEMM: `[512, 576] · [576, 1536]` (a prefill-shaped product of SmolLM2's FFN), `2·m·k·n`
//!   FLOPs per product;
//! - bandwidth: one-row products `[1, 4096] · [4096, n]` over 256 MiB of weights, the shape
//!   of every decode step: each weight is read once per product, so their bytes over the time
//!   are the read bandwidth a decode step can reach. The 256 MiB are [`BANDWIDTH_CHUNKS`]
//!   weights of 64 MiB, multiplied one after the other in each timed repetition: a single
//!   buffer that large exceeds what some devices bind at once (wgpu's default limit is
//!   128 MiB).
//!
//! Each probe runs once untimed (kernel compilation, autotuning, first allocation), then
//! [`REPS`] times; the best time counts. The clock stops after the device is waited for.

use crate::precision::{dtype_name, Precision};
use burn_tensor::{backend::Backend, Tensor};
use driftbench_core::Peaks;
use std::time::Instant;

/// Timed repetitions of each probe.
pub const REPS: usize = 5;

/// `[m, k, n]` of the GEMM probe.
pub const GEMM_SHAPE: [usize; 3] = [512, 576, 1536];

/// Bytes of the bandwidth probe's weights, all chunks together.
pub const BANDWIDTH_BYTES: usize = 256 << 20;

/// Weights the bandwidth probe's bytes are split into.
pub const BANDWIDTH_CHUNKS: usize = 4;

/// Rows of the bandwidth probe's weight (its inner dimension).
pub const BANDWIDTH_ROWS: usize = 4096;

fn sync<B: Backend>(device: &B::Device) -> Result<(), String> {
    B::sync(device).map_err(|e| format!("device sync: {e:?}"))
}

/// Best time of `REPS` runs of `f` after one untimed run, each waited for on the device
/// (its results are kept until then, so a lazy backend computes them).
fn best_of<B: Backend, T>(device: &B::Device, mut f: impl FnMut() -> T) -> Result<f64, String> {
    let warm = f();
    sync::<B>(device)?;
    drop(warm);
    let mut best = f64::INFINITY;
    for _ in 0..REPS {
        let t0 = Instant::now();
        let y = f();
        sync::<B>(device)?;
        best = best.min(t0.elapsed().as_secs_f64());
        drop(y);
    }
    Ok(best)
}

/// Measure the peaks of `device` for a session of precision `prec`.
pub fn measure<B: Backend>(prec: Precision, device: &B::Device) -> Result<Peaks, String> {
    let dtype = prec.weight();
    let [m, k, n] = GEMM_SHAPE;
    let a = Tensor::<B, 2>::full([m, k], 0.01, (device, dtype));
    let b = Tensor::<B, 2>::full([k, n], 0.01, (device, dtype));
    // Materialised before any clock runs: a lazy backend must not fuse the fill into the
    // product (then nothing would be read).
    sync::<B>(device)?;
    let gemm_s = best_of::<B, _>(device, || a.clone().matmul(b.clone()))?;
    drop((a, b));

    let elem = dtype.size();
    let cols = BANDWIDTH_BYTES / (BANDWIDTH_CHUNKS * elem * BANDWIDTH_ROWS);
    let x = Tensor::<B, 2>::full([1, BANDWIDTH_ROWS], 0.01, (device, dtype));
    let ws: Vec<Tensor<B, 2>> = (0..BANDWIDTH_CHUNKS)
        .map(|_| Tensor::full([BANDWIDTH_ROWS, cols], 0.01, (device, dtype)))
        .collect();
    sync::<B>(device)?;
    let bw_s = best_of::<B, _>(device, || {
        ws.iter()
            .map(|w| x.clone().matmul(w.clone()))
            .collect::<Vec<_>>()
    })?;
    drop((x, ws));
    sync::<B>(device)?;
    // Give the probes' buffers back (pooling backends keep them otherwise): the session's
    // runs should not pay for them in device or host memory.
    B::memory_cleanup(device);

    let bytes = (BANDWIDTH_CHUNKS * BANDWIDTH_ROWS * cols * elem) as f64;
    Ok(Peaks {
        dtype: prec.dtype,
        product_dtype: dtype_name(dtype).to_string(),
        gemm_gflops: 2.0 * (m * k * n) as f64 / gemm_s / 1e9,
        gemm_shape: GEMM_SHAPE,
        bandwidth_gbs: bytes / bw_s / 1e9,
        bandwidth_method: format!(
            "one-row products 1×{BANDWIDTH_ROWS} · {BANDWIDTH_ROWS}×{cols} over \
             {BANDWIDTH_CHUNKS} weights, {} MiB of {} in all",
            BANDWIDTH_BYTES >> 20,
            dtype_name(dtype)
        ),
        reps: REPS,
    })
}
